"""Where a captioner looks: the image, then one panel per generated word with that step's
attention weights (Xu et al. 2015, figure 3) upsampled to the image and laid over it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.training.figures import new_figure, save_png

COLUMNS = 6


def upsample_weights(weights, size: tuple[int, int]) -> np.ndarray:
    """Weights (T, S) over a square grid of ``S = g*g`` positions -> (T, H, W), bilinear."""
    weights = torch.as_tensor(weights, dtype=torch.float32)
    steps, positions = weights.shape
    grid = math.isqrt(positions)
    if grid * grid != positions:
        raise ValueError(f"expected weights over a square grid of positions, got {positions}")
    maps = weights.reshape(steps, 1, grid, grid)  # (T, 1, g, g), row by row as the CNN's
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False)[:, 0].numpy()


def plot_attention_map(
    image: np.ndarray, words: Sequence[str], weights, output: str | Path, title: str = ""
) -> Path:
    """Write ``image`` (H, W, 3) uint8 and, for each of ``words``, its weights (one row of
    ``weights`` (T, S)) as a heat map over it, to the PNG ``output``."""
    if len(words) != len(weights):
        raise ValueError(f"one row of weights per word: {len(words)} words, {len(weights)} rows")
    maps = upsample_weights(weights, image.shape[:2])  # (T, H, W)
    panels = len(words) + 1
    columns = min(COLUMNS, panels)
    rows = math.ceil(panels / columns)
    figure = new_figure(1.9 * columns, 2.1 * rows + (0.3 if title else 0))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis in axes:
        axis.axis("off")
    axes[0].imshow(image)
    axes[0].set_title("image", fontsize=9)
    for axis, word, heat in zip(axes[1:], words, maps, strict=False):
        axis.imshow(image)
        axis.imshow(heat / max(float(heat.max()), 1e-12), cmap="inferno", alpha=0.6, vmin=0)
        axis.set_title(word, fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return save_png(figure, output)
