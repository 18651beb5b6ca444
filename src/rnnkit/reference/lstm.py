"""LSTM: one step forward and backward, then backpropagation through time.

torch.nn.LSTM's equations and gate order (weights stacked i|f|g|o)::

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)         candidate
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

(Here o_t is the output gate and c_t the cell, as in torch; the output layer's o_t = V h_t + c
of the lectures lives in ``network.py``.) The state is the pair (h, c).

Backward through one step, given dL/dh_t and the dL/dc_t that arrives from step t+1::

    dL/do_t = dL/dh_t * tanh(c_t)
    dL/dc_t += dL/dh_t * o_t * (1 - tanh(c_t)^2)
    dL/di_t = dL/dc_t * g_t,   dL/dg_t = dL/dc_t * i_t,   dL/df_t = dL/dc_t * c_{t-1}
    dL/dc_{t-1} = dL/dc_t * f_t                       the cell's additive path back in time
    dL/dh_{t-1} = W_hh^T da_t                         da_t: the gates' pre-activation gradients

and, as for the vanilla RNN, dL/dW_ih = sum_t da_t x_t^T and dL/dW_hh = sum_t da_t h_{t-1}^T,
each formed after the loop in one product.
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
GATES = 4


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # = 1 / (1 + exp(-a)), without overflow


def init_params(input_size: int, hidden_size: int, rng: np.random.Generator) -> dict:
    return cell_params(input_size, hidden_size, GATES, rng)


def initial_state(batch_size: int, hidden_size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((batch_size, hidden_size)), np.zeros((batch_size, hidden_size))  # (h0, c0)


def input_terms(xs: np.ndarray, params: dict) -> np.ndarray:
    """W_i* x_t + b_i* + b_h* for every t and gate at once: xs (T, N, D) -> (T, N, 4H)."""
    gx = apply(params["weight_ih"], xs)  # (T, N, 4H)
    gx += params["bias_ih"] + params["bias_hh"]
    return gx


def step_forward(gx: np.ndarray, state: tuple, params: dict):
    """One step, given gx = W_i* x_t + b_i* + b_h* (N, 4H) and state (h_prev, c_prev), each
    (N, H). Returns (h, c) and the cache."""
    h_prev, c_prev = state
    a = gx + h_prev @ params["weight_hh"].T  # the gates' pre-activations            (N, 4H)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)  # 4 x (N, H), gates stacked i|f|g|o
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c = f * c_prev + i * g  # c_t = f_t * c_{t-1} + i_t * g_t
    tanh_c = np.tanh(c)
    h = o * tanh_c  # h_t = o_t * tanh(c_t)
    return (h, c), (c_prev, i, f, g, o, tanh_c)


def step_backward(dh: np.ndarray, dc: np.ndarray, cache: tuple, params: dict):
    """Back through one step, from dL/dh_t and dL/dc_t (from step t+1).

    Returns da_t, the gradient of the gates' pre-activations (N, 4H), and (dL/dh_{t-1}'s
    share through the gates, dL/dc_{t-1}).
    """
    c_prev, i, f, g, o, tanh_c = cache
    do = dh * tanh_c  # dL/do_t = dL/dh_t * tanh(c_t)
    dc = dc + dh * o * (1.0 - tanh_c**2)  # dL/dc_t += dL/dh_t * o_t * tanh'(c_t)
    di = dc * g  # dL/di_t = dL/dc_t * g_t
    dg = dc * i  # dL/dg_t = dL/dc_t * i_t
    df = dc * c_prev  # dL/df_t = dL/dc_t * c_{t-1}
    dc_prev = dc * f  # dL/dc_{t-1} = dL/dc_t * f_t
    da = np.concatenate(  # through the sigmoids and the tanh, i|f|g|o              (N, 4H)
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g**2), do * o * (1 - o)], axis=1
    )
    dh_prev = da @ params["weight_hh"]  # W_hh^T da_t                              (N, H)
    return da, dh_prev, dc_prev


def forward(xs: np.ndarray, state0: tuple, params: dict):
    """Run the cell over xs (T, N, D) (or indexes (T, N)) from (h0, c0): returns
    hs (T, N, H), (h_T, c_T) and the cache that ``backward`` needs."""
    T, N = xs.shape[:2]
    gx = input_terms(xs, params)  # (T, N, 4H)
    hs = np.empty((T, N, state0[0].shape[1]))  # (T, N, H)
    caches = []
    state = state0
    for t in range(T):
        state, cache = step_forward(gx[t], state, params)
        hs[t] = state[0]
        caches.append(cache)
    return hs, state, (xs, state0[0], hs, caches)


def backward(
    dhs: np.ndarray,
    cache: tuple,
    params: dict,
    dstate_last: tuple | None = None,
    input_grads: bool = True,
):
    """Backpropagation through time.

    dhs (T, N, H): dhs[t] = V^T dL/do_t from the output layer at time t.
    dstate_last: (dL/dh, dL/dc) of the last state arriving from beyond this sequence.
    Returns dxs (T, N, D) (None unless input_grads), (dL/dh0, dL/dc0) and the gradients of
    the four parameters.
    """
    xs, h0, hs, caches = cache
    T = len(hs)
    da = np.empty((T, *dhs.shape[1:-1], 4 * hs.shape[2]))  # pre-activation gradients (T, N, 4H)
    if dstate_last is None:
        dstate_last = (np.zeros_like(h0), np.zeros_like(h0))
    dh_next, dc_next = dstate_last
    for t in reversed(range(T)):
        dh = dhs[t] + dh_next  # dL/dh_t = V^T dL/do_t + (the path through step t+1)
        da[t], dh_next, dc_next = step_backward(dh, dc_next, caches[t], params)
    db = da.sum(axis=(0, 1))
    D = params["weight_ih"].shape[1]
    grads = {
        "weight_ih": sum_over_inputs(da, xs, D),  # dL/dW_ih = sum_t da_t x_t^T          (4H, D)
        "weight_hh": sum_over_previous_states(da, h0, hs),  # sum_t da_t h_{t-1}^T (4H, H)
        "bias_ih": db,
        "bias_hh": db.copy(),
    }
    # dL/dx_t = W_ih^T da_t for every t (none for indexes)                       (T, N, D)
    dxs = apply(params["weight_ih"].T, da) if input_grads and not is_index(xs) else None
    return dxs, (dh_next, dc_next), grads
