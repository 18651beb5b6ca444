"""The studio's later views through the test client, on copies of the old-run fixtures: a
forecasting run's Predict, ``--device``, against the library calls they show."""

from __future__ import annotations

import shutil
import socket
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


def test_serve_says_a_port_in_use_before_printing_its_address(runs, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["serve", "--runs-dir", str(runs), "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "rnnkit studio: http" not in out  # it printed the address, then exited 3
    assert f"cannot listen on 127.0.0.1:{port}" in err and "choose another --port" in err


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
        ("neurons", "tag", {"text": "Ann met Bob in Oslo .", "layer": 1}),
        ("gradients", "tag", {"text": "Ann met Bob in Oslo .", "loss": "sum"}),
        ("gradients", "seq2seq", {"text": "in the beginning god created"}),
        ("gradients", "forecast", {}),
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
        assert a == pytest.approx(b, rel=1e-3, abs=1e-3)
    else:
        assert a == b


def hand_lstm(x: torch.Tensor, weights: dict, suffix: str = "", reverse: bool = False):
    """torch.nn.LSTMCell over x (T, D) with a layer's weights: each step's (h, c), (1, H)."""
    w_hh = weights[f"weight_hh_l0{suffix}"]
    cell = torch.nn.LSTMCell(x.shape[1], w_hh.shape[1])
    cell.load_state_dict({k: weights[f"{k}_l0{suffix}"] for k in cell.state_dict()})
    state, states = None, [None] * len(x)
    for t in reversed(range(len(x))) if reverse else range(len(x)):
        state = cell(x[t : t + 1], state)
        states[t] = state
    return states


def step_norms(loss: torch.Tensor, states: list) -> dict:
    """||dL/dh_t|| and ||dL/dc_t|| for each step of a hand loop."""
    grads = torch.autograd.grad(loss, [s for pair in states for s in pair], retain_graph=True)
    return {
        "h": [float(g.norm()) for g in grads[0::2]],
        "c": [float(g.norm()) for g in grads[1::2]],
    }


def test_neurons_and_gradients_of_a_bidirectional_tagger_are_a_hand_loops(client, runs):
    from rnnkit.tasks.tag_runs import load_run

    text = "Ann Smith met Bob in Oslo ."
    run = load_run(runs / "tag")
    weights = run.model.recurrent.state_dict()
    x = run.model.embedding(torch.from_numpy(run.encoder.encode(text.split()).words))  # (T, E)
    forward, backward = hand_lstm(x, weights), hand_lstm(x, weights, "_reverse", reverse=True)
    said = client.post("/api/runs/tag/neurons", json={"text": text, "layer": 1, "unit": 5})
    result = said.json()
    assert result["cells"] == ["layer 0 forward", "layer 0 backward"]
    assert result["pieces"] == text.split() and result["level"] == "word"
    expected = [h[0, 5].item() for h, _ in backward]
    assert result["activation"]["values"] == pytest.approx(expected, abs=1e-4)
    c = client.post("/api/runs/tag/neurons", json={"text": text, "kind": "c", "unit": 2}).json()
    assert c["activation"]["values"] == pytest.approx(
        [s[0, 2].item() for _, s in forward], abs=1e-4
    )
    assert {f["feature"] for f in result["features"]} == {"position", "punctuation", "capital"}
    assert len(result["saturation"]) == 2
    outputs = torch.cat(
        [torch.cat([f[0], b[0]], dim=1) for f, b in zip(forward, backward, strict=True)]
    )
    logits = run.model.head(outputs)  # (T, K)
    for how, chosen in (("sum", slice(None)), ("last", slice(-1, None))):
        loss = torch.nn.functional.cross_entropy(
            logits[chosen], logits.argmax(dim=1)[chosen], reduction="sum"
        )
        flow = client.post("/api/runs/tag/gradients", json={"text": text, "loss": how}).json()
        assert flow["loss"] == pytest.approx(loss.item(), rel=1e-5)
        for cell, states in zip(flow["norms"], (forward, backward), strict=True):
            reference = step_norms(loss, states)
            for part in ("h", "c"):
                assert cell[part] == pytest.approx(reference[part], rel=1e-4, abs=1e-7)


def test_neurons_and_gradients_of_a_word_classifier_are_a_hand_loops(client, runs):
    from rnnkit.tasks.classify_runs import load_run

    text = "a fine , moving film ( really ) ."
    run = load_run(runs / "classify")
    ids = torch.from_numpy(run.encoder.encode(text))
    states = hand_lstm(run.model.embedding(ids), run.model.recurrent.state_dict())
    said = client.post("/api/runs/classify/neurons", json={"text": text, "unit": 3}).json()
    assert said["pieces"] == run.encoder.tokens(text) and said["cells"] == ["layer 0"]
    assert said["activation"]["values"] == pytest.approx(
        [h[0, 3].item() for h, _ in states], abs=1e-4
    )
    assert {"brackets", "punctuation", "position"} <= {f["feature"] for f in said["features"]}
    logits = run.model.head(states[-1][0])  # pooling "last"
    loss = torch.nn.functional.cross_entropy(logits, logits.argmax(dim=1), reduction="sum")
    flow = client.post("/api/runs/classify/gradients", json={"text": text}).json()
    reference = step_norms(loss, states)
    assert flow["norms"][0]["h"] == pytest.approx(reference["h"], rel=1e-4, abs=1e-7)
    assert flow["norms"][0]["c"] == pytest.approx(reference["c"], rel=1e-4, abs=1e-7)
    assert flow["horizons"][0]["h"] <= len(reference["h"]) - 1


@pytest.mark.parametrize("how", ["last", "sum"])
def test_gradients_of_a_char_model_are_those_of_rnnkit_diagnose(client, runs, how):
    import copy

    from rnnkit.diagnostics.language_model import language_model_loss
    from rnnkit.diagnostics.report import diagnose
    from rnnkit.tasks.charlm_runs import load_run

    text = 'ROMEO:\nBut soft, what "light" (through) yonder window breaks?\n'
    run = load_run(runs / "charlm")
    ids = torch.tensor(run.vocab.encode(text)).unsqueeze(1)
    model = copy.deepcopy(run.model).to(torch.float64)
    diagnosis = diagnose(model, language_model_loss(ids[:-1], ids[1:], how), loss=how)
    flow = client.post("/api/runs/charlm/gradients", json={"text": text, "loss": how}).json()
    assert flow["pieces"] == list(text[:-1])
    for part in ("h", "c"):
        expected = diagnosis.flow.norms[0][part][::-1]  # by step, not by distance back
        assert flow["norms"][0][part] == pytest.approx(expected, rel=1e-3, abs=1e-9)
    assert flow["horizons"][0]["h"] == diagnosis.memory_horizon(0, "h")


def test_gradients_of_a_translation_and_a_forecast_use_the_tasks_own_loss(client, runs):
    from rnnkit.tasks import seq2seq_runs

    text = "in the beginning god created the heaven"
    run = seq2seq_runs.load_run(runs / "seq2seq")
    said = seq2seq_runs.translate(run, text, beam_size=1)
    source = torch.from_numpy(run.vocab.encode_source(text)).unsqueeze(0)
    target = torch.tensor([[run.model.bos_id, *said.ids, run.model.eos_id]])
    with torch.no_grad():
        _, mean = run.model(source, torch.tensor([source.shape[1]]), target)
    flow = client.post("/api/runs/seq2seq/gradients", json={"text": text, "loss": "sum"}).json()
    assert flow["loss"] == pytest.approx(float(mean) * (len(said.ids) + 1), rel=1e-5)
    assert flow["cells"] == ["layer 0 forward", "layer 0 backward"]
    assert all(len(cell["h"]) == source.shape[1] for cell in flow["norms"])
    task, model = lifecycle.reopen_model(lifecycle.open_checkpoint(runs / "forecast"))
    inputs, targets = task.batch(task.origins("test")[-1:])
    with torch.no_grad():
        _, mse = model(inputs, targets)
    flow = client.post("/api/runs/forecast/gradients", json={"loss": "sum"}).json()
    assert flow["task"] == "forecast" and len(flow["pieces"]) == inputs.shape[1]
    assert flow["loss"] == pytest.approx(float(mse) * targets.numel(), rel=1e-5)
    assert flow["pieces"][-1] == task.series.times[int(task.origins("test")[-1]) + task.horizon - 2]


@pytest.mark.parametrize(
    ("view", "run", "body", "message"),
    [
        ("gradients", "charlm", {"text": "abc", "loss": "mean"}, "loss must be last or sum"),
        ("gradients", "charlm", {"text": "a"}, "give at least 2 characters"),
        ("gradients", "charlm", {"text": "a" * 1002}, "at most 1000"),
        ("gradients", "tag", {"text": "   "}, "give at least one word"),
        ("gradients", "classify", {}, 'give some text to trace as {"text": "..."}'),
        ("neurons", "forecast", {"text": "x"}, "needs a charlm, classify, tag, seq2seq or caption"),
        ("neurons", "seq2seq", {"text": "the", "layer": 2}, "layer must be in 0..1"),
    ],
)
def test_the_inside_views_refuse_bad_requests(client, view, run, body, message):
    response = client.post(f"/api/runs/{run}/{view}", json=body)
    assert response.status_code == 400 and message in response.json()["error"]
