"""Per-step gradient norms: equal to dL/dh_k obtained other ways (a hand loop over torch.nn's
cells with retain_grad, the NumPy BPTT reference), and the memory horizon they give."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rnnkit.nn as rn
from rnnkit.diagnostics import diagnose, diagnose_layer, memory_horizon
from rnnkit.diagnostics.language_model import language_model_loss
from rnnkit.diagnostics.report import readout_loss
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.nn.init import identity_
from rnnkit.nn.regularise import regularise
from rnnkit.reference import rnn as reference_rnn

from .helpers import hand_loop, norms_by_distance, torch_cells

T, N, D, H = 7, 3, 4, 5


def _batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(T, N, D, generator=generator, dtype=torch.float64)
    u = torch.randn(H, generator=generator, dtype=torch.float64)
    return x, u / u.norm()


def _layer(kind, num_layers=1, **options):
    torch.manual_seed(1)
    layers = {"rnn": rn.RNN, "lstm": rn.LSTM, "gru": rn.GRU}
    return layers[kind](D, H, num_layers=num_layers, **options).double()


@pytest.mark.parametrize("loss", ["last", "sum"])
@pytest.mark.parametrize(
    "kind, num_layers, options",
    [("rnn", 1, {}), ("rnn", 2, {"nonlinearity": "relu"}), ("lstm", 2, {}), ("gru", 2, {})],
)
def test_norms_equal_a_hand_loop_over_torch_cells(kind, num_layers, options, loss):
    layer = _layer(kind, num_layers, **options)
    x, u = _batch()
    diagnosis = diagnose(layer, readout_loss(x, u, loss), loss=loss)

    states = hand_loop(torch_cells(layer), x)
    top = [s[0] if isinstance(s, tuple) else s for s in states[-1]]
    projected = torch.stack(top) @ u  # (T, N)
    (projected[-1].sum() if loss == "last" else projected.sum()).backward()

    for k in range(num_layers):
        expected = norms_by_distance(states[k], part=0)
        assert diagnosis.flow.curve(k, "h") == pytest.approx(expected, rel=1e-10, abs=1e-300)
        if kind == "lstm":
            expected_c = norms_by_distance(states[k], part=1)
            assert diagnosis.flow.curve(k, "c") == pytest.approx(expected_c, rel=1e-10)
    assert diagnosis.parts(0) == (["h", "c"] if kind == "lstm" else ["h"])


def test_a_tanh_rnn_matches_the_numpy_bptt_reference():
    """The reference's own backward step, run as the lectures' loop
    dL/dh_t = V^T dL/do_t + W^T diag(1 - h_{t+1}^2) dL/dh_{t+1}."""
    layer = _layer("rnn")
    x, u = _batch(seed=3)
    flow = diagnose(layer, readout_loss(x, u, "last"), loss="last").flow

    params = {
        name: getattr(layer, f"{name}_l0").detach().numpy() for name in reference_rnn.PARAM_NAMES
    }
    hs, _, _ = reference_rnn.forward(x.numpy(), np.zeros((N, H)), params)
    dh_next, expected = np.zeros((N, H)), []
    for t in reversed(range(T)):
        dh = dh_next + (np.tile(u.numpy(), (N, 1)) if t == T - 1 else 0.0)  # dL/dh_t
        expected.append(float(np.linalg.norm(dh, axis=1).mean()))
        _, dh_next = reference_rnn.step_backward(dh, hs[t], params)
    assert flow.curve(0, "h") == pytest.approx(expected, rel=1e-10)


class TanhCell(nn.Module):
    """A cell rnnkit does not know: h_t = tanh(A x_t + B h_{t-1}), no project_input/step."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.inward = nn.Linear(input_size, hidden_size)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x, h):
        return torch.tanh(self.inward(x) + self.recurrent(h))


def test_any_cell_in_recurrent_matches_a_hand_loop():
    torch.manual_seed(2)
    cell = TanhCell(D, H).double()
    x, u = _batch(seed=4)
    diagnosis = diagnose(rn.Recurrent(cell), readout_loss(x, u, "last"))

    hs = hand_loop([cell], x)[0]
    (torch.stack(hs)[-1] @ u).sum().backward()
    assert diagnosis.flow.curve(0, "h") == pytest.approx(norms_by_distance(hs), rel=1e-10)
    assert diagnosis.spectrum == [{}]  # no weight_hh to measure
    assert set(diagnosis.saturation[0]) == {"h"}


class LeakyPairCell(nn.Module):
    """A cell with a tuple state (h, m): m_t = 0.9 m_{t-1} + A x_t + B h_{t-1}, h_t = tanh(m_t)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.inward = nn.Linear(input_size, hidden_size)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)

    def initial_state(self, batch_size, *, dtype=None, device=None):
        zeros = torch.zeros(batch_size, self.hidden_size, dtype=dtype, device=device)
        return zeros, zeros.clone()

    def forward(self, x, state):
        h, m = state
        m = 0.9 * m + self.inward(x) + self.recurrent(h)
        return torch.tanh(m), m


def test_a_tuple_state_cell_gets_a_curve_per_part():
    torch.manual_seed(6)
    cell = LeakyPairCell(D, H).double()
    x, u = _batch(seed=5)
    diagnosis = diagnose(rn.Recurrent(cell), readout_loss(x, u, "sum"), loss="sum")

    h, m = x.new_zeros(N, H), x.new_zeros(N, H)
    states = []
    for t in range(T):
        h, m = cell(x[t], (h, m))
        h.retain_grad()
        m.retain_grad()
        states.append((h, m))
    (torch.stack([s[0] for s in states]) @ u).sum().backward()
    assert diagnosis.parts(0) == ["h", "s1"]
    assert diagnosis.flow.curve(0, "h") == pytest.approx(norms_by_distance(states, 0), rel=1e-10)
    assert diagnosis.flow.curve(0, "s1") == pytest.approx(norms_by_distance(states, 1), rel=1e-10)
    assert diagnosis.summary()["grad_norms"] == diagnosis.flow.curve(0, "h")


def test_a_language_model_matches_a_hand_loop_through_its_embedding_and_decoder():
    torch.manual_seed(5)
    config = LanguageModelConfig(cell="gru", hidden_size=H, num_layers=2)
    model = LanguageModel(config, 7).double()
    idx = torch.randint(0, 7, (T, N))
    targets = torch.randint(0, 7, (T, N))
    diagnosis = diagnose(model, language_model_loss(idx, targets, "last"))

    states = hand_loop(torch_cells(model.recurrent), model.embedding(idx))
    logits = model.decoder(states[-1][-1]).float()  # (N, V) at the last step, as the model
    F.cross_entropy(logits, targets[-1], reduction="sum").backward()
    for k in range(2):
        expected = norms_by_distance(states[k])
        assert diagnosis.flow.curve(k, "h") == pytest.approx(expected, rel=1e-6)


def test_parameters_grads_and_mode_are_left_as_they_were():
    layer = _layer("lstm")
    layer.train()
    x, u = _batch()
    layer(x)[0].sum().backward()
    before = [p.grad.clone() for p in layer.parameters()]
    diagnose(layer, readout_loss(x, u, "sum"), loss="sum")
    assert layer.training
    for grad, parameter in zip(before, layer.parameters(), strict=True):
        assert torch.equal(grad, parameter.grad)
    assert "forward" not in layer.__dict__  # the recording patch is gone


@pytest.mark.parametrize("scale", [0.5, 0.8, 0.9])
def test_with_w_hh_a_times_identity_the_gradient_decays_as_a_to_the_distance(scale):
    """ReLU RNN, W_hh = a*I, W_ih = 0, b = 1: every unit stays on, so dL/dh_{T-d} = a^d u and
    the horizon is the largest d with a^d >= 1e-3."""
    layer = rn.RNN(D, H, nonlinearity="relu", batch_first=True).double()
    identity_(layer, scale=scale)
    with torch.no_grad():
        layer.weight_ih_l0.zero_()
        layer.bias_ih_l0.fill_(1.0)
    diagnosis = diagnose_layer(layer, seq_len=80, batch_size=2)
    curve = diagnosis.flow.curve(0, "h")
    assert curve == pytest.approx([scale**d for d in range(80)], rel=1e-9)
    assert diagnosis.memory_horizon() == math.floor(math.log(1e-3) / math.log(scale) + 1e-9)


def test_the_memory_horizon_grows_with_a_for_a_tanh_rnn():
    """tanh' <= 1, so the norm falls at least as fast as a^d: the horizon is at most the
    linear one, and grows with a."""
    horizons = []
    for scale in (0.5, 0.8, 0.95):
        layer = identity_(rn.RNN(D, H, batch_first=True).double(), scale=scale, input_std=0.05)
        horizon = diagnose_layer(layer, seq_len=150, batch_size=4).memory_horizon()
        assert horizon <= math.log(1e-3) / math.log(scale)
        horizons.append(horizon)
    assert 0 < horizons[0] < horizons[1] < horizons[2]


def test_memory_horizon_edge_cases():
    assert memory_horizon([1.0, 0.1, 0.01, 0.001, 0.0001]) == 3
    assert memory_horizon([1.0, 1e-4, 2e-3]) == 2  # the largest distance, not the first dip
    assert memory_horizon([2.0, 4.0, 8.0]) == 2  # exploding: the whole sequence
    assert memory_horizon([0.0, 1.0]) == 0
    assert memory_horizon([1.0, 0.5, 0.2], threshold=0.4) == 1
    with pytest.raises(ValueError, match="threshold"):
        memory_horizon([1.0], threshold=0.0)


def test_layers_that_cannot_be_diagnosed_are_refused_with_a_reason():
    x, u = _batch()
    bidirectional = rn.LSTM(D, H, bidirectional=True).double()
    with pytest.raises(ValueError, match="bidirectional"):
        diagnose(bidirectional, readout_loss(x, u))

    class Wrapper(nn.Module):
        def __init__(self, *layers):
            super().__init__()
            self.layers = nn.ModuleList(layers)

    with pytest.raises(ValueError, match="no rnnkit recurrent layer"):
        diagnose(Wrapper(nn.LSTM(D, H)), lambda model: torch.zeros(()))
    with pytest.raises(ValueError, match="2 rnnkit recurrent layers"):
        diagnose(Wrapper(rn.GRU(D, H), rn.GRU(H, H)), lambda model: torch.zeros(()))
    two = Wrapper(rn.GRU(D, H).double(), rn.GRU(H, H).double())
    chosen = diagnose(two, lambda m: m.layers[0](x)[0][-1].sum(), layer_name="layers.0")
    assert chosen.seq_len == T
    with pytest.raises(ValueError, match="more than once"):
        diagnose(
            two, lambda m: m.layers[0](x)[0].sum() + m.layers[0](x)[0].sum(), layer_name="layers.0"
        )


def _zoned_hand_loop(cell: nn.LSTMCell, x, hidden: float, cell_state: float):
    """Krueger et al.'s zoneout in evaluation around torch.nn's LSTM cell, by hand: the cell's
    own update (h~, c~), then the carried state ``s_t = p s_{t-1} + (1 - p) s~_t``; every
    carried ``(h_t, c_t)`` keeps its gradient."""
    h = c = x.new_zeros(x.shape[1], H)
    states = []
    for t in range(len(x)):
        fresh_h, fresh_c = cell(x[t], (h, c))
        h = hidden * h + (1 - hidden) * fresh_h
        c = cell_state * c + (1 - cell_state) * fresh_c
        h.retain_grad()
        c.retain_grad()
        states.append((h, c))
    return states


@pytest.mark.parametrize("loss", ["last", "sum"])
@pytest.mark.parametrize("wrapped", ["layer", "recurrent"])
def test_an_lstm_under_zoneout_has_its_cell_state_c_equal_to_a_hand_loop(wrapped, loss):
    if wrapped == "layer":  # the standard layer wraps its cells as it runs them
        layer = regularise(_layer("lstm"), zoneout=0.3, recurrent_dropout=0.2)
        hidden = cell_state = 0.3
    else:  # a Recurrent over a cell the user wrapped, with a rate of its own for c
        torch.manual_seed(1)
        lstm = rn.recurrent_dropout(rn.LSTMCell(D, H), 0.2)
        layer = rn.Recurrent(rn.Zoneout(lstm, 0.3, cell_state=0.6)).double()
        hidden, cell_state = 0.3, 0.6
    x, u = _batch(seed=7)
    diagnosis = diagnose(layer, readout_loss(x, u, loss), loss=loss)

    reference = nn.LSTMCell(D, H).double()
    source = layer if wrapped == "layer" else layer.cells[0].cell
    with torch.no_grad():  # the same weights (recurrent dropout is off in evaluation)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            suffix = "_l0" if wrapped == "layer" else ""
            getattr(reference, name).copy_(getattr(source, name + suffix))
    states = _zoned_hand_loop(reference, x, hidden, cell_state)
    hs = torch.stack([s[0] for s in states]) @ u  # (T, N)
    (hs[-1] if loss == "last" else hs).sum().backward()

    assert diagnosis.parts(0) == ["h", "c"]
    assert diagnosis.flow.curve(0, "h") == pytest.approx(norms_by_distance(states, 0), rel=1e-10)
    # h_T reads the fresh c~_T, not the carried c_T, which no later step reads: no gradient
    assert states[-1][1].grad is None and diagnosis.flow.curve(0, "c")[0] == 0
    cell_norms = norms_by_distance(states[:-1], 1)  # carried c_t, t < T: total dL/dc_t
    assert diagnosis.flow.curve(0, "c")[1:] == pytest.approx(cell_norms, rel=1e-10)
    assert min(cell_norms) > 0
    summary, record = diagnosis.summary(), diagnosis.record(distances=(1,))
    assert summary["cell_grad_norms"] == diagnosis.flow.curve(0, "c")
    assert record["grad_norm/l0/c/d1"] == diagnosis.flow.curve(0, "c")[1]
