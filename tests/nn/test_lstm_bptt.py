"""The LSTM cells' whole-sequence route (rnnkit.nn.lstm_bptt) against the readable loop
(impl="loop", the same cells stepped under autograd): outputs, final states and every
gradient in float64, with an initial state, lengths, both directions, two layers, recurrent
dropout and no biases; and gradcheck of the hand-derived backward pass itself. Each runs
twice: on the compiled time loops (rnnkit.nn.native, the default) and on the Python ones."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.nn.lstm_bptt import PARAMS, LSTMSequence
from rnnkit.nn.regularise import Zoneout, recurrent_dropout, regularise
from rnnkit.nn.routes import sequence_route

CELLS = {"lstm": rn.LSTMCell, "peephole": rn.PeepholeLSTMCell, "lnlstm": rn.LayerNormLSTMCell}
T, N, D, H = 6, 3, 4, 5


pytestmark = pytest.mark.usefixtures("route_loops")  # each test twice (tests/nn/conftest.py)


def _pair(cell_class, *, bidirectional=False, rate=0.0, bias=True, zoneout=0.0, hidden=H):
    torch.manual_seed(1)
    fast = rn.Recurrent(
        lambda i, h: cell_class(i, h, bias=bias), D, hidden, 2, bidirectional=bidirectional
    ).double()
    for cell in fast.cells:
        recurrent_dropout(cell, rate)
        with torch.no_grad():  # every parameter away from its initial value
            for parameter in cell.parameters():
                parameter.add_(0.3 * torch.randn_like(parameter))
    regularise(fast, zoneout=zoneout)
    fast.impl = "route"  # the route even for the cells impl="auto" keeps on the loop
    slow = copy.deepcopy(fast)
    slow.impl = "loop"
    return fast, slow


def _run(layer, x, state, lengths):
    torch.manual_seed(5)  # the same recurrent dropout masks in both runs
    out, (h, c) = layer(x, state, lengths=lengths)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * weights).sum() + h.square().sum() + c.pow(3).sum()
    inputs = [x, *state, *layer.parameters()]
    return [out, h, c, *torch.autograd.grad(loss, inputs)]


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths", [None, [6, 3, 1]])
@pytest.mark.parametrize(("rate", "zoneout"), [(0.0, 0.0), (0.3, 0.0), (0.0, 0.2), (0.3, 0.2)])
def test_route_equals_the_loop(name, bidirectional, lengths, rate, zoneout):
    fast, slow = _pair(CELLS[name], bidirectional=bidirectional, rate=rate, zoneout=zoneout)
    x = torch.randn(T, N, D, dtype=torch.float64, requires_grad=True)
    layers = 4 if bidirectional else 2
    state = tuple(
        torch.randn(layers, N, H, dtype=torch.float64, requires_grad=True) for _ in range(2)
    )
    lengths = None if lengths is None else torch.tensor(lengths)
    for mode in (True, False):  # training (random masks), evaluation (zoneout's expectation)
        fast.train(mode), slow.train(mode)
        got, want = _run(fast, x, state, lengths), _run(slow, x, state, lengths)
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("rate", [0.0, 0.3])
def test_rows_split_between_threads(name, rate, two_threads):
    """Enough rows (19 of 4H = 520 values) that the compiled loops share each step's rows
    between two threads, unevenly (10 and 9): the same numbers as the loop, both directions."""
    fast, slow = _pair(CELLS[name], bidirectional=True, rate=rate, hidden=130)
    x = torch.randn(4, 19, D, dtype=torch.float64, requires_grad=True)
    state = tuple(
        torch.randn(4, 19, 130, dtype=torch.float64, requires_grad=True) for _ in range(2)
    )
    for g, w in zip(_run(fast, x, state, None), _run(slow, x, state, None), strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["peephole", "lnlstm"])
def test_route_without_biases_and_unbatched(name):
    fast, slow = _pair(CELLS[name], bias=False)
    x = torch.randn(T, D, dtype=torch.float64)
    torch.testing.assert_close(fast(x)[0], slow(x)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("zone", [None, (0.3, 0.5, True), (0.3, 0.0, False)])
def test_gradcheck_of_the_hand_derived_backward(name, reverse, zone):
    """With recurrent dropout, lengths and zoneout (in training: its draws seeded)."""
    torch.manual_seed(0)
    cell = CELLS[name](3, 2).double()
    recurrent_dropout(cell, 0.5)
    cell.begin_sequence(2, cell.weight_hh)  # a fixed mask for all calls
    xp = torch.randn(4, 2, 8, dtype=torch.float64, requires_grad=True)
    h0, c0 = (torch.randn(2, 2, dtype=torch.float64, requires_grad=True) for _ in range(2))
    keep = torch.tensor([[1, 1], [1, 1], [1, 0], [0, 0]], dtype=torch.bool).unsqueeze(-1)
    params = [
        getattr(cell, n).detach().clone().requires_grad_() for n in PARAMS[name]
    ]  # W_hh, b_hh and the cell's own (peepholes, layer-norm gains and shift)
    spec = SimpleNamespace(kind=name, reverse=reverse, zone=zone)

    def run(xp, h0, c0, *params):
        torch.manual_seed(1)  # the same zoneout masks at every call
        return LSTMSequence.apply(spec, xp, h0, c0, cell._mask, keep, *params)

    assert torch.autograd.gradcheck(run, (xp, h0, c0, *params))


def test_only_the_exact_cells_take_the_route():
    class MyLSTMCell(rn.LSTMCell):  # a subclass may step differently: the loop runs it
        pass

    assert sequence_route(MyLSTMCell(2, 3)) is None
    assert sequence_route(rn.RNNCell(2, 3)) is None
    for cell_class in CELLS.values():
        assert sequence_route(cell_class(2, 3)) is not None
        assert sequence_route(Zoneout(cell_class(2, 3), 0.1)) is not None
    assert sequence_route(Zoneout(MyLSTMCell(2, 3), 0.1)) is None
    assert issubclass(LSTMSequence, torch.autograd.Function)


def test_auto_takes_the_route_only_where_it_was_measured_faster(route_loops):
    """lnlstm's route is faster than its loop on the compiled loops only."""
    from rnnkit.nn.routes import LOOP_FASTER, default_route

    for name, cell_class in CELLS.items():
        routed = default_route(cell_class(2, 3)) is not None
        assert routed == (name not in LOOP_FASTER or route_loops == "native"), name
    compiled = route_loops == "native"
    assert (default_route(Zoneout(rn.LayerNormLSTMCell(2, 3), 0.1)) is not None) == compiled
    assert default_route(rn.LayerNormLSTMCell(2, 3).to(torch.bfloat16)) is None
    assert (default_route(rn.LayerNormGRUCell(2, 3)) is not None) == compiled
    assert default_route(rn.MUT1Cell(2, 3)) is not None
