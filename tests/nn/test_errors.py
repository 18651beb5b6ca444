"""Bad input: a ValueError that names what was expected and what came."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

import rnnkit.nn as rn


@pytest.fixture
def lstm():
    return rn.LSTM(3, 4, num_layers=2)


@pytest.mark.parametrize("impl", ["auto", "loop"])
def test_input_rank(impl):
    layer = rn.GRU(3, 4, impl=impl)
    with pytest.raises(
        ValueError, match=r"expected input of shape \(T, N, D\).*got \(2, 5, 3, 1\)"
    ):
        layer(torch.randn(2, 5, 3, 1))
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        rn.GRU(3, 4, batch_first=True, impl=impl)(torch.randn(3))


@pytest.mark.parametrize("impl", ["auto", "loop"])
def test_feature_size(impl):
    with pytest.raises(ValueError, match="input has 7 features.*expected input_size=3"):
        rn.RNN(3, 4, impl=impl)(torch.randn(5, 2, 7))


def test_integer_input_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="floating-point.*embed token ids"):
        rn.LSTM(3, 4)(torch.zeros(5, 2, 3, dtype=torch.long))


@pytest.mark.parametrize("impl", ["auto", "loop"])
def test_state_shapes(lstm, impl):
    lstm.impl = impl
    x = torch.randn(5, 2, 3)
    expected = (
        r"expected initial state as a tuple of tensors of shapes \(\(2, 2, 4\), \(2, 2, 4\)\)"
    )
    with pytest.raises(ValueError, match=expected + r", got tuple of \(\(1, 2, 4\), \(1, 2, 4\)\)"):
        lstm(x, (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match=expected + r", got \(2, 2, 4\)"):
        lstm(x, torch.zeros(2, 2, 4))
    with pytest.raises(ValueError, match=r"should be tuple of \(\(2, 4\), \(2, 4\)\)"):
        lstm(x, [(torch.zeros(2, 4), torch.zeros(2, 5)), (torch.zeros(2, 4), torch.zeros(2, 4))])
    with pytest.raises(ValueError, match="one per cell \\(2\\), got 1"):
        lstm(x, [(torch.zeros(2, 4), torch.zeros(2, 4))])
    with pytest.raises(ValueError, match=r"of shape \(1, 2, 4\), got \(1, 3, 4\)"):
        rn.GRU(3, 4, impl=impl)(x, torch.zeros(1, 3, 4))


@pytest.mark.parametrize("impl", ["auto", "loop"])
def test_lengths(impl):
    layer = rn.GRU(3, 4, impl=impl)
    x = torch.randn(5, 2, 3)
    with pytest.raises(ValueError, match=r"between 1 and the padded length T=5.*max 6"):
        layer(x, lengths=[6, 2])
    with pytest.raises(ValueError, match=r"between 1 and .*min 0"):
        layer(x, lengths=[0, 2])
    with pytest.raises(ValueError, match=r"one length per sequence, shape \(2,\), got \(3,\)"):
        layer(x, lengths=[1, 2, 3])
    with pytest.raises(ValueError, match="must be integers"):
        layer(x, lengths=[1.5, 2.0])
    with pytest.raises(ValueError, match="PackedSequence already carries its lengths"):
        layer(pack_sequence([torch.randn(3, 3)]), lengths=[3])


def test_unsupported_options():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        rn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        rn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\], got 1.5"):
        rn.LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        rn.GRU(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        rn.LSTM(3, 0)
    with pytest.raises(
        ValueError, match="impl must be one of 'auto', 'fused', 'loop', 'route', got 'fast'"
    ):
        rn.LSTM(3, 4, impl="fast")
    with pytest.raises(ValueError, match="impl='fused' cannot run with reset_after=False"):
        rn.GRU(3, 4, reset_after=False, impl="fused")(torch.randn(2, 1, 3))
    with pytest.raises(ValueError, match="impl='fused' cannot run with return_states=True"):
        rn.LSTM(3, 4, impl="fused")(torch.randn(2, 1, 3), return_states=True)
    with pytest.raises(ValueError, match="proj_size > 0 runs only on the fused path"):
        rn.LSTM(3, 4, proj_size=2)(torch.randn(2, 1, 3), return_states=True)
    with pytest.raises(ValueError, match="state= or hx=, not both"):
        rn.LSTM(3, 4)(torch.randn(2, 1, 3), torch.zeros(1, 1, 4), hx=torch.zeros(1, 1, 4))


def test_generic_layer_specs():
    with pytest.raises(ValueError, match="one cell instance can run one layer.*= 2"):
        rn.Recurrent(rn.LSTMCell(3, 4), num_layers=2)
    with pytest.raises(ValueError, match="needs 2 modules.*got 1"):
        rn.Recurrent([rn.LSTMCell(3, 4)], bidirectional=True)
    with pytest.raises(ValueError, match="needs input_size and hidden_size"):
        rn.Recurrent(rn.LSTMCell)
    with pytest.raises(
        ValueError, match="layer 1 cells take input_size=5, but the layer below emits 4"
    ):
        rn.Recurrent([rn.GRUCell(3, 4), rn.GRUCell(5, 4)], num_layers=2)
    with pytest.raises(ValueError, match="impl='fused' needs standard cells"):
        rn.Recurrent(rn.GRUCell(3, 4, reset_after=False), impl="fused")
    with pytest.raises(ValueError, match="cell must be a cell class or factory .* got int$"):
        rn.Recurrent(42)


def test_a_cell_name_is_not_a_list_of_cells():
    message = (
        r"cell must be a cell class or factory \(called as cell\(input_size, hidden_size\)\), "
        r"a cell instance or a list of cells, got the string 'lstm'; for a core by its name "
        r"pass functools.partial\(rnnkit.models.recurrent.build_cell, 'lstm'\)"
    )
    with pytest.raises(ValueError, match=message):
        rn.Recurrent("lstm", 3, 4)
    with pytest.raises(ValueError, match="a list of cells must hold cell modules, got str"):
        rn.Recurrent(["lstm"], 3, 4)


def test_the_hint_for_a_cell_name_works():
    import functools

    from rnnkit.models.recurrent import build_cell

    layer = rn.Recurrent(functools.partial(build_cell, "gru"), 3, 4, num_layers=2)
    assert [type(cell) for cell in layer.cells] == [rn.GRUCell, rn.GRUCell]


@pytest.mark.parametrize("layer_class", [rn.LSTM, lambda d, h: rn.Recurrent(rn.LSTMCell, d, h)])
def test_an_unbatched_input_is_told_its_state_as_given(layer_class):
    """Unbatched input (T, D): the state is (L * num_directions, H) and the error names the
    shape the user passed, not the batched one made inside."""
    layer = layer_class(3, 4)
    x, h = torch.randn(5, 3), torch.zeros(1, 4)
    layer(x, (h, h))  # the state of an unbatched input
    expected = r"expected initial state as a tuple of tensors of shapes \(\(1, 4\), \(1, 4\)\)"
    with pytest.raises(ValueError, match=expected + r", got \(1, 1, 4\)$"):
        layer(x, torch.zeros(1, 1, 4))
    with pytest.raises(
        ValueError, match=expected + r", got tuple of \(\(1, 1, 4\), \(1, 1, 4\)\)$"
    ):
        layer(x, (torch.zeros(1, 1, 4),) * 2)
    with pytest.raises(
        ValueError,
        match=r"initial state of cell 0 should be tuple of \(\(4,\), \(4,\)\), got tuple of "
        r"\(\(1, 4\), \(1, 4\)\)$",
    ):
        layer(x, [(h, h)])


def test_a_cell_names_both_dtypes():
    cell = rn.GRUCell(3, 4)
    with pytest.raises(
        ValueError, match=r"GRUCell: input is torch.float64 but the weights are torch.float32"
    ):
        cell(torch.randn(2, 3, dtype=torch.float64))
    x = torch.randn(2, 3, dtype=torch.float64)
    reference = torch.nn.GRUCell(3, 4).double()
    reference.load_state_dict(cell.double().state_dict())
    torch.testing.assert_close(cell(x), reference(x))  # once converted, it runs


def test_cell_inputs():
    cell = rn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"input has 5 features, expected input_size=3"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, D\) or \(D,\)"):
        cell(torch.randn(1, 2, 3))
    with pytest.raises(ValueError, match=r"state must be a tuple \(h, c\)"):
        cell(torch.randn(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"expected state of shape \(2, 4\), got \(2, 5\)"):
        rn.GRUCell(3, 4)(torch.randn(2, 3), torch.zeros(2, 5))


@pytest.mark.parametrize("impl", ["auto", "loop", "route"])
@pytest.mark.parametrize("core", ["lstm", "peephole", "mingru"])
def test_a_layer_names_both_dtypes_on_every_path(core, impl):
    """Only the fused kernel said so; the loop and the routes gave torch's "mat1 and mat2
    must have the same dtype, but got Double and Float", naming neither."""
    from rnnkit.models.recurrent import build_recurrent

    layer = build_recurrent(core, 3, 4, batch_first=False)
    if hasattr(layer, "impl"):
        layer.impl = impl
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    with pytest.raises(
        ValueError, match=r"input is torch.float64 but the weights are torch.float32"
    ):
        layer(x)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [5, 3])
    with pytest.raises(ValueError, match=r"but the weights are torch.float32"):
        layer(packed)
    if impl == "loop":  # autocast casts the operands itself (torch's fused LSTM may refuse)
        with torch.autocast("cpu", torch.bfloat16):
            layer(x.to(torch.bfloat16))  # as a layer before it under autocast gives it
    assert layer.double()(x)[0].dtype == torch.float64
