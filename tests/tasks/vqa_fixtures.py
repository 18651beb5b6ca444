"""A small stand-in for the ``digits`` file: 20 images of each class, each class a pattern of
its own (a bright bar at a place set by the label) with noise, so a model can tell them."""

from __future__ import annotations

import gzip

import numpy as np


def write_digits_file(path, per_class: int = 20, seed: int = 0):
    """``digits.csv.gz`` as ``rnnkit data fetch digits`` keeps it: 64 pixels 0..16, label."""
    rng = np.random.default_rng(seed)
    lines = []
    for label in range(10):
        for _ in range(per_class):
            pixels = rng.integers(0, 4, size=(8, 8))
            pixels[label % 8, :] = 16  # a bright row for the label...
            pixels[:, label // 8 * 7] = 12  # ... and a column telling 8 and 9 from 0 and 1
            lines.append(",".join(map(str, [*pixels.ravel().tolist(), label])))
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("ascii")))
    return path
