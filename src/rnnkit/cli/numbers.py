"""argparse types for numbers, importing nothing heavy: ``rnnkit gradcheck`` (the NumPy
engine, no torch) uses them as every other command does (through ``rnnkit.cli.args``)."""

from __future__ import annotations

import argparse
import math

from rnnkit.options import SEED_MAX


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def clip_norm(text: str) -> float:
    """An argparse type: a gradient-norm bound, a finite number >= 0 (0: no clipping)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a gradient norm > 0, or 0 for no clipping, got {text!r}"
        )
    return value


def seed(text: str) -> int:
    """An argparse type: a seed, an integer in [0, ``SEED_MAX``] (``rnnkit.options``)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(
            f"expected a seed, an integer from 0 to {SEED_MAX} (2**32 - 1), got {text!r}"
        )
    return value


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value
