"""The studio's later views through the test client, on copies of the old-run fixtures: a
forecasting run's Predict, ``--device``, against the library calls they show."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from rnnkit.cli.main import main
from rnnkit.serve.app import create_app
from rnnkit.serve.runs import RunIndex
from rnnkit.tasks import lifecycle
from rnnkit.tasks.forecast import compute_baselines, forecast_run

FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"
TASKS = ("charlm", "classify", "seq2seq", "tag", "forecast")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for task in TASKS:
        shutil.copytree(FIXTURES / task, root / task)
    return root


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(RunIndex.find(runs_dir=runs)))


def test_predict_forecasts_against_the_series_and_the_baselines(client, runs, tmp_path):
    said = client.post("/api/runs/forecast/predict", json={"steps": 6}).json()
    task, model = lifecycle.reopen_model(lifecycle.open_checkpoint(runs / "forecast"))
    horizon, origins = task.horizon, task.origins("test")
    assert said["task"] == "forecast" and said["part"] == "test" and said["horizon"] == horizon
    assert said["origins"] == origins[::horizon].tolist()
    rnn = task.forecasts(model, origins)
    np.testing.assert_allclose(said["forecasts"]["RNN"], rnn[::horizon], atol=1e-5)
    stored = lifecycle.read_baselines(runs / "forecast")  # the run's baselines.json
    np.testing.assert_allclose(
        said["forecasts"]["naive"], np.array(stored["naive"]["forecasts"])[::horizon]
    )
    assert said["table"]["naive"]["mae"] == pytest.approx(stored["naive"]["mae"])
    truth = task.truth("test")
    assert said["table"]["RNN"]["mae"] == pytest.approx(np.abs(rnn - truth).mean())
    values = task.series.values
    assert said["values"] == pytest.approx(values[said["first"] :].tolist(), abs=1e-6)
    assert said["start"] == task.split.test_start
    future = forecast_run(runs / "forecast", 6, plot=tmp_path / "future.png")
    assert said["future"]["labels"] == future["labels"]
    assert said["future"]["values"] == pytest.approx(future["values"], abs=1e-5)


def test_predict_forecasts_the_validation_part_with_its_baselines(client, runs):
    said = client.post("/api/runs/forecast/predict", json={"part": "val"}).json()
    task, _ = lifecycle.reopen_model(lifecycle.open_checkpoint(runs / "forecast"))
    expected = compute_baselines(task, "val")
    shown = np.array(expected["seasonal_naive"]["forecasts"])[:: task.horizon]
    np.testing.assert_allclose(said["forecasts"]["seasonal naive"], shown)
    assert said["start"] == task.split.val_start
    assert len(said["future"]["values"]) == task.horizon


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"part": "train"}, "part must be val or test, got 'train'"),
        ({"steps": 0}, "steps must be an integer in 1..500"),
        ({"steps": 501}, "steps must be an integer in 1..500"),
        ({"steps": "3"}, "steps must be an integer in 1..500"),
    ],
)
def test_predict_refuses_a_bad_forecast_request(client, body, message):
    response = client.post("/api/runs/forecast/predict", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_forecast_runs_have_no_write_view(client):
    response = client.get("/api/runs/forecast/write")
    assert response.status_code == 400
    assert response.json()["error"] == "this view needs a charlm run; forecast is a forecast run"


def test_serve_refuses_a_device_the_machine_lacks(runs, capsys):
    missing = f"cuda:{torch.cuda.device_count() + 3}"
    assert main(["serve", "--runs-dir", str(runs), "--device", missing]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"rnnkit serve: error: device {missing} is not available")
    assert "\n" not in error
    assert main(["serve", "--runs-dir", str(runs), "--device", "gpu"]) == 2
    assert "unknown device 'gpu'; allowed: auto|cpu|cuda|cuda:N|mps" in capsys.readouterr().err
    with pytest.raises(ValueError, match="is not available"):
        create_app(RunIndex.find(runs_dir=runs), missing)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_studio_on_cuda_says_what_the_cpu_studio_says(runs):
    cpu = TestClient(create_app(RunIndex.find(runs_dir=runs), "cpu"))
    cuda = TestClient(create_app(RunIndex.find(runs_dir=runs), "cuda"))
    model = cuda.app.state.studio.run("charlm", "charlm").model
    assert next(model.parameters()).device.type == "cuda"
    write = {"prime": "ROMEO:", "length": 30, "seed": 3}
    texts = [c.get("/api/runs/charlm/write", params=write).text for c in (cpu, cuda)]
    assert texts[0].count("data:") == texts[1].count("data:")
    requests = [
        ("neurons", "charlm", {"text": 'ROMEO: "soft" (light)', "kind": "c", "unit": 2}),
        ("predict", "classify", {"text": "Nakamura"}),
        ("predict", "forecast", {"steps": 5}),
    ]
    for view, run, body in requests:
        on_cpu, on_cuda = (c.post(f"/api/runs/{run}/{view}", json=body) for c in (cpu, cuda))
        assert on_cuda.status_code == 200, on_cuda.text
        _close(on_cpu.json(), on_cuda.json())


def _close(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _close(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _close(x, y)
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-3)
    else:
        assert a == b
