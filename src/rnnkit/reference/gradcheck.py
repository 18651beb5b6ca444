"""Gradient check: the hand-derived gradients against centred finite differences.

Each element θ_i is moved by ±ε and ±2ε and the four losses combined into the fourth-order
centred difference (Richardson's extrapolation of the two-point one)::

    D(ε)     = (L(θ + ε e_i) - L(θ - ε e_i)) / (2ε)             error O(ε^2)
    dL/dθ_i ≈ (4 D(ε) - D(2ε)) / 3                             error O(ε^4)

With float64 and ε = 1e-3 the truncation error (~ε^4) and the rounding error (~1e-16 L / ε)
are both near 1e-12, where the two-point formula, at its best ε, leaves about 1e-10: too
coarse to hold every element of a random problem under 1e-6.

Errors are tolerance-relative, element by element, and reported as the largest over each
parameter::

    err = |a - n| / max(|a| + |n|, tiny)

``tiny`` keeps an element whose true gradient is (nearly) zero from dividing rounding noise by
nothing: below it the error is absolute. An error above 1e-6 means a wrong formula, not noise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from rnnkit.reference.losses import LOSSES
from rnnkit.reference.network import CELLS, Network

logger = logging.getLogger(__name__)

TOLERANCE = 1e-6
EPSILON = 1e-3
TINY = 1e-5  # below this |a| + |n|, err is absolute: 1e-6 * 1e-5 = 1e-11, above the ~1e-12 noise
RELU_MARGIN = 0.02  # |a| kept above this, so that no ±2ε step crosses relu's kink


def relative_error(analytic: np.ndarray, numeric: np.ndarray, tiny: float = TINY) -> float:
    """max over elements of |a - n| / max(|a| + |n|, tiny)."""
    scale = np.maximum(np.abs(analytic) + np.abs(numeric), tiny)
    return float(np.max(np.abs(analytic - numeric) / scale))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = EPSILON) -> np.ndarray:
    """Fourth-order centred differences of f() with respect to every element of x (changed in
    place and put back)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        saved = x[i]
        losses = []
        for step in (eps, -eps, 2 * eps, -2 * eps):
            x[i] = saved + step
            losses.append(f())
        x[i] = saved
        d_eps = (losses[0] - losses[1]) / (2 * eps)  # D(ε)
        d_2eps = (losses[2] - losses[3]) / (4 * eps)  # D(2ε)
        grad[i] = (4 * d_eps - d_2eps) / 3
    return grad


def compare_gradients(
    f: Callable[[], float], arrays: dict[str, np.ndarray], analytic: dict[str, np.ndarray]
) -> dict[str, float]:
    """Relative error of analytic[name] against finite differences of f over arrays[name],
    for every array: a gradient the backward pass left out (or one for no array) is a
    ValueError, not a parameter silently left unchecked."""
    if set(analytic) != set(arrays):
        missing, extra = sorted(set(arrays) - set(analytic)), sorted(set(analytic) - set(arrays))
        raise ValueError(
            f"the backward pass gave gradients for {sorted(analytic)}, not for every parameter "
            f"(missing: {missing}; not parameters: {extra})"
        )
    return {
        name: relative_error(analytic[name], numerical_gradient(f, arrays[name])) for name in arrays
    }


def random_problem(network: Network, loss: str, rng: np.random.Generator):
    """Small random sizes (T >= 4, N >= 2), random inputs, targets and initial state.

    relu has a kink at 0 where finite differences measure nothing useful: for the relu RNN
    the problem is drawn again until every pre-activation is at least RELU_MARGIN from it.
    """
    T, N, D, H, C = 5, 3, 4, 5, 3
    while True:
        params = network.init_params(D, H, C, rng)
        xs = rng.normal(size=(T, N, D))
        if loss == "cross_entropy":
            targets = rng.integers(C, size=(T, N))
        elif loss == "last_step_cross_entropy":
            targets = rng.integers(C, size=N)
        else:
            targets = rng.normal(size=(T, N, C))
        if network.cell == "lstm":
            state0 = (0.5 * rng.normal(size=(N, H)), 0.5 * rng.normal(size=(N, H)))
        else:
            state0 = 0.5 * rng.normal(size=(N, H))
        if network.cell != "rnn" or network.nonlinearity != "relu":
            return params, xs, targets, state0
        if _smallest_preactivation(network, params, xs, state0) > RELU_MARGIN:
            return params, xs, targets, state0


def _smallest_preactivation(network: Network, params: dict, xs, state0) -> float:
    """min over t, n, j of |a_t| for the vanilla RNN (a_t recomputed from x_t and h_{t-1})."""
    _, _, (_, (_, h0, hs, _)) = network.forward(params, xs, state0)
    h_prevs = np.concatenate([h0[None], hs[:-1]])  # h_{t-1} for every t         (T, N, H)
    a = xs @ params["weight_ih"].T + params["bias_ih"] + h_prevs @ params["weight_hh"].T
    return float(np.abs(a + params["bias_hh"]).min())


def check_gradients(
    cell: str = "rnn",
    seed: int = 0,
    *,
    nonlinearity: str = "tanh",
    reset_after: bool = True,
    loss: str = "cross_entropy",
) -> dict:
    """Check every parameter's gradient of a small random problem.

    Returns {"cell": cell, "max_rel_error": X, "params": {name: rel_error}}.
    """
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
    network = Network(cell, nonlinearity, reset_after)
    rng = np.random.default_rng(seed)
    params, xs, targets, state0 = random_problem(network, loss, rng)
    _, grads, _ = network.loss_and_gradients(params, xs, targets, loss, state0)
    errors = compare_gradients(
        lambda: network.loss(params, xs, targets, loss, state0), params, grads
    )
    logger.info("gradient check %s: %s", network, errors)
    return {"cell": cell, "max_rel_error": max(errors.values()), "params": errors}
