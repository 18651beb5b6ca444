"""GRU: one step forward and backward, then backpropagation through time.

torch.nn.GRU's equations and gate order (weights stacked r|z|n)::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))     candidate  (reset_after=True)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Where this departs from the paper: Cho et al. (2014, eq. 5-8) and the lectures apply the
reset gate to the state *before* the matrix product,

    n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)     (reset_after=False)

torch (following cuDNN) applies it after, which lets W_hh h_{t-1} be computed for all three
gates in one product. Both are here; ``reset_after=True`` (torch's form) is the default.

Backward through one step is the chain rule through h_t = (1 - z_t) n_t + z_t h_{t-1}, the
tanh and the sigmoids (``step_backward``); as in rnn.py, the loop over time carries only
dL/dh_t, and the weight gradients are sums over t formed after it in one product each. W_hn
multiplies h_in = h_{t-1} (torch's form) or r_t * h_{t-1} (Cho's), so
dL/dW_hn = sum_t dgh_n,t h_in,t^T.
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.init import cell_params
from rnnkit.reference.lstm import sigmoid
from rnnkit.reference.products import (
    apply,
    is_index,
    sum_over_inputs,
    sum_over_previous_states,
    sum_over_time,
)

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
GATES = 3


def init_params(input_size: int, hidden_size: int, rng: np.random.Generator) -> dict:
    return cell_params(input_size, hidden_size, GATES, rng)


def initial_state(batch_size: int, hidden_size: int) -> np.ndarray:
    return np.zeros((batch_size, hidden_size))  # h0 (N, H)


def input_terms(xs: np.ndarray, params: dict) -> np.ndarray:
    """gi = W_i* x_t + b_i* for every t and gate (r|z|n) at once: (T, N, D) -> (T, N, 3H)."""
    gi = apply(params["weight_ih"], xs)  # (T, N, 3H)
    gi += params["bias_ih"]
    return gi


def step_forward(gi: np.ndarray, h_prev: np.ndarray, params: dict, reset_after: bool = True):
    """One step, given gi = W_i* x_t + b_i* (N, 3H) and h_prev (N, H) -> h (N, H), cache."""
    W_hr, W_hz, W_hn = np.split(params["weight_hh"], 3, axis=0)  # 3 x (H, H)
    b_hr, b_hz, b_hn = np.split(params["bias_hh"], 3)  # 3 x (H,)
    gi_r, gi_z, gi_n = np.split(gi, 3, axis=1)  # 3 x (N, H)
    r = sigmoid(gi_r + h_prev @ W_hr.T + b_hr)  # r_t
    z = sigmoid(gi_z + h_prev @ W_hz.T + b_hz)  # z_t
    h_in = h_prev if reset_after else r * h_prev  # what W_hn multiplies
    gh_n = h_in @ W_hn.T + b_hn  # W_hn h_{t-1} + b_hn,  or W_hn (r_t * h_{t-1}) + b_hn
    if reset_after:
        n = np.tanh(gi_n + r * gh_n)  # n_t = tanh(W_in x + b_in + r_t * (W_hn h + b_hn))
    else:
        n = np.tanh(gi_n + gh_n)  # n_t = tanh(W_in x + b_in + W_hn (r_t * h) + b_hn)
    h = (1.0 - z) * n + z * h_prev  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return h, (h_prev, h_in, r, z, n, gh_n, reset_after)


def step_backward(dh: np.ndarray, cache: tuple, params: dict):
    """Back through one step, from dL/dh_t (every path).

    Returns the gradients of the step's two products' results (N, 3H) each, r|z|n:
    dgi of W_ih x_t + b_ih and dgh of the hidden side (W_hr h + b_hr, W_hz h + b_hz,
    W_hn h_in + b_hn), and dL/dh_{t-1}'s share through this step.
    """
    h_prev, h_in, r, z, n, gh_n, reset_after = cache
    W_hr, W_hz, W_hn = np.split(params["weight_hh"], 3, axis=0)  # 3 x (H, H)
    dn = dh * (1.0 - z)  # dL/dn_t = dL/dh_t * (1 - z_t)
    dz = dh * (h_prev - n)  # dL/dz_t = dL/dh_t * (h_{t-1} - n_t)
    dh_prev = dh * z  # the direct path: dL/dh_{t-1} += dL/dh_t * z_t
    da_n = dn * (1.0 - n**2)  # through tanh: gradient of n_t's pre-activation      (N, H)
    if reset_after:
        dr = da_n * gh_n  # dL/dr_t = da_n * (W_hn h_{t-1} + b_hn)
        dgh_n = da_n * r  # gradient of W_hn h_{t-1} + b_hn
        dh_prev = dh_prev + dgh_n @ W_hn
    else:
        dgh_n = da_n  # gradient of W_hn (r_t * h_{t-1}) + b_hn
        dh_in = dgh_n @ W_hn  # gradient of r_t * h_{t-1}                           (N, H)
        dr = dh_in * h_prev  # dL/dr_t
        dh_prev = dh_prev + dh_in * r
    da_r = dr * r * (1.0 - r)  # through the sigmoids
    da_z = dz * z * (1.0 - z)
    dh_prev = dh_prev + da_r @ W_hr + da_z @ W_hz  # the paths through r_t and z_t
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)  # (N, 3H)
    dgh = np.concatenate([da_r, da_z, dgh_n], axis=1)  # (N, 3H)
    return dgi, dgh, dh_prev


def forward(xs: np.ndarray, h0: np.ndarray, params: dict, reset_after: bool = True):
    """Run the cell over xs (T, N, D) (or indexes (T, N)) from h0 (N, H): returns
    hs (T, N, H), h_T and the cache that ``backward`` needs."""
    T, N = xs.shape[:2]
    gi = input_terms(xs, params)  # (T, N, 3H)
    hs = np.empty((T, N, h0.shape[1]))  # (T, N, H)
    caches = []
    h = h0
    for t in range(T):
        h, cache = step_forward(gi[t], h, params, reset_after)
        hs[t] = h
        caches.append(cache)
    return hs, h, (xs, h0, hs, caches, reset_after)


def backward(
    dhs: np.ndarray,
    cache: tuple,
    params: dict,
    dh_last: np.ndarray | None = None,
    input_grads: bool = True,
):
    """Backpropagation through time.

    dhs (T, N, H): dhs[t] = V^T dL/do_t from the output layer at time t.
    dh_last (N, H): dL/dh_{T-1} arriving from beyond this sequence (zero if nothing follows).
    Returns dxs (T, N, D) (None unless input_grads), dL/dh0 (N, H) and the gradients of the
    four parameters.
    """
    xs, h0, hs, caches, reset_after = cache
    T, N, H = hs.shape
    dgi = np.empty((T, N, 3 * H))  # gradients of W_ih x_t + b_ih                     (T, N, 3H)
    dgh = np.empty((T, N, 3 * H))  # and of the hidden side                           (T, N, 3H)
    dh_next = np.zeros_like(h0) if dh_last is None else dh_last
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # dL/dh_t = V^T dL/do_t + (the paths through step t+1)
        dgi[t], dgh[t], dh_next = step_backward(dh, caches[t], params)
    # W_hr and W_hz multiply h_{t-1}; W_hn multiplies h_in: h_{t-1}, or r_t * h_{t-1} (Cho).
    if reset_after:
        dW_hn = sum_over_previous_states(dgh[..., 2 * H :], h0, hs)
    else:
        h_ins = np.stack([c[1] for c in caches])  # r_t * h_{t-1} for every t          (T, N, H)
        dW_hn = sum_over_time(dgh[..., 2 * H :], h_ins)
    D = params["weight_ih"].shape[1]
    grads = {
        "weight_ih": sum_over_inputs(dgi, xs, D),  # dL/dW_ih = sum_t dgi_t x_t^T        (3H, D)
        "weight_hh": np.concatenate(  # (3H, H)
            [sum_over_previous_states(dgh[..., : 2 * H], h0, hs), dW_hn]
        ),
        "bias_ih": dgi.sum(axis=(0, 1)),
        "bias_hh": dgh.sum(axis=(0, 1)),
    }
    # dL/dx_t = W_ih^T dgi_t for every t (none for indexes)                      (T, N, D)
    dxs = apply(params["weight_ih"].T, dgi) if input_grads and not is_index(xs) else None
    return dxs, dh_next, grads
