"""Learning curves of an experiment: the reported metric against step, one curve per cell,
the trivial predictor's value as a dashed line (matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

from rnnkit.training.figures import new_figure, save_png


def plot_learning_curves(
    curves: dict[str, list[tuple[int, float]]],
    path: str | Path,
    *,
    metric: str,
    baseline: float | None,
    title: str,
    log_y: bool = False,
) -> Path:
    """Write ``curves`` ({label: [(step, value), ...]}) as a PNG at ``path``; returns it."""

    figure = new_figure(7, 4.5)
    axes = figure.add_subplot()
    for label, points in curves.items():
        points = [(s, v) for s, v in points if v is not None and (v > 0 or not log_y)]
        if points:
            axes.plot(*zip(*points, strict=True), "o-", label=label, markersize=2, linewidth=1.2)
    if baseline is not None:
        axes.axhline(baseline, linestyle="--", color="gray", linewidth=1, label="baseline")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel(metric)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    return save_png(figure, path)
