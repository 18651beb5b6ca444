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


def split_back(p, s: dict, t: int, dh: Tensor, d_out: Tensor, k: Tensor | None):
    """The first move of a single-state cell's step back: dL/dh_t (with the output's gradient
    ``d_out``) split into what flows back through step t's equations and what passes straight
    to h_{t-1} (None for nothing): the whole gradient where the step was past the sequence's
    length (``k`` 0), and zoneout's share of the units it kept (``p.zone``: hidden rate, cell
    rate, training; ``s["zone"]`` its masks). Returns ``(dh, dh_pass)``."""
    dh_pass = None
    if k is None:
        dh = dh + d_out
    else:  # where the step was skipped its gradient passes through unchanged
        dh_pass, dh = dh * (1 - k), (dh + d_out) * k
    if p.zone is not None and p.zone[0]:
        zoned = s["zone"][t] if p.zone[2] else p.zone[0]
        dh_pass = dh * zoned if dh_pass is None else dh_pass + dh * zoned
        dh = dh * (1 - zoned)
    return dh, dh_pass


def zone_args(p) -> tuple[float, bool]:
    """Zoneout's ``(hidden rate, training)`` as the compiled loops of the single-state routes
    take them (``(0.0, False)``: none)."""
    return (0.0, False) if p.zone is None else (float(p.zone[0]), bool(p.zone[2]))
