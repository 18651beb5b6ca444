"""The confusion matrix as a picture: rows are the true classes, columns the predictions, each
row normalised to sum to 1 (the diagonal is each class's recall), with the counts written in."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.training.figures import new_figure, save_png


def plot_confusion_matrix(matrix, classes: list[str], output: str | Path, title: str = "") -> Path:
    """Write ``matrix`` (K, K counts) as a PNG at ``output`` (matplotlib's Agg canvas)."""

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
