"""Using a finished (or stopped) forecasting run: forecast past the series' end, evaluate it.

    forecast_run("runs/airline", steps=12)   # {"labels": ["1961-01", ...], "values": [...]}
    evaluate_run("runs/airline")             # MAE / RMSE of the RNN and the baselines, test part

Both need only the run directory (``config.json``, ``series.json``, a checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.series import Series, future_labels
from rnnkit.models.forecaster import Forecaster, ForecasterConfig
from rnnkit.plots.forecasts import plot_future, plot_test_forecasts
from rnnkit.tasks import lifecycle
from rnnkit.tasks.forecast import (
    ForecastTask,
    compute_baselines,
    forecast_from,
    read_series,
)
from rnnkit.tasks.forecast_config import ForecastConfig
from rnnkit.tasks.forecast_data import Scaler
from rnnkit.training import run_dir as layout

FUTURE_PLOT = "plots/forecast-future.png"
PARTS = ("val", "test")


@dataclass
class LoadedForecaster:
    """A run's model (eval mode) with its scaler, series and configuration."""

    run_dir: Path
    record: dict
    config: ForecastConfig
    series: Series
    scaler: Scaler
    model: Forecaster
    checkpoint: str
    step: int


def load_run(run_dir: str | Path, checkpoint: str = "best") -> LoadedForecaster:
    """The model of checkpoint ``best`` (``last`` when the run has no best yet) or ``last``."""
    opened = lifecycle.open_checkpoint(run_dir, checkpoint, "forecast")
    run_dir, record, config, loaded = opened.run_dir, opened.record, opened.config, opened.loaded
    checkpoint = opened.checkpoint
    try:
        meta = loaded.meta["task"]
        model = Forecaster(ForecasterConfig.from_dict(meta["model"]))
        model.load_state_dict(loaded.section("model"))
        scaler = Scaler.from_dict(meta["scaler"])
    except (KeyError, TypeError, RuntimeError) as error:
        raise ValueError(
            f"checkpoint {loaded.path} does not hold a forecaster: {' '.join(str(error).split())}"
        ) from None
    model.eval()
    series = read_series(run_dir, record["data"])
    return LoadedForecaster(
        run_dir, record, config, series, scaler, model, checkpoint, loaded.meta["step"]
    )


def forecast_run(
    run_dir: str | Path,
    steps: int | None = None,
    checkpoint: str = "best",
    plot: str | Path | None = None,
) -> dict:
    """Forecast ``steps`` points (default: the run's horizon) after the end of the series,
    from its last ``window`` values; draws them into ``plot`` (default
    ``RUN_DIR/plots/forecast-future.png``)."""
    run = load_run(run_dir, checkpoint)
    horizon = run.model.config.horizon
    steps = horizon if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"the horizon must be a positive integer, got {steps!r}")
    data = run.config.data
    n = len(run.series.values)
    scaled = run.scaler.scale(run.series.values)
    values = forecast_from(
        run.model, run.scaler, scaled, np.array([n]), data.window, data.relative, steps
    )[0]
    labels = future_labels(run.series.times, run.series.step, steps, n)
    path = plot_future(run.series, values, labels, plot or run.run_dir / FUTURE_PLOT)
    how = "one pass" if steps <= horizon else f"iterated in blocks of {horizon}"
    if run.model.config.mode == "recursive":
        how = "fed back one step at a time"
    return {
        "task": "forecast",
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
        "data": run.series.name,
        "after": (run.series.times or [str(n - 1)])[-1],
        "horizon": steps,
        "trained_horizon": horizon,
        "mode": run.model.config.mode,
        "how": how,
        "labels": labels,
        "values": [float(v) for v in values],
        "plot": str(path),
    }


def evaluate_run(
    run_dir: str | Path, part: str = "test", checkpoint: str = "best", plot: bool = True
) -> dict:
    """MAE and RMSE of the RNN and of the baselines on ``part`` (val or test), from every
    origin of the part; the test baselines come from ``baselines.json`` when the run
    computed them, else (and for val) they are computed here (ARIMA fitted on everything
    before the part)."""
    if part not in PARTS:
        raise ValueError(f"unknown split {part!r}; a forecasting run has: {', '.join(PARTS)}")
    run = load_run(run_dir, checkpoint)
    task = ForecastTask(run.config, run.series)
    scores = task.score(run.model, part)
    saved = run.run_dir / lifecycle.BASELINES
    baselines = layout.read_json(saved) if saved.exists() else {}
    if baselines.get("part") != part:
        baselines = compute_baselines(task, part) if run.config.baselines.enabled else {}
    rows = {"RNN": {"mae": scores["mae"], "rmse": scores["rmse"]}}
    for method in ("naive", "seasonal_naive", "arima"):
        if method in baselines:
            rows[method] = {k: baselines[method][k] for k in ("mae", "rmse")}
    result = {
        "task": "forecast",
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
        "data": run.series.name,
        "split": part,
        "origins": scores["origins"],
        "horizon": scores["horizon"],
        "mae": scores["mae"],
        "rmse": scores["rmse"],
        "mae_by_step": scores["mae_by_step"],
        "table": rows,
    }
    if plot:
        forecasts = {"RNN": task.forecasts(run.model, task.origins(part))}
        for method in ("naive", "seasonal_naive", "arima"):
            if method in baselines:
                forecasts[method.replace("_", " ")] = np.array(baselines[method]["forecasts"])
        start = task.split.bounds(part)[0]
        result["plot"] = str(
            plot_test_forecasts(
                run.series,
                start,
                task.origins(part),
                task.truth(part),
                forecasts,
                run.run_dir / "plots" / f"forecast-{part}.png",
                f"{run.series.name}, {part} part: MAE {scores['mae']:.4g}",
            )
        )
    return result
