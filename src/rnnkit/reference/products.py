"""Matrix products over a whole sequence at once.

Everything that does not depend on the recurrence (the input terms U x_t, the output layer
V h_t, the weight gradients sum_t da_t x_t^T) is one product over the T*N rows of the
stacked time steps, rather than T small products inside the time loop. The results are the
same; a few large products run many times faster than many small ones.
"""

from __future__ import annotations

import numpy as np


def apply(weight: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """weight applied to every row: xs (T, N, B) -> xs W^T (T, N, A), for weight (A, B)."""
    T, N, B = xs.shape
    return (xs.reshape(T * N, B) @ weight.T).reshape(T, N, weight.shape[0])


def sum_over_time(d: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """sum_t d_t^T inputs_t, summed over the batch too: d (T, N, A), inputs (T, N, B) -> (A, B)."""
    T, N, A = d.shape
    return d.reshape(T * N, A).T @ inputs.reshape(T * N, inputs.shape[2])  # (A, T*N) @ (T*N, B)


def sum_over_previous_states(d: np.ndarray, h0: np.ndarray, hs: np.ndarray) -> np.ndarray:
    """sum_t d_t^T h_{t-1}, where h_{-1} = h0 and h_{t-1} = hs[t-1]: d (T, N, A) -> (A, H)."""
    return d[0].T @ h0 + sum_over_time(d[1:], hs[:-1])
