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
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.init import cell_params
from rnnkit.reference.lstm import sigmoid

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
GATES = 3


def init_params(input_size: int, hidden_size: int, rng: np.random.Generator) -> dict:
    return cell_params(input_size, hidden_size, GATES, rng)


def initial_state(batch_size: int, hidden_size: int) -> np.ndarray:
    return np.zeros((batch_size, hidden_size))  # h0 (N, H)


def step_forward(x: np.ndarray, h_prev: np.ndarray, params: dict, reset_after: bool = True):
    """One step. x (N, D), h_prev (N, H) -> h (N, H), cache."""
    W_hr, W_hz, W_hn = np.split(params["weight_hh"], 3, axis=0)  # 3 x (H, H)
    b_hr, b_hz, b_hn = np.split(params["bias_hh"], 3)  # 3 x (H,)
    gi = x @ params["weight_ih"].T + params["bias_ih"]  # W_i* x_t + b_i*, r|z|n    (N, 3H)
    gi_r, gi_z, gi_n = np.split(gi, 3, axis=1)  # 3 x (N, H)
    r = sigmoid(gi_r + h_prev @ W_hr.T + b_hr)  # r_t
    z = sigmoid(gi_z + h_prev @ W_hz.T + b_hz)  # z_t
    if reset_after:
        gh_n = h_prev @ W_hn.T + b_hn  # W_hn h_{t-1} + b_hn                  (N, H)
        n = np.tanh(gi_n + r * gh_n)  # n_t = tanh(W_in x + b_in + r_t * (W_hn h + b_hn))
    else:
        gh_n = (r * h_prev) @ W_hn.T + b_hn  # W_hn (r_t * h_{t-1}) + b_hn    (N, H)
        n = np.tanh(gi_n + gh_n)  # n_t = tanh(W_in x + b_in + W_hn (r_t * h) + b_hn)
    h = (1.0 - z) * n + z * h_prev  # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    cache = (x, h_prev, r, z, n, gh_n, reset_after)
    return h, cache


def step_backward(dh: np.ndarray, cache: tuple, params: dict):
    """From dL/dh_t (every path) to dL/dx_t, dL/dh_{t-1} and this step's weight gradients."""
    x, h_prev, r, z, n, gh_n, reset_after = cache
    W_hr, W_hz, W_hn = np.split(params["weight_hh"], 3, axis=0)  # 3 x (H, H)
    dn = dh * (1.0 - z)  # dL/dn_t = dL/dh_t * (1 - z_t)
    dz = dh * (h_prev - n)  # dL/dz_t = dL/dh_t * (h_{t-1} - n_t)
    dh_prev = dh * z  # the direct path: dL/dh_{t-1} += dL/dh_t * z_t
    da_n = dn * (1.0 - n**2)  # through tanh: gradient of n_t's pre-activation      (N, H)
    if reset_after:
        dr = da_n * gh_n  # dL/dr_t = da_n * (W_hn h_{t-1} + b_hn)
        dgh_n = da_n * r  # gradient of W_hn h_{t-1} + b_hn
        dW_hn = dgh_n.T @ h_prev  # (H, H)
        dh_prev = dh_prev + dgh_n @ W_hn
    else:
        dgh_n = da_n  # gradient of W_hn (r_t * h_{t-1}) + b_hn
        dW_hn = dgh_n.T @ (r * h_prev)  # (H, H)
        drh = dgh_n @ W_hn  # gradient of r_t * h_{t-1}                             (N, H)
        dr = drh * h_prev  # dL/dr_t
        dh_prev = dh_prev + drh * r
    da_r = dr * r * (1.0 - r)  # through the sigmoids
    da_z = dz * z * (1.0 - z)
    dh_prev = dh_prev + da_r @ W_hr + da_z @ W_hz  # the paths through r_t and z_t
    dgi = np.concatenate([da_r, da_z, da_n], axis=1)  # gradient of W_ih x_t + b_ih  (N, 3H)
    grads = {
        "weight_ih": dgi.T @ x,  # (3H, D)
        "weight_hh": np.concatenate([da_r.T @ h_prev, da_z.T @ h_prev, dW_hn]),  # (3H, H)
        "bias_ih": dgi.sum(axis=0),
        "bias_hh": np.concatenate([da_r.sum(axis=0), da_z.sum(axis=0), dgh_n.sum(axis=0)]),
    }
    dx = dgi @ params["weight_ih"]  # (N, D)
    return dx, dh_prev, grads


def forward(xs: np.ndarray, h0: np.ndarray, params: dict, reset_after: bool = True):
    """Run the cell over xs (T, N, D) from h0 (N, H): returns hs (T, N, H), h_T, caches."""
    T, N, _ = xs.shape
    hs = np.empty((T, N, h0.shape[1]))  # (T, N, H)
    caches = []
    h = h0
    for t in range(T):
        h, cache = step_forward(xs[t], h, params, reset_after)
        hs[t] = h
        caches.append(cache)
    return hs, h, caches


def backward(dhs: np.ndarray, caches: list, params: dict, dh_last: np.ndarray | None = None):
    """Backpropagation through time.

    dhs (T, N, H): dhs[t] = V^T dL/do_t from the output layer at time t.
    dh_last (N, H): dL/dh_{T-1} arriving from beyond this sequence (zero if nothing follows).
    Returns dxs (T, N, D), dL/dh0 (N, H) and the gradients of the four parameters.
    """
    T = len(caches)
    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    dxs = np.empty((T, *caches[0][0].shape))  # (T, N, D)
    dh_next = np.zeros_like(dhs[0]) if dh_last is None else dh_last
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # dL/dh_t = V^T dL/do_t + (the paths through step t+1)
        dxs[t], dh_next, step = step_backward(dh, caches[t], params)
        for name in PARAM_NAMES:
            grads[name] += step[name]  # every weight gradient is a sum over t
    return dxs, dh_next, grads
