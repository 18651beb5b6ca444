"""Heatmaps: a confusion matrix, a translation's attention weights, and a caption's attention
laid over its image.

- ``plot_confusion_matrix``: rows are the true classes, columns the predictions, each row
  normalised to sum to 1 (the diagonal is each class's recall), with the counts written in.
- ``plot_attention``: one translation's weights, source tokens across, output tokens down,
  each row (one output token) summing to 1.
- ``plot_attention_map``: where a captioner looks: the image, then one panel per generated
  word with that step's attention weights (Xu et al. 2015, figure 3) upsampled to the image
  and laid over it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rnnkit.plots.canvas import new_figure, save_png

COLUMNS = 6  # panels a row in plot_attention_map


def plot_confusion_matrix(matrix, classes: list[str], output: str | Path, title: str = "") -> Path:
    """Write ``matrix`` (K, K counts) as a PNG at ``output``; returns it."""

    matrix = np.asarray(matrix)
    totals = matrix.sum(axis=1, keepdims=True)
    rates = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    size = max(4.0, 0.45 * len(classes) + 2.0)
    figure = new_figure(size + 1.0, size)
    axes = figure.add_subplot()
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    ticks = np.arange(len(classes))
    axes.set_xticks(ticks, labels=classes, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(ticks, labels=classes, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(classes) <= 25:
        for i, j in zip(*np.nonzero(matrix), strict=True):
            color = "white" if rates[i, j] > 0.6 else "black"
            axes.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    if title:
        axes.set_title(title, fontsize=10)
    figure.tight_layout()
    return save_png(figure, output)


def plot_attention(
    weights: np.ndarray,
    source_tokens: list[str],
    output_tokens: list[str],
    path: str | Path,
    title: str = "",
) -> Path:
    """A heatmap of ``weights`` (len(output_tokens), len(source_tokens)) as a PNG."""
    weights = np.asarray(weights, dtype=np.float32)
    if weights.shape != (len(output_tokens), len(source_tokens)):
        raise ValueError(
            f"weights {weights.shape} do not match {len(output_tokens)} output and "
            f"{len(source_tokens)} source tokens"
        )
    width = 1.6 + 0.42 * len(source_tokens)
    height = 1.4 + 0.32 * len(output_tokens)
    figure = new_figure(max(width, 4.0), max(height, 3.0))
    axes = figure.add_subplot()
    image = axes.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(source_tokens)), source_tokens, rotation=60, ha="right")
    axes.set_yticks(range(len(output_tokens)), output_tokens)
    axes.set_xlabel("source")
    axes.set_ylabel("output")
    if title:
        axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, fraction=0.04)
    figure.tight_layout()
    return save_png(figure, path)


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
