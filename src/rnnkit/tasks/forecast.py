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
from rnnkit.tasks import lifecycle
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
from rnnkit.tasks.lifecycle import slug
from rnnkit.tasks.spec import RunResult, TaskSpec, baseline_figures, parameter_count
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer

TASK_NAME = "forecast"
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


# -- train and resume ---------------------------------------------------------------------------


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: ForecastConfig, series: Series | None) -> ForecastTask:
    """The task on ``series`` (default: the config's data set)."""
    d = config.data
    series = series if series is not None else load_series(d.dataset, period=d.period)
    return ForecastTask(config, series)


def reopen(run_dir: Path, record: dict, config: ForecastConfig) -> ForecastTask:
    return ForecastTask(config, read_series(run_dir, record["data"]))


def record(task: ForecastTask) -> dict:
    return {
        "data": data_record(task.config.data.dataset, task.series, task),
        "scaler": task.scaler.to_dict(),
    }


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
    from rnnkit.plots.forecasts import plot_test_forecasts

    test = task.score(trainer.model, "test")
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
    return test


def summary(result: RunResult) -> dict:
    train, test, data = result.train, result.test, result.record.get("data", {})
    return {
        "task": TASK_NAME,
        "run_dir": str(train.run_dir),
        "data": data.get("name"),
        "steps": train.steps,
        "stop_reason": train.stop_reason,
        "best_step": train.best_step,
        "best_val_mae": train.best_metric,
        "test_mae": test.get("mae"),
        "test_rmse": test.get("rmse"),
        "test_origins": test.get("origins"),
        "test_horizon": test.get("horizon"),
        "test_starts_at": data.get("test_starts_at"),
        **baseline_figures(result.baselines),
        "plot": test.get("plot"),
        "train_seconds": train.train_seconds,
        "elapsed_s": train.elapsed,
        "clip_fraction": train.clip_fraction,
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="forecaster of a real-valued series: sunspots, co2, airline or a CSV",
    config_class=ForecastConfig,
    prepare=prepare,
    reopen=reopen,
    record=record,
    save=lambda task, run_dir: save_series(run_dir / SERIES, task.series),
    run_name=lambda task: slug(task.series.name),
    baselines=lambda task: compute_baselines(task, "test"),
    baselines_note="computing the baselines on the test part",
    describe=describe,
    score_test=score_test,
    summary=summary,
)


def train(config: ForecastConfig, run_dir=None, **options) -> RunResult:
    """Train a forecaster into ``run_dir`` (default ``runs/forecast-<dataset>-<time>``);
    ``lifecycle.train``'s options (``data=``, a ``Series``, replaces loading the config's)."""
    return lifecycle.train(SPEC, config, run_dir, **options)


def resume(run_dir, **options) -> RunResult:
    """Continue a forecasting run from its last checkpoint (``lifecycle.resume``)."""
    return lifecycle.resume(run_dir, task=TASK_NAME, **options)


def _test_forecasts(model: Forecaster, task: ForecastTask, baselines: dict) -> dict:
    forecasts = {"RNN": task.forecasts(model, task.origins("test"))}
    for method in METHODS:
        if method in baselines:
            forecasts[method.replace("_", " ")] = np.array(baselines[method]["forecasts"])
    return forecasts
