"""``rnnkit train forecast``, ``rnnkit forecast``, ``rnnkit evaluate`` and ``--resume`` on a
small fixture series, at tiny settings."""

import json

import pytest

from rnnkit.cli.main import main
from tests.tasks.forecast_fixtures import write_series_csv

TINY = [
    "--period", "12", "--window", "12", "--horizon", "4", "--val-size", "12",
    "--test-size", "12", "--batch-size", "8", "--hidden-size", "8", "--max-steps", "8",
    "--eval-every", "4", "--no-arima",
]  # fmt: skip


@pytest.fixture
def run(tmp_path, capsys):
    """A finished tiny run; returns its directory and the --json summary."""
    csv_path = write_series_csv(tmp_path / "series.csv")
    out = tmp_path / "run"
    code = main(
        ["train", "forecast", "--dataset", str(csv_path), *TINY, "--out", str(out), "--json"]
    )
    assert code == 0
    return out, json.loads(capsys.readouterr().out)


def test_train_prints_the_summary_with_baselines(run):
    out, summary = run
    assert summary["task"] == "forecast" and summary["steps"] == 8
    for key in ("test_mae", "test_rmse", "baseline_naive_mae", "baseline_naive_rmse",
                "baseline_seasonal_naive_mae", "baseline_seasonal_naive_rmse"):  # fmt: skip
        assert isinstance(summary[key], float)
    assert summary["test_horizon"] == 4 and summary["test_origins"] == 9
    assert (out / "plots" / "forecast-test.png").is_file()


def test_forecast_command(run, tmp_path, capsys):
    out, _ = run
    plot = tmp_path / "future.png"
    assert main(["forecast", str(out), "--horizon", "12", "--plot", str(plot), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["labels"][0] == "2008-01" and len(result["values"]) == 12
    assert plot.is_file()
    assert main(["forecast", str(out), "--horizon", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("2008-01\t") and lines[3].startswith("2008-03\t")


def test_evaluate_prints_the_table(run, capsys):
    out, summary = run
    assert main(["evaluate", str(out)]) == 0
    text = capsys.readouterr().out
    assert "RNN" in text and "seasonal naive" in text
    assert f"{summary['baseline_naive_mae']:.4f}" in text
    assert main(["evaluate", str(out), "--split", "val", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "val" and set(result["table"]) == {"RNN", "naive", "seasonal_naive"}


def test_resume_continues_the_run(run, capsys):
    out, _ = run
    assert main(["train", "--resume", str(out), "--max-steps", "12", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 12


def test_errors_are_one_line(run, tmp_path, capsys):
    out, _ = run
    bad = tmp_path / "bad.csv"
    bad.write_text("t,v\n1,2\n2,oops\n" + "3,4\n" * 20, encoding="utf-8")
    assert main(["train", "forecast", "--dataset", str(bad), *TINY]) == 2
    assert "line 3: 'oops' is not a number" in capsys.readouterr().err
    assert main(["train", "forecast", "--resume", str(out), "--cell", "gru"]) == 2
    assert "--resume continues a run" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--data", "x.txt"]) == 2
    assert main(["evaluate", str(out), "--split", "train"]) == 2
    assert "a forecasting run has: val, test" in capsys.readouterr().err
    assert main(["train", "forecast"]) == 2
