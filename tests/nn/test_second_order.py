"""Second derivatives: the whole-sequence routes' hand-derived backwards give first ones only.

A gradient penalty needs ``d/dW |dL/dx|^2``. The readable loop (``impl="loop"``) gets it from
autograd, checked here against central differences of the first derivative; every route
with a hand-derived backward refuses ``create_graph=True`` with an error that names the way
out, instead of leaving the parameters' second-order terms out (what torch's
``once_differentiable`` did: the second backward never passed through it).
"""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import Recurrent, native
from rnnkit.nn.cells import GRUCell, LSTMCell
from rnnkit.nn.parallel_cells import MinGRUCell, MinLSTMCell, RGLRUCell
from rnnkit.nn.scan import linear_scan
from rnnkit.nn.variant_cells import LayerNormGRUCell, MUT1Cell, PeepholeLSTMCell

FUSED = {"lstm": LSTMCell, "gru": GRUCell}  # torch's own kernels: differentiable twice
HAND_DERIVED = {
    "peephole": PeepholeLSTMCell,
    "lngru": LayerNormGRUCell,
    "mut1": MUT1Cell,
    "gru, reset before": lambda i, h: GRUCell(i, h, reset_after=False),
}
CELLS = {**FUSED, **HAND_DERIVED}
T, N, D, H = 5, 2, 3, 4


def _layer(cell_class, impl: str) -> Recurrent:
    torch.manual_seed(0)
    layer = Recurrent(lambda i, h: cell_class(i, h), D, H).double()
    layer.impl = impl
    return layer


def _penalty(layer: Recurrent, x: torch.Tensor) -> torch.Tensor:
    out, _ = layer(x)
    (dx,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
    return dx.pow(2).sum()


def _x() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(T, N, D, dtype=torch.float64, generator=generator, requires_grad=True)


def _check_against_central_differences(layer: Recurrent, weight: torch.Tensor) -> None:
    """The penalty's gradient in one entry of ``weight`` against central differences."""
    (exact,) = torch.autograd.grad(_penalty(layer, _x()), weight)
    eps, (i, j) = 1e-6, (1, 2)
    with torch.no_grad():
        weight[i, j] += eps
    up = _penalty(layer, _x()).item()
    with torch.no_grad():
        weight[i, j] -= 2 * eps
    down = _penalty(layer, _x()).item()
    assert exact[i, j].item() == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("name", CELLS)
def test_the_loop_differentiates_twice_as_central_differences_say(name):
    layer = _layer(CELLS[name], "loop")
    weight = next(p for n, p in layer.named_parameters() if "weight_hh" in n)
    _check_against_central_differences(layer, weight)


@pytest.mark.parametrize("name", HAND_DERIVED)
def test_a_hand_derived_route_refuses_a_differentiable_gradient_and_names_the_loop(name):
    layer = _layer(CELLS[name], "route")
    with pytest.raises(RuntimeError, match="impl='loop'"):
        _penalty(layer, _x())


@pytest.mark.parametrize("name", FUSED)
def test_a_fused_route_differentiates_twice_as_the_loop(name):
    route, loop = _layer(CELLS[name], "route"), _layer(CELLS[name], "loop")
    grads = [torch.autograd.grad(_penalty(m, _x()), list(m.parameters())) for m in (route, loop)]
    for route_grad, loop_grad in zip(*grads, strict=True):
        torch.testing.assert_close(route_grad, loop_grad)


def test_a_route_still_gives_first_derivatives():
    layer, loop = _layer(GRUCell, "route"), _layer(GRUCell, "loop")
    first = [torch.autograd.grad(m(_x())[0].pow(2).sum(), m.parameters()) for m in (layer, loop)]
    for route_grad, loop_grad in zip(*first, strict=True):
        torch.testing.assert_close(route_grad, loop_grad)


def test_the_compiled_scan_refuses_a_differentiable_gradient():
    if native.ops() is None:
        pytest.skip("the compiled loops are not built here (no C++ compiler, or RNNKIT_NATIVE=0)")
    a = torch.rand(64, 2, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(64, 2, 3, dtype=torch.float64, requires_grad=True)
    loop_h, _ = linear_scan(a, b, method="loop")
    (loop_db,) = torch.autograd.grad(loop_h.pow(2).sum(), b, create_graph=True)
    torch.autograd.grad(loop_db.sum(), a)  # the loop differentiates twice
    h, _ = linear_scan(a, b, method="compiled")
    with pytest.raises(RuntimeError, match="first derivatives only"):
        torch.autograd.grad(h.pow(2).sum(), b, create_graph=True)


@pytest.mark.parametrize("cell_class", [MinGRUCell, MinLSTMCell, RGLRUCell])
def test_impl_loop_steps_the_scan_cells_too_and_differentiates_them_twice(cell_class):
    """``impl="loop"`` is the way out the compiled scan's error names: it must not scan."""
    layer = _layer(cell_class, "loop")
    weight = layer.cells[0].weight_ih
    _check_against_central_differences(layer, weight)
