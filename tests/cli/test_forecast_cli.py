"""``rnnkit train forecast``, ``rnnkit forecast``, ``rnnkit evaluate`` and ``--resume`` on a
small fixture series, at tiny settings."""

import json
from pathlib import Path

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
    gap = tmp_path / "gap.csv"  # two halves with a blank line between: not one series
    gap.write_text("".join(f"{i}\n" for i in range(30)) + "\n" + "5\n" * 30, encoding="utf-8")
    assert main(["train", "forecast", "--dataset", str(gap), *TINY]) == 2
    assert f"{gap}, line 31: an empty value is not a number" in capsys.readouterr().err
    negative = tmp_path / "neg.csv"  # the log's error named no file
    negative.write_text("".join(f"{i - 3}\n" for i in range(60)), encoding="utf-8")
    assert main(["train", "forecast", "--dataset", str(negative), *TINY, "--transform", "log"]) == 2
    err = capsys.readouterr().err
    assert f"{negative}: transform log needs values > 0, but point 1 of the series is -3" in err
    series = out.parent / "series.csv"  # 96 points
    assert main(["train", "forecast", "--dataset", str(series), "--val-size", "1000"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.strip().endswith("the largest --val-size that fits is 46")
    assert main(["train", "forecast", "--dataset", str(series), "--period", "1000"]) == 2
    err = capsys.readouterr().err
    assert "the largest --period that fits is 24 (it sets the horizon)" in err
    assert main(["train", "forecast", "--resume", str(out), "--cell", "gru"]) == 2
    assert "--resume continues a run" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--data", "x.txt"]) == 2
    assert main(["evaluate", str(out), "--split", "train"]) == 2
    assert "a forecasting run has: val, test" in capsys.readouterr().err
    assert main(["train", "forecast"]) == 2


def test_plot_paths_that_would_lose_a_file_are_refused(run, tmp_path, capsys):
    """A folder, a file that is not a PNG, a suffix that is not a figure's: one line, exit 2,
    the file as it was; a plot drawn again over its own PNG, and an .svg as SVG, are fine."""
    out, _ = run
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"keep me\n")
    folder = tmp_path / "adir"
    folder.mkdir()
    for plot, words in [
        (folder, f"--plot {folder} is a folder; give a file name in it"),
        (notes, f"--plot {notes} exists and is not a PNG figure; rnnkit replaces only a PNG"),
        (tmp_path / "out.jpg", "allowed: .png, .svg, .pdf (got '.jpg')"),
        (tmp_path / "none" / "f.png", f"its folder {tmp_path / 'none'} does not exist"),
        (notes / "f.png", f"cannot be written: {notes} is not a folder"),
    ]:
        assert main(["forecast", str(out), "--plot", str(plot)]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    assert notes.read_bytes() == b"keep me\n" and list(folder.iterdir()) == []
    for name, magic in [("f.png", b"\x89PNG"), ("f.png", b"\x89PNG"), ("f.svg", b"<?xml")]:
        assert main(["forecast", str(out), "--plot", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(magic)
    capsys.readouterr()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_unwritable_plot_names_the_path_given(run, capsys):
    out, _ = run
    assert main(["forecast", str(out), "--plot", "/proc/rnnkit-forecast.png"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnkit forecast: error: cannot write /proc/rnnkit-forecast.png: ")
    assert ".tmp" not in err and "Errno" not in err and len(err.splitlines()) == 1
