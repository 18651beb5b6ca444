"""Matrix products over a whole sequence at once.

Everything that does not depend on the recurrence (the input terms U x_t, the output layer
V h_t, the weight gradients sum_t da_t x_t^T) is one product over the T*N rows of the
stacked time steps, rather than T small products inside the time loop. The results are the
same; a few large products run many times faster than many small ones.

Inputs may also be given as indexes, integer xs (T, N), standing for one-hot rows (a
character by its place in the vocabulary). For a one-hot x, U x is the column of U at that
index, so the product is a lookup, and sum_t da_t x_t^T adds each row of da into one column.
"""

from __future__ import annotations

import numpy as np


def is_index(xs: np.ndarray) -> bool:
    """True for integer inputs (T, N): indexes of one-hot rows."""
    return xs.dtype.kind in "iu"


def apply(weight: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """weight applied to every row: xs (T, N, B) -> xs W^T (T, N, A), for weight (A, B).
    For indexes xs (T, N), the columns of weight they pick."""
    if is_index(xs):
        return weight.T[xs]  # W x = column x of W, for one-hot x                    (T, N, A)
    T, N, B = xs.shape
    return (xs.reshape(T * N, B) @ weight.T).reshape(T, N, weight.shape[0])


def sum_over_time(d: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """sum_t d_t^T inputs_t, summed over the batch too: d (T, N, A), inputs (T, N, B) -> (A, B)."""
    T, N, A = d.shape
    return d.reshape(T * N, A).T @ inputs.reshape(T * N, inputs.shape[2])  # (A, T*N) @ (T*N, B)


def sum_over_previous_states(d: np.ndarray, h0: np.ndarray, hs: np.ndarray) -> np.ndarray:
    """sum_t d_t^T h_{t-1}, where h_{-1} = h0 and h_{t-1} = hs[t-1]: d (T, N, A) -> (A, H)."""
    return d[0].T @ h0 + sum_over_time(d[1:], hs[:-1])


def sum_over_inputs(d: np.ndarray, xs: np.ndarray, input_size: int) -> np.ndarray:
    """sum_t d_t^T x_t -> (A, D) for inputs xs (T, N, D) or indexes of one-hot rows (T, N)."""
    if not is_index(xs):
        return sum_over_time(d, xs)
    rows = d.reshape(xs.size, d.shape[2])  # (T*N, A)
    index = xs.ravel()  # (T*N,)
    order = np.argsort(index, kind="stable")  # the rows grouped by their index
    grouped = index[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])  # each group's first row
    total = np.zeros((input_size, d.shape[2]))  # (D, A); indexes never seen stay 0
    total[grouped[starts]] = np.add.reduceat(rows[order], starts, axis=0)  # each group's sum
    return np.ascontiguousarray(total.T)  # (A, D)
