"""The forward time loop the whole-sequence routes of single-state cells share
(:mod:`rnnkit.nn.gru_bptt`, :mod:`rnnkit.nn.mut_bptt`): steps in order or reversed, and past a
sequence's length its state kept and zeros emitted, as the readable loop does."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def run_steps(
    step: Callable[[Tensor, Tensor, int], Tensor],
    xs: tuple[Tensor, ...],
    h0: Tensor,
    keep: Tensor | None,
    reverse: bool,
) -> tuple[Tensor, Tensor, range]:
    """``step(x_t, h, t) -> h_new`` over the T inputs ``xs`` from ``h0``; ``keep`` (T, N, 1)
    true where t < length, or None. Returns the outputs (T, N, H), the final state and the
    order the steps ran in (for the backward pass)."""
    T = len(xs)
    order = range(T - 1, -1, -1) if reverse else range(T)
    outputs: list = [None] * T
    keeps = None if keep is None else keep.unbind(0)
    h = h0
    for t in order:
        h_new = step(xs[t], h, t)
        if keeps is None:
            outputs[t] = h = h_new
        else:  # past its length a sequence keeps its state and emits zeros
            outputs[t], h = h_new * keeps[t], torch.where(keeps[t], h_new, h)
    return torch.stack(outputs), h, order
