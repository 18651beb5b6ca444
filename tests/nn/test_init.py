import pytest
import torch

from rnnkit.models.recurrent import build_recurrent
from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn.init import forget_gate_bias_, identity_, orthogonal_, scale_recurrent_


def test_identity_makes_a_relu_rnn_hold_its_state():
    torch.manual_seed(0)
    assert torch.equal(identity_(RNN(3, 6, num_layers=2)).weight_hh_l1, torch.eye(6))
    layer = identity_(RNN(3, 6, nonlinearity="relu", batch_first=True))
    assert layer.weight_ih_l0.std() < 0.01
    h0 = torch.rand(1, 1, 6)  # non-negative: relu keeps it
    _, h_n = layer(torch.zeros(1, 20, 3), h0)
    torch.testing.assert_close(h_n, h0)


def test_identity_refuses_gated_layers_and_bad_scale():
    with pytest.raises(ValueError, match="vanilla RNN"):
        identity_(LSTM(2, 3))
    with pytest.raises(ValueError, match="positive"):
        identity_(RNN(2, 3), scale=0.0)
    with pytest.raises(TypeError, match="RNN, LSTM or GRU"):
        identity_(torch.nn.Linear(2, 3))


@pytest.mark.parametrize("cls,gates", [(RNN, 1), (LSTM, 4), (GRU, 3), (torch.nn.GRU, 3)])
def test_orthogonal_blocks(cls, gates):
    layer = orthogonal_(cls(2, 5, bidirectional=True))
    for weight in (layer.weight_hh_l0, layer.weight_hh_l0_reverse):
        for block in weight.detach().chunk(gates):
            torch.testing.assert_close(block @ block.T, torch.eye(5), atol=1e-5, rtol=0)


def test_forget_gate_bias_sets_the_f_block_only():
    layer = LSTM(2, 4)
    before = layer.bias_ih_l0.detach().clone()
    forget_gate_bias_(layer, 2.0)
    bias = (layer.bias_ih_l0 + layer.bias_hh_l0).detach()
    assert torch.equal(bias[4:8], torch.full((4,), 2.0))
    assert torch.equal(layer.bias_ih_l0.detach()[:4], before[:4])
    with pytest.raises(ValueError, match="LSTM"):
        forget_gate_bias_(GRU(2, 4))


@pytest.mark.parametrize("sigma", [0.5, 1.7])
def test_scale_recurrent_sets_the_largest_singular_value(sigma):
    layer = scale_recurrent_(LSTM(3, 6, num_layers=2), sigma)
    for block in layer.weight_hh_l1.detach().chunk(4):
        assert torch.linalg.matrix_norm(block, ord=2).item() == pytest.approx(sigma, rel=1e-5)


def test_chrono_spreads_forget_biases_over_the_horizon():
    from rnnkit.nn.init import chrono_

    torch.manual_seed(0)
    layer = chrono_(LSTM(2, 500, num_layers=2), 784)
    for ih, hh in ((layer.bias_ih_l0, layer.bias_hh_l0), (layer.bias_ih_l1, layer.bias_hh_l1)):
        forget, inputs = ih.detach()[500:1000], ih.detach()[:500]
        assert torch.equal(inputs, -forget)
        assert torch.equal(hh.detach()[:1000], torch.zeros(1000))
        # log U(1, 783): within [0, log 783], spread over it (mean of log u is about 5.66)
        assert forget.min() >= 0 and forget.max() <= torch.log(torch.tensor(783.0))
        assert 5.3 < forget.mean() < 6.0
    with pytest.raises(ValueError, match="LSTM"):
        chrono_(GRU(2, 3), 100)
    with pytest.raises(ValueError, match=">= 3"):
        chrono_(LSTM(2, 3), 2)


def test_clstm_needs_a_horizon_and_remembers_longer_than_lstm():
    with pytest.raises(ValueError, match="horizon"):
        build_recurrent("clstm", 1, 4)
    torch.manual_seed(0)
    clstm = build_recurrent("clstm", 1, 64, horizon=1000)
    lstm = build_recurrent("lstm", 1, 64)
    forget = lambda m: torch.sigmoid(m.bias_ih_l0 + m.bias_hh_l0)[64:128]  # noqa: E731
    assert forget(clstm).mean() > 0.9 > forget(lstm).max()
