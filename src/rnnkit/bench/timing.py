"""Interleaved timing: every candidate and its reference take turns, so that drift in machine
load hits them alike, and the median of the repeats is reported."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_interleaved(
    functions: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each function, calls interleaved round-robin.

    The order rotates every round so that no function always runs right after another.
    """
    names = list(functions)
    for _ in range(warmup):
        for name in names:
            functions[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            functions[name]()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}
