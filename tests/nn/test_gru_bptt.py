"""The GRU's and lngru's whole-sequence route (rnnkit.nn.gru_bptt) against the readable loop
(impl="loop"): outputs, final states and every gradient in float64, with an initial state,
lengths, both directions, two layers, recurrent dropout and zoneout, in training and in
evaluation; and gradcheck of the hand-derived backward pass itself. Each runs on the compiled
time loops (rnnkit.nn.native, the default) and on the Python ones."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch

from rnnkit.nn import Recurrent
from rnnkit.nn.cells import GRUCell
from rnnkit.nn.gru_bptt import GRUSequence
from rnnkit.nn.regularise import Zoneout, regularise
from rnnkit.nn.routes import sequence_route
from rnnkit.nn.variant_cells import LayerNormGRUCell

pytestmark = pytest.mark.usefixtures("route_loops")  # each test twice (tests/nn/conftest.py)
CELLS = {"gru": GRUCell, "lngru": LayerNormGRUCell}
T, N, D, H = 6, 3, 4, 5


def _pair(cell_class, *, bidirectional=False, rate=0.0, zoneout=0.0, bias=True, hidden=H):
    torch.manual_seed(1)
    layer = Recurrent(
        lambda i, h: cell_class(i, h, bias=bias), D, hidden, 2, bidirectional=bidirectional
    ).double()
    with torch.no_grad():  # every parameter away from its initial value
        for parameter in layer.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    regularise(layer, zoneout=zoneout, recurrent_dropout=rate)
    layer.impl = "route"  # the route even for the cells impl="auto" keeps on the loop
    loop = copy.deepcopy(layer)
    loop.impl = "loop"
    return layer, loop


def _run(layer, x, h0, lengths):
    torch.manual_seed(5)  # the same random draws in both runs
    out, h = layer(x, h0, lengths=lengths)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    loss = (out * weights).sum() + h.pow(3).sum()
    return [out, h, *torch.autograd.grad(loss, [x, h0, *layer.parameters()])]


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths", [None, [6, 3, 1]])
@pytest.mark.parametrize(("rate", "zoneout"), [(0.0, 0.0), (0.3, 0.0), (0.3, 0.2), (0.0, 0.2)])
def test_route_equals_the_loop(name, bidirectional, lengths, rate, zoneout):
    fast, slow = _pair(CELLS[name], bidirectional=bidirectional, rate=rate, zoneout=zoneout)
    x = torch.randn(T, N, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4 if bidirectional else 2, N, H, dtype=torch.float64, requires_grad=True)
    lengths = None if lengths is None else torch.tensor(lengths)
    for mode in (True, False):
        fast.train(mode), slow.train(mode)
        for got, want in zip(_run(fast, x, h0, lengths), _run(slow, x, h0, lengths), strict=True):
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize(("rate", "zoneout"), [(0.0, 0.0), (0.3, 0.2)])
def test_rows_split_between_threads(name, rate, zoneout, two_threads):
    """Enough rows (19 of 3H = 516 values) that the compiled loops share each step's rows
    between two threads, unevenly (10 and 9), with lengths: the same numbers as the loop."""
    fast, slow = _pair(CELLS[name], bidirectional=True, rate=rate, zoneout=zoneout, hidden=172)
    x = torch.randn(4, 19, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 19, 172, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 3, 2, 1] * 4 + [4, 4, 1])
    for got, want in zip(_run(fast, x, h0, lengths), _run(slow, x, h0, lengths), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
def test_route_without_biases_and_unbatched(name):
    fast, slow = _pair(CELLS[name], bias=False)
    x = torch.randn(T, D, dtype=torch.float64)
    torch.testing.assert_close(fast(x)[0], slow(x)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("zone", [None, (0.3, 0.3, True), (0.3, 0.3, False)])
def test_gradcheck_of_the_hand_derived_backward(name, reverse, zone):
    torch.manual_seed(0)
    xp = torch.randn(4, 2, 6, dtype=torch.float64, requires_grad=True)  # (T, N, 3H), H = 2
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    weights = [torch.randn(6, 2, dtype=torch.float64, requires_grad=True)]  # W_hh
    weights.append(torch.randn(6, dtype=torch.float64, requires_grad=True))  # b_hh
    weights.append(
        torch.rand(6, dtype=torch.float64).add(0.5).requires_grad_() if name == "lngru" else None
    )  # the gain of lngru's norm
    mask = torch.tensor([[2.0, 0.0], [2.0, 2.0]], dtype=torch.float64)  # dropout at p = 0.5
    keep = torch.tensor([[1, 1], [1, 1], [1, 0], [0, 0]], dtype=torch.bool).unsqueeze(-1)
    spec = SimpleNamespace(kind=name, reverse=reverse, zone=zone)

    def run(xp, h0, *weights):
        torch.manual_seed(1)  # the same zoneout masks at every call
        return GRUSequence.apply(spec, xp, h0, mask, keep, *weights)

    args = [a for a in (xp, h0, *weights) if a is not None]
    if name == "gru":
        args.append(None)
    assert torch.autograd.gradcheck(run, tuple(args))


def test_only_the_exact_cells_take_the_route():
    class MyGRU(GRUCell):
        pass

    for cell_class in CELLS.values():
        assert sequence_route(cell_class(2, 3)) is not None
        assert sequence_route(Zoneout(cell_class(2, 3), 0.1)) is not None
    assert sequence_route(MyGRU(2, 3)) is None
