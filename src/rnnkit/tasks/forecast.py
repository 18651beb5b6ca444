"""Forecasting real-valued series as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.forecast import train
    from rnnkit.tasks.forecast_config import resolve_config
    result = train(resolve_config({"data.dataset": "airline"}), "runs/airline")

The series comes from ``rnnkit.data.series.load_series`` and is cut by
``forecast_data.Split`` into chronological train / val / test parts; the scaler is fitted on
the training part only. The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: B training windows drawn at random (without replacement within a
  batch) by a generator seeded with (seed, step), so a resumed run draws the same batches;
- ``training_step``: the mean squared error in scaled units (``Forecaster``);
- ``evaluate``: MAE and RMSE in the series' units over every validation origin (H-step
  forecasts, see ``forecast_data``); ``val_mae`` picks the best checkpoint. The test part is
  scored once, at the end, with the best checkpoint.

Before training, the baselines (``rnnkit.baselines.forecasting``: naive, seasonal naive,
ARIMA) forecast from the same test origins; ``baselines.json`` keeps their figures and
forecasts. The run directory also keeps the series itself (``series.json``), so that
``rnnkit forecast`` and ``rnnkit evaluate`` need nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnkit.baselines.forecasting import (
    arima_forecasts,
    forecast_errors,
    naive_forecasts,
    seasonal_naive_forecasts,
)
from rnnkit.data.series import Series, load_series
from rnnkit.models.forecaster import Forecaster, ForecasterConfig
from rnnkit.tasks import runs
from rnnkit.tasks.forecast_config import ForecastConfig
from rnnkit.tasks.forecast_data import (
    Scaler,
    Split,
    anchors,
    default_sizes,
    input_windows,
    target_windows,
    training_pairs,
)
from rnnkit.training import run_dir as layout
from rnnkit.training.progress import Reporter
from rnnkit.training.state import seed_everything
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer, TrainResult

TASK_NAME = "forecast"
BASELINES = "baselines.json"
SERIES = "series.json"
TEST_PLOT = "plots/forecast-test.png"
METHODS = ("naive", "seasonal_naive", "arima")


class ForecastTask:
    """Hooks for the ``Trainer``: windows of a scaled series, H-step forecasts."""

    loss_unit = "MSE (scaled units)"
    eval_metric = "val_mae"

    def __init__(self, config: ForecastConfig, series: Series):
        d = config.data
        self.config, self.series = config, series
        self.window, self.horizon = d.window, d.horizon
        self.relative, self.mode = d.relative, config.model.mode
        val_size, test_size = default_sizes(len(series.values), d.horizon)
        self.split = Split.last(
            len(series.values),
            d.val_size or val_size,
            d.test_size or test_size,
            d.window,
            d.horizon,
        )
        self.scaler = Scaler.fit(series.values[: self.split.val_start], d.transform or "none")
        self.scaled = self.scaler.scale(series.values)
        self.train_origins = self.split.origins("train", self.window, self.horizon)

    def model_config(self) -> ForecasterConfig:
        m = self.config.model
        return ForecasterConfig(
            horizon=self.horizon,
            mode=m.mode,
            cell=m.cell,
            hidden_size=m.hidden_size,
            num_layers=m.num_layers,
            dropout=m.dropout,
        )

    def build_model(self) -> Forecaster:
        return Forecaster(self.model_config())

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

    def forecasts(self, model: Forecaster, origins: np.ndarray, steps: int | None = None):
        """(N, steps) forecasts in the series' units from ``origins`` (default H steps)."""
        return forecast_from(
            model, self.scaler, self.scaled, origins, self.window, self.relative, steps
        )

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
            "model": self.model_config().to_dict(),
            "scaler": self.scaler.to_dict(),
            "window": self.window,
            "relative": self.relative,
        }


@torch.no_grad()
def forecast_from(
    model: Forecaster,
    scaler: Scaler,
    scaled: np.ndarray,
    origins: np.ndarray,
    window: int,
    relative: bool,
    steps: int | None = None,
) -> np.ndarray:
    """The model's forecasts from ``origins`` of the scaled series, in the series' units."""
    was_training = model.training
    model.eval()
    try:
        shift = anchors(scaled, origins, relative)[:, None]  # (N, 1)
        inputs = torch.from_numpy(
            (input_windows(scaled, origins, window) - shift).astype(np.float32)
        )
        predictions = model.forecast(inputs, steps).double().numpy() + shift
    finally:
        model.train(was_training)
    return scaler.unscale(predictions)


# -- the data, as recorded in config.json and series.json --------------------------------------


def series_fingerprint(series: Series) -> str:
    """sha256 over the values, the time labels and the period."""
    digest = hashlib.sha256(np.ascontiguousarray(series.values, dtype=np.float64).tobytes())
    digest.update(json.dumps([series.times, series.period]).encode("utf-8"))
    return digest.hexdigest()


def data_record(dataset: str, series: Series, task: ForecastTask) -> dict:
    path = Path(dataset)
    split = task.split
    labels = series.times or [str(i) for i in range(len(series.values))]
    return {
        "dataset": str(path.resolve()) if path.is_file() else dataset,
        "name": series.name,
        "points": len(series.values),
        "period": series.period,
        "step": series.step,
        "sizes": split.sizes(),
        "test_starts_at": labels[split.test_start],
        "val_starts_at": labels[split.val_start],
        "fingerprint": series_fingerprint(series),
        "card": series.card,
    }


def save_series(path: Path, series: Series) -> None:
    layout.write_json(
        path,
        {
            "name": series.name,
            "values": [float(v) for v in series.values],
            "times": series.times,
            "period": series.period,
            "step": series.step,
        },
    )


def read_series(run_dir: Path, record: dict) -> Series:
    """The series a run was trained on, from its ``series.json``, checked."""
    values = layout.read_json(run_dir / SERIES)
    series = Series(
        values["name"],
        np.array(values["values"], dtype=np.float64),
        values["times"],
        int(values["period"]),
        values["step"],
        record.get("card", {}),
    )
    if series_fingerprint(series) != record["fingerprint"]:
        raise ValueError(f"{run_dir / SERIES} is not the series this run was trained on")
    return series


# -- baselines ----------------------------------------------------------------------------------


def compute_baselines(task: ForecastTask, part: str = "test") -> dict:
    """Naive, seasonal naive and (if configured) ARIMA forecasts from the origins of ``part``,
    their MAE / RMSE in the series' units, and the forecasts (JSON-ready)."""
    values, origins, horizon = task.series.values, task.origins(part), task.horizon
    truth = task.truth(part)
    forecasts = {
        "naive": naive_forecasts(values, origins, horizon),
        "seasonal_naive": seasonal_naive_forecasts(values, origins, horizon, task.series.period),
    }
    details = {"seasonal_naive": {"period": task.series.period}}
    b = task.config.baselines
    if b.arima:
        arima = arima_forecasts(
            values,
            origins,
            horizon,
            b.arima_order,
            b.arima_seasonal_order,
            b.arima_log,
            fit_end=task.split.bounds(part)[0],
        )
        forecasts["arima"] = arima.forecasts
        details["arima"] = arima.details()
    result = {"part": part, "origins": len(origins), "horizon": horizon}
    for method, predicted in forecasts.items():
        scores = forecast_errors(predicted, truth)
        result[f"baseline_{method}_mae"] = scores["mae"]
        result[f"baseline_{method}_rmse"] = scores["rmse"]
        result[method] = {
            **details.get(method, {}),
            **scores,
            "forecasts": predicted.tolist(),
        }
    return result


def baseline_figures(baselines: dict) -> dict:
    """The ``baseline_*`` numbers of ``baselines.json``, for summaries."""
    return {k: v for k, v in baselines.items() if k.startswith("baseline_")}


# -- train and resume ---------------------------------------------------------------------------


@dataclass
class ForecastResult:
    """How a run ended, its test scores with the best checkpoint, and the baselines'."""

    train: TrainResult
    test: dict
    baselines: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)

    def summary(self) -> dict:
        result = self.train
        return {
            "task": TASK_NAME,
            "run_dir": str(result.run_dir),
            "data": self.record.get("name"),
            "steps": result.steps,
            "stop_reason": result.stop_reason,
            "best_step": result.best_step,
            "best_val_mae": result.best_metric,
            "test_mae": self.test.get("mae"),
            "test_rmse": self.test.get("rmse"),
            "test_origins": self.test.get("origins"),
            "test_horizon": self.test.get("horizon"),
            "test_starts_at": self.record.get("test_starts_at"),
            **baseline_figures(self.baselines),
            "plot": self.test.get("plot"),
            "train_seconds": result.train_seconds,
            "elapsed_s": result.elapsed,
            "clip_fraction": result.clip_fraction,
        }


def train(
    config: ForecastConfig,
    run_dir: str | Path | None = None,
    *,
    series: Series | None = None,
    reporter: Reporter | None = None,
    callbacks: Iterable[Callable[[Trainer], None]] = (),
) -> ForecastResult:
    """Train a forecaster into ``run_dir`` (default ``runs/forecast-<dataset>-<time>``).

    ``series`` replaces loading ``config.data.dataset``. The data, the model and the
    baselines are done before the run directory is made.
    """
    config.validate()
    d = config.data
    series = series if series is not None else load_series(d.dataset, period=d.period)
    task = ForecastTask(config, series)
    seed_everything(config.trainer.seed)
    model = task.build_model()
    baselines = {}
    if config.baselines.enabled:
        runs.say(reporter, "computing the baselines on the test part")
        baselines = compute_baselines(task, "test")
    run_dir = layout.create_run_dir(
        run_dir or layout.default_run_dir(f"{TASK_NAME}-{runs.slug(series.name)}")
    )
    record = data_record(d.dataset, series, task)
    layout.write_json(
        run_dir / layout.CONFIG,
        {
            "task": TASK_NAME,
            "data": record,
            "scaler": task.scaler.to_dict(),
            "config": config.to_dict(),
        },
    )
    save_series(run_dir / SERIES, series)
    layout.write_json(run_dir / BASELINES, baselines)
    trainer = runs.make_trainer(task, model, run_dir, config, reporter, callbacks)
    trainer.reporter.message(describe(task, model, run_dir, baselines))
    return _finish(trainer, task, baselines, record)


def resume(
    run_dir: str | Path,
    *,
    max_steps: int | None = None,
    time_budget: float | None = None,
    reporter: Reporter | None = None,
    callbacks: Iterable[Callable[[Trainer], None]] = (),
) -> ForecastResult:
    """Continue a forecasting run from its last checkpoint (see ``runs.resume_trainer``)."""

    def rebuild(run_dir: Path, record: dict, config: ForecastConfig) -> ForecastTask:
        return ForecastTask(config, read_series(run_dir, record["data"]))

    trainer = runs.resume_trainer(
        run_dir,
        TASK_NAME,
        ForecastConfig,
        rebuild,
        max_steps=max_steps,
        time_budget=time_budget,
        reporter=reporter,
        callbacks=callbacks,
    )
    return _finish(
        trainer,
        trainer.task,
        runs.read_baselines(trainer.run_dir, BASELINES),
        layout.read_json(trainer.run_dir / layout.CONFIG)["data"],
    )


def read_run_config(run_dir: str | Path) -> tuple[Path, dict, ForecastConfig]:
    """``(run_dir, config.json's record, the ForecastConfig)`` of a forecasting run."""
    return runs.read_run_config(run_dir, TASK_NAME, ForecastConfig)


def describe(task: ForecastTask, model, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, task.split.sizes()
    parameters = sum(p.numel() for p in model.parameters())
    text = (
        f"run {run_dir}: {task.series.name}, {task.split.n} points, "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test; window "
        f"{task.window} -> {task.horizon} steps; {m.num_layers}x{m.hidden_size} {m.cell}, "
        f"{m.mode}, {parameters / 1e3:.1f}k parameters"
    )
    if baselines:
        names = [m for m in METHODS if f"baseline_{m}_mae" in baselines]
        text += "; test MAE " + ", ".join(
            f"{m.replace('_', ' ')} {baselines[f'baseline_{m}_mae']:.4g}" for m in names
        )
    return text


def _finish(trainer: Trainer, task: ForecastTask, baselines: dict, record: dict):
    """Fit, then score the best checkpoint on the test part and draw the forecasts."""
    result = trainer.fit()
    test = {}
    with trainer.run_threads():
        if runs.load_best(trainer):
            test = task.score(trainer.model, "test")
            from rnnkit.evaluation.forecasting import plot_test_forecasts

            test["plot"] = str(
                plot_test_forecasts(
                    task.series,
                    task.split.test_start,
                    task.origins("test"),
                    task.truth("test"),
                    _test_forecasts(trainer.model, task, baselines),
                    trainer.run_dir / TEST_PLOT,
                )
            )
    return ForecastResult(result, test, baselines, record)


def _test_forecasts(model: Forecaster, task: ForecastTask, baselines: dict) -> dict:
    forecasts = {"RNN": task.forecasts(model, task.origins("test"))}
    for method in METHODS:
        if method in baselines:
            forecasts[method.replace("_", " ")] = np.array(baselines[method]["forecasts"])
    return forecasts
