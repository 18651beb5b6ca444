"""Gradient clipping, in place on a dict of gradients.

By global norm (Pascanu, Mikolov and Bengio 2013, "On the difficulty of training recurrent
neural networks", Algorithm 1): if ||g|| > threshold then g ← threshold g / ||g||, where ||g||
is the norm of all gradients together. The direction is kept; only the step shrinks.

By value (as min-char-rnn, at ±5): every element is clipped to [-limit, limit] on its own,
which can change the direction.
"""

from __future__ import annotations

import numpy as np


def global_norm(grads: dict) -> float:
    """||g|| = sqrt(sum over every parameter and element of g²)."""
    return float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def clip_by_global_norm(grads: dict, max_norm: float) -> float:
    """Rescale grads in place so that their global norm is at most max_norm; return the norm
    before clipping."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = global_norm(grads)
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm  # g ← threshold g / ||g||
    return norm


def clip_by_value(grads: dict, limit: float) -> None:
    """Clip every element of grads to [-limit, limit], in place."""
    if not limit > 0:
        raise ValueError(f"limit must be positive, got {limit}")
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)
