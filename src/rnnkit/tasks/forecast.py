"""Forecasting real-valued series: the task's hooks, its spec, and a forecast past the end.

    from rnnkit.tasks.forecast import forecast_run, train
    from rnnkit.tasks.forecast_config import resolve_config
    result = train(resolve_config({"data.dataset": "airline"}), "runs/airline")
    lifecycle.evaluate("runs/airline", "test")   # MAE / RMSE of the RNN and the baselines
    forecast_run("runs/airline", steps=12)       # {"labels": ["1961-01", ...], "values": [...]}

The series comes from ``rnnkit.data.series.load_series`` and is cut by
``rnnkit.data.series_windows.Split`` into chronological train / val / test parts; the scaler
is fitted on the training part only. The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: B training windows drawn at random (without replacement within a
  batch) by a generator seeded with (seed, step), so a resumed run draws the same batches;
- ``training_step``: the mean squared error in scaled units (``Forecaster``);
- ``evaluate``: MAE and RMSE in the series' units over every validation origin (H-step
  forecasts, see ``series_windows``); ``val_mae`` picks the best checkpoint. The test part
  is scored once, at the end, with the best checkpoint.

Before training, the baselines (``rnnkit.baselines.forecasting``: naive, seasonal naive,
ARIMA) forecast from the same test origins; ``baselines.json`` keeps their figures and
forecasts. The run directory also keeps the series itself (``series.json``), so that
``rnnkit forecast`` and ``rnnkit evaluate`` need nothing else.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from rnnkit.baselines.forecasting import (
    arima_forecasts,
    forecast_errors,
    naive_forecasts,
    seasonal_naive_forecasts,
)
from rnnkit.data.series import Series, future_labels, load_series
from rnnkit.data.series_windows import (
    Scaler,
    anchors,
    check_period,
    input_windows,
    split_series,
    target_windows,
    training_pairs,
)
from rnnkit.models.forecaster import Forecaster
from rnnkit.tasks import lifecycle
from rnnkit.tasks.forecast_config import ForecastConfig, resolve_config, size_flags
from rnnkit.tasks.lifecycle import slug
from rnnkit.tasks.spec import (
    RunResult,
    TaskSpec,
    baseline_figures,
    parameter_count,
    run_figures,
    run_head,
)
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer

TASK_NAME = "forecast"
SERIES = "series.json"
FUTURE_PLOT = "plots/forecast-future.png"
METHODS = ("naive", "seasonal_naive", "arima")
PARTS = ("val", "test")  # the parts a run is evaluated on


class ForecastTask:
    """Hooks for the ``Trainer``: windows of a scaled series, H-step forecasts. ``run_dir``:
    the run a reopened task belongs to (its baselines and plots), None while it trains."""

    loss_unit = "MSE (scaled units)"
    eval_metric = "val_mae"

    def __init__(self, config: ForecastConfig, series: Series, run_dir: Path | None = None):
        d = config.data
        self.config, self.series, self.run_dir = config, series, run_dir
        self.window, self.horizon = d.window, d.horizon
        self.relative, self.mode = d.relative, config.model.mode
        self.split = split_series(
            len(series.values), d.window, d.horizon, d.val_size, d.test_size, size_flags(config)
        )
        source = series.card.get("file", series.name)  # a user's file as given, or the set
        self.scaler = Scaler.fit(
            series.values[: self.split.val_start], d.transform or "none", source
        )
        self.scaled = self.scaler.scale(series.values, source)
        self.train_origins = self.split.origins("train", self.window, self.horizon)

    def build_model(self) -> Forecaster:
        return Forecaster(self.config.model, self.horizon)

    def batch(self, origins: np.ndarray):
        inputs, targets = training_pairs(
            self.scaled, origins, self.window, self.horizon, self.mode, self.relative
        )
        return torch.from_numpy(inputs), torch.from_numpy(targets)

    def train_batches(self, start_step: int):
        size = min(self.config.data.batch_size, len(self.train_origins))
        step = start_step
        while True:
            rng = np.random.default_rng([self.config.trainer.seed, step])
            yield self.batch(rng.choice(self.train_origins, size=size, replace=False))
            step += 1

    def training_step(self, model: Forecaster, batch, carry) -> StepOutput:
        inputs, targets = batch
        _, loss = model(inputs, targets)
        return StepOutput(loss, None, int(targets.numel()))

    def evaluate(self, model: Forecaster) -> dict[str, float]:
        scores = self.score(model, "val")
        return {"val_mae": scores["mae"], "val_rmse": scores["rmse"]}

    def origins(self, part: str) -> np.ndarray:
        return self.split.origins(part, self.window, self.horizon)

    def truth(self, part: str) -> np.ndarray:
        """(N, H) the values each origin of ``part`` should forecast."""
        return target_windows(self.series.values, self.origins(part), self.horizon)

    @torch.no_grad()
    def forecasts(self, model: Forecaster, origins: np.ndarray, steps: int | None = None):
        """(N, steps) forecasts in the series' units from ``origins`` (default H steps); an
        origin may be the series' length (a forecast past its end)."""
        was_training = model.training
        model.eval()
        try:
            shift = anchors(self.scaled, origins, self.relative)[:, None]  # (N, 1)
            windows = input_windows(self.scaled, origins, self.window) - shift  # (N, L)
            inputs = torch.from_numpy(windows.astype(np.float32))
            predictions = model.forecast(inputs, steps).double().numpy() + shift
        finally:
            model.train(was_training)
        return self.scaler.unscale(predictions)

    def score(self, model: Forecaster, part: str) -> dict:
        origins = self.origins(part)
        scores = forecast_errors(self.forecasts(model, origins), self.truth(part))
        return {**scores, "origins": len(origins), "horizon": self.horizon}

    def sample(self, model) -> None:
        return None

    def data_position(self, step: int) -> dict:
        return {"step": step}

    def checkpoint_metadata(self) -> dict:
        return {
            "name": TASK_NAME,
            "model": {"horizon": self.horizon, **asdict(self.config.model)},
            "scaler": self.scaler.to_dict(),
            "window": self.window,
            "relative": self.relative,
        }


def compute_baselines(task: ForecastTask, part: str = "test") -> dict:
    """Naive, seasonal naive and (if configured) ARIMA forecasts from the origins of ``part``,
    their MAE / RMSE in the series' units, and the forecasts (JSON-ready)."""
    values, origins, horizon = task.series.values, task.origins(part), task.horizon
    forecasts = {
        "naive": naive_forecasts(values, origins, horizon),
        "seasonal_naive": seasonal_naive_forecasts(values, origins, horizon, task.series.period),
    }
    details = {"seasonal_naive": {"period": task.series.period}}
    b = task.config.baselines
    if b.arima:
        start = task.split.bounds(part)[0]
        order, seasonal = b.arima_order, b.arima_seasonal_order
        arima = arima_forecasts(
            values, origins, horizon, order, seasonal, b.arima_log, fit_end=start
        )
        forecasts["arima"] = arima.forecasts
        details["arima"] = arima.details()
    result = {"part": part, "origins": len(origins), "horizon": horizon}
    for method, predicted in forecasts.items():
        scores = forecast_errors(predicted, task.truth(part))
        result[f"baseline_{method}_mae"] = scores["mae"]
        result[f"baseline_{method}_rmse"] = scores["rmse"]
        result[method] = {**details.get(method, {}), **scores, "forecasts": predicted.tolist()}
    return result


def evaluate_part(task: ForecastTask, model: Forecaster, part: str) -> dict:
    """``rnnkit evaluate`` of a forecasting run: MAE and RMSE of the RNN and of the baselines
    on ``part`` (val or test), from every origin of the part, drawn into
    ``plots/forecast-<part>.png``. The test baselines come from ``baselines.json`` when the
    run computed them, else (and for val) they are computed here (ARIMA fitted on everything
    before the part)."""
    if part not in PARTS:
        raise ValueError(f"unknown split {part!r}; a forecasting run has: {', '.join(PARTS)}")
    scores = task.score(model, part)
    baselines = lifecycle.read_baselines(task.run_dir)
    if baselines.get("part") != part:
        baselines = compute_baselines(task, part) if task.config.baselines.enabled else {}
    rows = {"RNN": {"mae": scores["mae"], "rmse": scores["rmse"]}}
    for method in METHODS:
        if method in baselines:
            rows[method] = {k: baselines[method][k] for k in ("mae", "rmse")}
    title = f"{task.series.name}, {part} part: MAE {scores['mae']:.4g}"
    plot = plot_part(task, model, part, baselines, title)
    return {"data": task.series.name, **scores, "table": rows, "plot": str(plot)}


def plot_part(task: ForecastTask, model, part: str, baselines: dict, title=None) -> Path:
    """The RNN's and the baselines' forecasts on ``part``, in ``plots/forecast-<part>.png``."""
    from rnnkit.plots.forecasts import plot_test_forecasts

    forecasts = {"RNN": task.forecasts(model, task.origins(part))}
    for method in METHODS:
        if method in baselines:
            forecasts[method.replace("_", " ")] = np.array(baselines[method]["forecasts"])
    start, path = task.split.bounds(part)[0], task.run_dir / "plots" / f"forecast-{part}.png"
    origins, truth = task.origins(part), task.truth(part)
    return plot_test_forecasts(task.series, start, origins, truth, forecasts, path, title)


def forecast_run(
    run_dir: str | Path,
    steps: int | None = None,
    checkpoint: str = "best",
    plot: str | Path | None = None,
    model=None,
) -> dict:
    """Forecast ``steps`` points (default: the run's horizon) after the end of the series,
    from its last ``window`` values; draws them into ``plot`` (default
    ``RUN_DIR/plots/forecast-future.png``). ``model``: one to forecast with in place of the
    checkpoint's (the same weights elsewhere: ``rnnkit forecast --backend onnxruntime``)."""
    from rnnkit.plots.forecasts import plot_future

    opened = lifecycle.open_checkpoint(run_dir, checkpoint, TASK_NAME)
    task, eager = lifecycle.reopen_model(opened)
    model = eager if model is None else model
    horizon, series = task.horizon, task.series
    steps = horizon if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"the horizon must be a positive integer, got {steps!r}")
    n = len(series.values)
    values = task.forecasts(model, np.array([n]), steps)[0]
    labels = future_labels(series.times, series.step, steps, n)
    path = plot_future(series, values, labels, plot or opened.run_dir / FUTURE_PLOT)
    how = "one pass" if steps <= horizon else f"iterated in blocks of {horizon}"
    if task.mode == "recursive":
        how = "fed back one step at a time"
    return {
        "task": TASK_NAME,
        "run_dir": str(opened.run_dir),
        "checkpoint": opened.checkpoint,
        "steps": opened.step,
        "data": series.name,
        "after": (series.times or [str(n - 1)])[-1],
        "horizon": steps,
        "trained_horizon": horizon,
        "mode": task.mode,
        "how": how,
        "labels": labels,
        "values": [float(v) for v in values],
        "plot": str(path),
    }


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: ForecastConfig, series: Series | None) -> ForecastTask:
    """The task on ``series`` (default: the config's data set)."""
    d = config.data
    series = series if series is not None else load_series(d.dataset, period=d.period)
    task = ForecastTask(config, series)
    if d.period or config.baselines.enabled:  # the seasonal naive baseline reads the period
        check_period(task.split, series.period)
    return task


def reopen(run_dir: Path, record: dict, config: ForecastConfig) -> ForecastTask:
    """The task on the series a run was trained on (its ``series.json``, checked)."""
    data = record["data"]
    series = Series.from_dict(layout.read_json(run_dir / SERIES), data.get("card", {}))
    if series.fingerprint() != data["fingerprint"]:
        raise ValueError(f"{run_dir / SERIES} is not the series this run was trained on")
    return ForecastTask(config, series, run_dir)


def record(task: ForecastTask) -> dict:
    path, series, split = Path(task.config.data.dataset), task.series, task.split
    labels = series.times or [str(i) for i in range(len(series.values))]
    data = {
        "dataset": str(path.resolve()) if path.is_file() else task.config.data.dataset,
        "name": series.name,
        "points": len(series.values),
        "period": series.period,
        "step": series.step,
        "sizes": split.sizes(),
        "test_starts_at": labels[split.test_start],
        "val_starts_at": labels[split.val_start],
        "fingerprint": series.fingerprint(),
        "card": series.card,
    }
    return {"data": data, "scaler": task.scaler.to_dict()}


def describe(task: ForecastTask, model, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, task.split.sizes()
    text = (
        f"run {run_dir}: {task.series.name}, {task.split.n} points, "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test; window "
        f"{task.window} -> {task.horizon} steps; {m.num_layers}x{m.hidden_size} {m.cell}, "
        f"{m.mode}, {parameter_count(model) / 1e3:.1f}k parameters"
    )
    if baselines:
        names = [m for m in METHODS if f"baseline_{m}_mae" in baselines]
        text += "; test MAE " + ", ".join(
            f"{m.replace('_', ' ')} {baselines[f'baseline_{m}_mae']:.4g}" for m in names
        )
    return text


def score_test(trainer: Trainer, task: ForecastTask, baselines: dict) -> dict:
    """The best checkpoint on the test part, and its forecasts drawn beside the baselines'."""
    task.run_dir = trainer.run_dir
    test = task.score(trainer.model, "test")
    return {**test, "plot": str(plot_part(task, trainer.model, "test", baselines))}


def summary(result: RunResult) -> dict:
    test, data = result.test, result.record.get("data", {})
    return {
        **run_head(result),
        "data": data.get("name"),
        "best_val_mae": result.train.best_metric,
        "test_mae": test.get("mae"),
        "test_rmse": test.get("rmse"),
        "test_origins": test.get("origins"),
        "test_horizon": test.get("horizon"),
        "test_starts_at": data.get("test_starts_at"),
        **baseline_figures(result.baselines),
        "plot": test.get("plot"),
        **run_figures(result.train),
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="forecaster of a real-valued series: sunspots, co2, airline or a CSV",
    config_class=ForecastConfig,
    resolve=resolve_config,
    prepare=prepare,
    reopen=reopen,
    record=record,
    save=lambda task, run_dir: layout.write_json(run_dir / SERIES, task.series.to_dict()),
    run_name=lambda task: slug(task.series.name),
    baselines=lambda task: compute_baselines(task, "test"),
    baselines_note="computing the baselines on the test part",
    describe=describe,
    score=evaluate_part,
    score_test=score_test,
    summary=summary,
    export="rnnkit.export.forecast",
)


train, resume = lifecycle.entry_points(SPEC)
