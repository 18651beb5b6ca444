"""Forecast plots: the test part with every method's forecasts, and a forecast past the end.

``plot_test_forecasts`` draws the history before the test part, the test truth, and each
method's H-step forecasts from the origins every H steps (origins 0, H, 2H, ... of the test
part: non-overlapping forecasts that together cover it, each drawn as its own line).
``series`` is anything with ``values`` (an array), ``times`` (a label per point, or None),
``period`` and ``name``: an ``rnnkit.data.series.Series``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.plots.canvas import new_figure, save_png

COLOURS = {
    "RNN": "tab:red",
    "naive": "tab:grey",
    "seasonal naive": "tab:green",
    "arima": "tab:blue",
}


def _history_start(series, start: int, horizon: int) -> int:
    return max(0, start - max(3 * series.period, 4 * horizon, 24))


def _tick_labels(axes, series, first: int, last: int, extra: list[str] | None = None) -> None:
    labels = list(series.times or [str(i) for i in range(len(series.values))]) + (extra or [])
    positions = np.linspace(first, last, num=min(8, last - first + 1)).round().astype(int)
    axes.set_xticks(positions)
    axes.set_xticklabels([labels[p] if p < len(labels) else str(p) for p in positions], rotation=30)


def plot_test_forecasts(
    series,
    test_start: int,
    origins: np.ndarray,
    truth: np.ndarray,
    forecasts: dict[str, np.ndarray],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """PNG of the test part (see the module docstring); ``forecasts`` maps a method's name
    to its (N, H) forecasts from ``origins``."""
    horizon = truth.shape[1]
    first = _history_start(series, test_start, horizon)
    figure = new_figure(10, 4.8)
    axes = figure.add_subplot()
    steps = np.arange(first, len(series.values))
    axes.plot(steps, series.values[first:], color="black", linewidth=1.2, label="series")
    axes.axvline(test_start - 0.5, color="black", linestyle=":", linewidth=0.8)
    for name, predicted in forecasts.items():
        colour = COLOURS.get(name)
        for k, row in enumerate(range(0, len(origins), horizon)):
            t = origins[row]
            axes.plot(
                np.arange(t, t + horizon),
                predicted[row],
                color=colour,
                linewidth=1.5 if name == "RNN" else 1.0,
                linestyle="-" if name == "RNN" else "--",
                label=name if k == 0 else None,
            )
    _tick_labels(axes, series, first, len(series.values) - 1)
    axes.set_title(
        title or f"{series.name}: test forecasts, {horizon} steps from every origin {horizon} apart"
    )
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return save_png(figure, path)


def plot_future(series, forecast: np.ndarray, labels: list[str], path: str | Path) -> Path:
    """PNG of the end of the series and ``forecast`` past it."""
    n, steps = len(series.values), len(forecast)
    first = _history_start(series, n, steps)
    figure = new_figure(10, 4.5)
    axes = figure.add_subplot()
    axes.plot(np.arange(first, n), series.values[first:], color="black", label="series")
    axes.plot(
        np.arange(n - 1, n + steps),
        np.concatenate([series.values[-1:], forecast]),
        color="tab:red",
        marker=".",
        label="RNN forecast",
    )
    _tick_labels(axes, series, first, n + steps - 1, labels)
    axes.set_title(f"{series.name}: forecast of the next {steps} steps")
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return save_png(figure, path)
