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

The backward pass implements the lecture's result, with the output layer's share V^T dL/do_t
arriving in ``dhs`` (see ``network.py``)::

    dL/dh_t = W^T diag(1 - h_{t+1}^2) dL/dh_{t+1} + V^T dL/do_t
    dL/db   = sum_t diag(1 - h_t^2) dL/dh_t
    dL/dW   = sum_t diag(1 - h_t^2) dL/dh_t h_{t-1}^T
    dL/dU   = sum_t diag(1 - h_t^2) dL/dh_t x_t^T

diag(1 - h_t^2) is tanh'(a_t); for relu it is diag(1[a_t > 0]).
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.init import cell_params

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
NONLINEARITIES = ("tanh", "relu")
GATES = 1


def init_params(input_size: int, hidden_size: int, rng: np.random.Generator) -> dict:
    return cell_params(input_size, hidden_size, GATES, rng)


def initial_state(batch_size: int, hidden_size: int) -> np.ndarray:
    return np.zeros((batch_size, hidden_size))  # h0 (N, H)


def step_forward(x: np.ndarray, h_prev: np.ndarray, params: dict, nonlinearity: str = "tanh"):
    """a_t = W h_{t-1} + U x_t + b;  h_t = tanh(a_t).  x (N, D), h_prev (N, H) -> h (N, H)."""
    U, W = params["weight_ih"], params["weight_hh"]
    a = x @ U.T + params["bias_ih"] + h_prev @ W.T + params["bias_hh"]  # (N, H)
    h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)  # (N, H)
    cache = (x, h_prev, h, nonlinearity)
    return h, cache


def step_backward(dh: np.ndarray, cache: tuple, params: dict):
    """From dL/dh_t (every path) to dL/dx_t, dL/dh_{t-1} and this step's term of each sum."""
    x, h_prev, h, nonlinearity = cache
    U, W = params["weight_ih"], params["weight_hh"]
    if nonlinearity == "tanh":
        da = (1.0 - h**2) * dh  # diag(1 - h_t^2) dL/dh_t            (N, H)
    else:
        da = (h > 0) * dh  # diag(1[a_t > 0]) dL/dh_t                   (N, H)
    grads = {
        "weight_hh": da.T @ h_prev,  # diag(1 - h_t^2) dL/dh_t h_{t-1}^T, summed over the batch
        "weight_ih": da.T @ x,  # diag(1 - h_t^2) dL/dh_t x_t^T
        "bias_ih": da.sum(axis=0),  # diag(1 - h_t^2) dL/dh_t
        "bias_hh": da.sum(axis=0),  # the same: b = b_ih + b_hh
    }
    dh_prev = da @ W  # W^T diag(1 - h_t^2) dL/dh_t: the share of dL/dh_{t-1}   (N, H)
    dx = da @ U  # U^T diag(1 - h_t^2) dL/dh_t                                  (N, D)
    return dx, dh_prev, grads


def forward(xs: np.ndarray, h0: np.ndarray, params: dict, nonlinearity: str = "tanh"):
    """Run the cell over xs (T, N, D) from h0 (N, H): returns hs (T, N, H), h_T, caches."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    T, N, _ = xs.shape
    hs = np.empty((T, N, h0.shape[1]))  # (T, N, H)
    caches = []
    h = h0
    for t in range(T):
        h, cache = step_forward(xs[t], h, params, nonlinearity)
        hs[t] = h
        caches.append(cache)
    return hs, h, caches


def backward(dhs: np.ndarray, caches: list, params: dict, dh_last: np.ndarray | None = None):
    """Backpropagation through time.

    dhs (T, N, H): dhs[t] = V^T dL/do_t, what the loss at time t sends to h_t directly.
    dh_last (N, H): dL/dh_{T-1} arriving from beyond this sequence (zero if nothing follows).
    Returns dxs (T, N, D), dL/dh0 (N, H) and the gradients of the four parameters.
    """
    T = len(caches)
    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    dxs = np.empty((T, *caches[0][0].shape))  # (T, N, D)
    dh_next = np.zeros_like(dhs[0]) if dh_last is None else dh_last  # nothing after t = T-1
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # dL/dh_t = V^T dL/do_t + W^T diag(1 - h_{t+1}^2) dL/dh_{t+1}
        dxs[t], dh_next, step = step_backward(dh, caches[t], params)
        for name in PARAM_NAMES:
            grads[name] += step[name]  # dL/dW, dL/dU, dL/db: the sums over t
    return dxs, dh_next, grads
