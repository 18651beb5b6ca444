"""The forecasting task end to end on a small fixture series: baselines, leakage, resume,
forecasts past the end, evaluation."""

import json

import numpy as np
import pytest
import torch

from rnnkit.baselines.forecasting import arima_forecasts
from rnnkit.data.series import load_series
from rnnkit.data.series_windows import Scaler
from rnnkit.tasks import lifecycle
from rnnkit.tasks.forecast import ForecastTask, forecast_run, prepare, resume, train
from rnnkit.tasks.forecast_config import resolve_config, size_flags
from rnnkit.training.checkpoint import load_checkpoint
from tests.tasks.forecast_fixtures import tiny_config, write_series_csv


@pytest.fixture
def csv_path(tmp_path):
    return write_series_csv(tmp_path / "series.csv")


def values_of(csv_path):
    return load_series(str(csv_path)).values


def test_train_scores_the_best_checkpoint_beside_hand_baselines(csv_path, tmp_path):
    result = train(tiny_config(csv_path), tmp_path / "run")
    summary = result.summary()
    y = values_of(csv_path)
    origins = np.arange(84, 96 - 4 + 1)  # test: the last 12 points, horizon 4
    truth = np.array([y[t : t + 4] for t in origins])
    naive = np.array([[y[t - 1]] * 4 for t in origins])
    seasonal = np.array([[y[t + h - 12] for h in range(4)] for t in origins])
    assert summary["test_origins"] == len(origins) == 9
    assert summary["test_starts_at"] == "2007-01"
    assert summary["baseline_naive_mae"] == pytest.approx(np.abs(naive - truth).mean())
    assert summary["baseline_seasonal_naive_rmse"] == pytest.approx(
        np.sqrt(((seasonal - truth) ** 2).mean())
    )
    assert "baseline_arima_mae" not in summary
    assert summary["steps"] == 12 and summary["best_step"] in (4, 8, 12)
    evaluated = lifecycle.evaluate(tmp_path / "run")
    assert evaluated["mae"] == pytest.approx(summary["test_mae"])
    assert evaluated["table"]["naive"]["mae"] == pytest.approx(summary["baseline_naive_mae"])
    for name in ("config.json", "series.json", "baselines.json", "plots/forecast-test.png"):
        assert (tmp_path / "run" / name).is_file()
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["data"]["sizes"] == {"train": 72, "val": 12, "test": 12}


def test_scaler_and_training_batches_see_the_training_part_only(csv_path):
    config = tiny_config(csv_path)
    series = load_series(str(csv_path))
    task = ForecastTask(config, series)
    assert task.scaler == Scaler.fit(series.values[:72])
    changed = load_series(str(csv_path))
    changed.values[72:] += 1000.0  # validation and test values
    other = ForecastTask(config, changed)
    assert other.scaler == task.scaler
    for (a_in, a_out), (b_in, b_out), _ in zip(
        task.train_batches(0), other.train_batches(0), range(5), strict=False
    ):
        torch.testing.assert_close(a_in, b_in)
        torch.testing.assert_close(a_out, b_out)


def test_a_forecast_reads_only_values_before_its_origin(csv_path):
    config = tiny_config(csv_path, **{"model.mode": "recursive"})
    series = load_series(str(csv_path))
    task = ForecastTask(config, series)
    model = task.build_model()
    before = task.forecasts(model, np.array([86]))
    series.values[86:] = -50.0
    task.scaled = task.scaler.scale(series.values)
    torch.testing.assert_close(
        torch.from_numpy(task.forecasts(model, np.array([86]))), torch.from_numpy(before)
    )


def test_resume_continues_exactly(csv_path, tmp_path):
    constant = {"schedule.name": "constant"}  # cosine would follow each run's own length
    train(tiny_config(csv_path, **constant), tmp_path / "whole")
    train(tiny_config(csv_path, **constant, **{"trainer.max_steps": 6}), tmp_path / "half")
    resumed = resume(tmp_path / "half", max_steps=12)
    assert resumed.train.steps == 12
    whole = load_checkpoint(tmp_path / "whole" / "checkpoints", "last").section("model")
    half = load_checkpoint(tmp_path / "half" / "checkpoints", "last").section("model")
    for name, tensor in whole.items():
        torch.testing.assert_close(half[name], tensor, rtol=0, atol=0)


def test_forecast_past_the_end_by_hand(csv_path, tmp_path):
    train(tiny_config(csv_path, **{"model.mode": "direct"}), tmp_path / "run")
    result = forecast_run(tmp_path / "run", steps=6)
    assert result["labels"] == [f"2008-{m:02d}" for m in range(1, 7)]
    assert result["how"] == "iterated in blocks of 4"
    task, model = lifecycle.reopen_model(lifecycle.open_checkpoint(tmp_path / "run"))
    z = task.scaler.scale(task.series.values)
    window = torch.tensor(z[-12:] - z[-1], dtype=torch.float32)[None]
    with torch.no_grad():
        first = model(window)[0][0].double().numpy() + z[-1]
    np.testing.assert_allclose(result["values"][:4], task.scaler.unscale(first), rtol=1e-6)
    assert (tmp_path / "run" / "plots" / "forecast-future.png").is_file()


def test_recursive_run_with_arima_baseline(csv_path, tmp_path):
    config = tiny_config(
        csv_path,
        **{
            "model.mode": "recursive",
            "model.cell": "gru",
            "baselines.arima": True,
            "baselines.arima_order": (1, 1, 0),
            "baselines.arima_seasonal_order": (0, 0, 0, 0),
            "trainer.max_steps": 4,
        },
    )
    summary = train(config, tmp_path / "run").summary()
    y = values_of(csv_path)
    expected = arima_forecasts(y, np.arange(84, 93), 4, (1, 1, 0), fit_end=84)
    truth = np.array([y[t : t + 4] for t in range(84, 93)])
    assert summary["baseline_arima_mae"] == pytest.approx(np.abs(expected.forecasts - truth).mean())
    assert summary["test_mae"] is not None
    assert forecast_run(tmp_path / "run", steps=7)["how"] == "fed back one step at a time"


def test_defaults_by_data_set_and_for_files():
    airline = resolve_config({"data.dataset": "airline"})
    assert (airline.data.window, airline.data.horizon, airline.data.transform) == (24, 12, "log")
    assert airline.baselines.arima_seasonal_order == (0, 1, 1, 12)
    sunspots = resolve_config({"data.dataset": "sunspots", "data.horizon": 5})
    assert sunspots.data.horizon == 5 and sunspots.baselines.arima_order == (9, 0, 0)
    weekly = resolve_config({"data.dataset": "my.csv", "data.period": 7})
    assert weekly.data.horizon == 7 and weekly.baselines.arima_seasonal_order == (0, 1, 1, 7)
    plain = resolve_config({"data.dataset": "my.csv"})
    assert plain.data.horizon == 12 and plain.baselines.arima_order == (1, 1, 1)
    with pytest.raises(ValueError, match="unknown mode"):
        resolve_config({"model.mode": "sideways"})


def test_size_flags_name_the_options_the_user_set():
    def flags(**overrides):
        return size_flags(resolve_config({f"data.{k}": v for k, v in overrides.items()}))

    assert flags(dataset="airline") == {} and flags(dataset="my.csv") == {}
    assert flags(dataset="airline", window=30) == {"window": "--window"}
    assert flags(dataset="my.csv", val_size=9, test_size=9) == {
        "val_size": "--val-size",
        "test_size": "--test-size",
    }
    assert flags(dataset="my.csv", period=7) == {"horizon": "--period"}  # the horizon is 7
    assert flags(dataset="my.csv", period=7, horizon=3) == {"horizon": "--horizon"}
    assert flags(dataset="sunspots", period=7) == {}  # a named set's horizon is its own


@pytest.mark.parametrize(
    ("option", "flag", "largest"),
    [
        # 96 points: 14 test (15 %), window 24, horizon 12 leave 46 for validation
        ("val_size", "--val-size", 46),
        # the period is the horizon, each part at least one: 3 * 24 + 24 = 96
        ("period", "--period", 24),
    ],
)
def test_a_task_too_long_for_its_series_names_the_option_and_what_fits(
    csv_path, option, flag, largest
):
    def task(value):
        return prepare(
            resolve_config({"data.dataset": str(csv_path), f"data.{option}": value}), None
        )

    with pytest.raises(ValueError) as error:
        task(1000)
    message = str(error.value)
    assert message.startswith("the series has 96 points, too few for ")
    assert f"; the largest {flag} that fits is {largest}" in message
    assert "--window" not in message and "--horizon" not in message
    assert task(largest).split.val_start >= 24 + 12
    with pytest.raises(ValueError):
        task(largest + 1)
