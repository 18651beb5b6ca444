"""Vanilla (Elman) RNN: one step forward and backward, then backpropagation through time.

The lecture's equations, for one example (column vectors)::

    a_t = W h_{t-1} + U x_t + b
    h_t = tanh(a_t)                      (or relu(a_t))

The code runs a batch of N examples at once, so vectors are rows and matrices act from the
right; names are torch.nn.RNNCell's, so weights copy 1:1 to and from torch::

    U = weight_ih (H, D)    W = weight_hh (H, H)    b = bias_ih + bias_hh (H,)
    a = x U^T + b_ih + h_prev W^T + b_hh             (N, H)

torch keeps two biases where the lecture has one; only their sum b enters, so both receive the
same gradient dL/db. Time runs t = 0..T-1 (Python's indexes); at t = 0, h_{t-1} is the
initial state ``h0``.

The backward pass is the lecture's result, with the output layer's share V^T dL/do_t
arriving in ``dhs`` (see ``network.py``)::

    dL/dh_t = W^T diag(1 - h_{t+1}^2) dL/dh_{t+1} + V^T dL/do_t      the loop, t = T-1 .. 0
    dL/db   = sum_t diag(1 - h_t^2) dL/dh_t                          after the loop,
    dL/dW   = sum_t diag(1 - h_t^2) dL/dh_t h_{t-1}^T                each sum one product
    dL/dU   = sum_t diag(1 - h_t^2) dL/dh_t x_t^T                    over all t at once

diag(1 - h_t^2) is tanh'(a_t); for relu it is diag(1[a_t > 0]).

Only the recursions run in a loop over time: W h_{t-1} forward, the first line backward. The
input term U x_t + b is computed for every t in one product before the forward loop
(``input_terms``); the backward loop keeps da_t = diag(1 - h_t^2) dL/dh_t for every t, and
each of the three sums is then one product over the T*N stacked rows (``products.py``).
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.init import cell_params
from rnnkit.reference.products import (
    apply,
    is_index,
    sum_over_inputs,
    sum_over_previous_states,
)

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
NONLINEARITIES = ("tanh", "relu")
GATES = 1


def init_params(input_size: int, hidden_size: int, rng: np.random.Generator) -> dict:
    return cell_params(input_size, hidden_size, GATES, rng)


def initial_state(batch_size: int, hidden_size: int) -> np.ndarray:
    return np.zeros((batch_size, hidden_size))  # h0 (N, H)


def input_terms(xs: np.ndarray, params: dict) -> np.ndarray:
    """U x_t + b for every t at once: xs (T, N, D) -> (T, N, H). It does not depend on the
    state, so one product does for the whole sequence; the time loop keeps only W h_{t-1}."""
    ux = apply(params["weight_ih"], xs)  # (T, N, H)
    ux += params["bias_ih"] + params["bias_hh"]
    return ux


def step_forward(ux: np.ndarray, h_prev: np.ndarray, params: dict, nonlinearity: str = "tanh"):
    """h_t = tanh(a_t), a_t = W h_{t-1} + U x_t + b, given ux = U x_t + b (N, H) and h_{t-1}."""
    a = h_prev @ params["weight_hh"].T + ux  # a_t = W h_{t-1} + U x_t + b          (N, H)
    return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)


def step_backward(dh: np.ndarray, h: np.ndarray, params: dict, nonlinearity: str = "tanh"):
    """Back through one step, given dL/dh_t (every path) and h_t, the step's cache.

    Returns da_t = diag(1 - h_t^2) dL/dh_t, the gradient of a_t, and dL/dh_{t-1}'s share
    W^T da_t (the path back in time). Both (N, H).
    """
    if nonlinearity == "tanh":
        da = (1.0 - h**2) * dh  # diag(1 - h_t^2) dL/dh_t: tanh'(a_t) = 1 - h_t^2
    else:
        da = (h > 0) * dh  # diag(1[a_t > 0]) dL/dh_t: relu'(a_t)
    dh_prev = da @ params["weight_hh"]  # W^T diag(1 - h_t^2) dL/dh_t
    return da, dh_prev


def forward(xs: np.ndarray, h0: np.ndarray, params: dict, nonlinearity: str = "tanh"):
    """Run the cell over xs (T, N, D) from h0 (N, H): returns hs (T, N, H), h_T and the cache
    that ``backward`` needs (x_t, h_{t-1} and h_t for every t). xs may also be indexes (T, N)
    of one-hot rows (products.py)."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    ux = input_terms(xs, params)  # U x_t + b for every t                          (T, N, H)
    hs = np.empty_like(ux)  # (T, N, H)
    h = h0
    for t in range(len(xs)):
        h = step_forward(ux[t], h, params, nonlinearity)  # h_t = tanh(W h_{t-1} + U x_t + b)
        hs[t] = h
    return hs, h, (xs, h0, hs, nonlinearity)


def backward(
    dhs: np.ndarray,
    cache: tuple,
    params: dict,
    dh_last: np.ndarray | None = None,
    input_grads: bool = True,
):
    """Backpropagation through time.

    dhs (T, N, H): dhs[t] = V^T dL/do_t, what the loss at time t sends to h_t directly.
    dh_last (N, H): dL/dh_{T-1} arriving from beyond this sequence (zero if nothing follows).
    Returns dxs (T, N, D) (None unless input_grads), dL/dh0 (N, H) and the gradients of the
    four parameters.
    """
    xs, h0, hs, nonlinearity = cache
    T = len(hs)
    da = np.empty_like(hs)  # da[t] = diag(1 - h_t^2) dL/dh_t                       (T, N, H)
    dh_next = np.zeros_like(h0) if dh_last is None else dh_last  # nothing after t = T-1
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # dL/dh_t = V^T dL/do_t + W^T diag(1 - h_{t+1}^2) dL/dh_{t+1}
        da[t], dh_next = step_backward(dh, hs[t], params, nonlinearity)
    db = da.sum(axis=(0, 1))  # dL/db = sum_t diag(1 - h_t^2) dL/dh_t
    D = params["weight_ih"].shape[1]
    grads = {
        "weight_ih": sum_over_inputs(da, xs, D),  # dL/dU = sum_t diag(1 - h_t^2) dL/dh_t x_t^T
        # dL/dW = sum_t diag(1 - h_t^2) dL/dh_t h_{t-1}^T
        "weight_hh": sum_over_previous_states(da, h0, hs),
        "bias_ih": db,
        "bias_hh": db.copy(),  # the same: b = b_ih + b_hh
    }
    # dL/dx_t = U^T diag(1 - h_t^2) dL/dh_t for every t (none for indexes)      (T, N, D)
    dxs = apply(params["weight_ih"].T, da) if input_grads and not is_index(xs) else None
    return dxs, dh_next, grads
