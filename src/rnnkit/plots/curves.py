"""Curves against steps or lengths: a run's loss curves, an experiment's learning curves, and
the exploding-gradient experiment's two panels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnnkit.plots.canvas import new_figure, save_png


def plot_loss_curves(
    train: list[tuple[int, float]],
    val: list[tuple[int, float]],
    output: str | Path,
    unit: str = "nats/token",
) -> Path:
    """Training loss and a validation figure (``[(step, value), ...]`` each) against steps,
    as a PNG at ``output``; returns it."""
    figure = new_figure(7, 4)
    axes = figure.add_subplot()
    if train:
        axes.plot(*zip(*train, strict=True), label="train", linewidth=1)
    if val:
        axes.plot(*zip(*val, strict=True), "o-", label="validation", markersize=3)
    axes.set_xlabel("step")
    axes.set_ylabel(f"loss ({unit})")
    axes.grid(alpha=0.3)
    if train or val:
        axes.legend()
    return save_png(figure, output)


def plot_learning_curves(
    curves: dict[str, list[tuple[int, float]]],
    path: str | Path,
    *,
    metric: str,
    baseline: float | None,
    title: str,
    log_y: bool = False,
) -> Path:
    """Write ``curves`` ({label: [(step, value), ...]}) as a PNG at ``path``, the trivial
    predictor's value (``baseline``) as a dashed line; returns it."""

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


def plot_exploding_gradients(
    norms: dict[int, tuple[float, float]],
    runs: Sequence[dict],
    path: str | Path,
    *,
    sigma: float,
    train_seq_len: int,
    lr: float,
    baseline: float,
) -> Path:
    """Two panels: ``norms`` ({T: (||dL/dh_0||, ||dL/dtheta||)} at initialisation) against T
    (log scale), and the training loss of each of ``runs`` (dicts with ``clip``, ``losses``,
    ``diverged``, ``diverged_at_step``, ``reason``; log scale, a dotted line where a run
    diverged) over the ``baseline`` MSE. Returns ``path``."""
    figure = new_figure(11, 4.5)
    by_length, curves = figure.subplots(1, 2)
    lengths = list(norms)
    by_length.plot(lengths, [norms[t][0] for t in lengths], "o-", label="||dL/dh_0||")
    by_length.plot(lengths, [norms[t][1] for t in lengths], "s-", label="||dL/dtheta||")
    by_length.set_yscale("log")
    by_length.set_xlabel("sequence length T")
    by_length.set_ylabel("gradient norm at initialisation")
    by_length.set_title(f"tanh RNN, every singular value of W_hh = {sigma:g}")
    for run in runs:
        label = "no clipping" if run["clip"] is None else f"clipped at {run['clip']:g}"
        steps = range(1, len(run["losses"]) + 1)
        (line,) = curves.plot(steps, run["losses"], linewidth=1, label=label)
        if run["diverged"]:
            curves.axvline(run["diverged_at_step"], color=line.get_color(), linestyle=":")
            line.set_label(f"{label}: {run['reason']} at step {run['diverged_at_step']}")
    curves.axhline(baseline, linestyle="--", color="gray", linewidth=1, label="predict 0")
    curves.set_yscale("log")
    finite = [loss for run in runs if not run["diverged"] for loss in run["losses"]]
    if finite:  # a diverging curve leaves through the top instead of squashing the others
        curves.set_ylim(min(finite) / 2, max(100.0, 10 * max(finite)))
    curves.set_xlabel("SGD step")
    curves.set_ylabel("training MSE")
    curves.set_title(f"y = x_T + x_(T-1), T = {train_seq_len}, SGD lr {lr:g}")
    for axes in (by_length, curves):
        axes.grid(alpha=0.3, which="both")
        axes.legend()
    figure.tight_layout()
    return save_png(figure, path)
