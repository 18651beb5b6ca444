"""Losses over a sequence of outputs o_t (T, N, C): forward returns (loss, cache), the
backward beside it returns dL/do (T, N, C).

Every loss is summed over time, as in the lectures (L = sum_t L_t), and averaged over the N
sequences of the batch. So for one sequence dL/do_t is exactly the lecture's y_hat_t - y_t;
for a batch it is that divided by N.
"""

from __future__ import annotations

import numpy as np


def softmax(o: np.ndarray) -> np.ndarray:
    """y_hat = exp(o) / sum(exp(o)) over the last axis (shifted by max(o): same value, no
    overflow)."""
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def cross_entropy_forward(o: np.ndarray, targets: np.ndarray):
    """Many-to-many: L = (1/N) sum_t sum_n -log y_hat_t[y_t].  o (T, N, C), targets (T, N) int.

    -log y_hat[y] = log sum_k exp(o_k - m) - (o_y - m), with m = max_k o_k: no overflow, and
    no log of a probability that rounded to 0.
    """
    T, N, C = o.shape
    if targets.shape != (T, N):
        raise ValueError(f"targets must have shape (T, N) = {(T, N)}, got {targets.shape}")
    if (
        targets.dtype.kind not in "iu"
        or targets.size
        and not 0 <= targets.min() <= targets.max() < C
    ):
        raise ValueError(f"targets must be integer classes in [0, {C}), got {_span(targets)}")
    t, n = np.indices((T, N))  # every (time, sequence) pair
    m = o.max(axis=-1)  # (T, N)
    y_hat = o - m[..., None]  # o_t - m                                              (T, N, C)
    np.exp(y_hat, out=y_hat)  # exp(o_t - m), in place
    total = y_hat.sum(axis=-1)  # (T, N)
    loss = (np.log(total) - (o[t, n, targets] - m)).sum() / N
    y_hat /= total[..., None]  # softmax(o_t)
    return loss, (y_hat, targets)


def _span(targets: np.ndarray) -> str:
    if targets.dtype.kind not in "iu":
        return f"dtype {targets.dtype}"
    return f"{targets.min()} to {targets.max()}"


def cross_entropy_backward(cache: tuple) -> np.ndarray:
    y_hat, targets = cache
    T, N, _ = y_hat.shape
    t, n = np.indices((T, N))
    do = y_hat / N  # (T, N, C)
    do[t, n, targets] -= 1.0 / N  # dL/do_t = y_hat_t - y_t (y_t one-hot), averaged over the batch
    return do


def last_step_cross_entropy_forward(o: np.ndarray, targets: np.ndarray):
    """Many-to-one: only the last output is scored. o (T, N, C), targets (N,) int."""
    T, N, C = o.shape
    if targets.shape != (N,):
        raise ValueError(f"targets must have shape (N,) = {(N,)}, got {targets.shape}")
    loss, (y_hat, _) = cross_entropy_forward(o[-1:], targets[None, :])
    return loss, (o.shape, y_hat, targets)


def last_step_cross_entropy_backward(cache: tuple) -> np.ndarray:
    shape, y_hat, targets = cache
    do = np.zeros(shape)  # dL/do_t = 0 for t < T-1                           (T, N, C)
    do[-1:] = cross_entropy_backward((y_hat, targets[None, :]))  # y_hat_T - y_T at the end
    return do


def mse_forward(o: np.ndarray, targets: np.ndarray):
    """L = (1/N) sum_t sum_n 1/2 ||o_t - y_t||^2.  o and targets (T, N, C).

    The 1/2 makes dL/do_t = o_t - y_t, the twin of softmax cross-entropy's y_hat_t - y_t.
    (torch.nn.MSELoss has no 1/2 and averages over every element.)
    """
    if targets.shape != o.shape:
        raise ValueError(f"targets must have the outputs' shape {o.shape}, got {targets.shape}")
    N = o.shape[1]
    diff = o - targets  # (T, N, C)
    return 0.5 * (diff**2).sum() / N, (diff, N)


def mse_backward(cache: tuple) -> np.ndarray:
    diff, N = cache
    return diff / N  # dL/do_t = o_t - y_t, averaged over the batch


# name -> (forward, backward)
LOSSES = {
    "cross_entropy": (cross_entropy_forward, cross_entropy_backward),
    "last_step_cross_entropy": (last_step_cross_entropy_forward, last_step_cross_entropy_backward),
    "mse": (mse_forward, mse_backward),
}


def get_loss(name: str):
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
    return LOSSES[name]
