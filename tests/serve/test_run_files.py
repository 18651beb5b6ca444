"""The studio reading runs whose files change under it: a run still training (a newer best
saved between two reads, a checkpoint's JSON caught between the trainer's two writes), a run
that lacks a file, a run whose folder has gone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rnnkit.serve import tracing
from rnnkit.serve.app import create_app
from rnnkit.serve.runs import RunIndex

FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for task in ("charlm", "seq2seq", "tag"):
        shutil.copytree(FIXTURES / task, root / task)
    return root


def test_a_request_records_the_model_it_read_with(runs, monkeypatch):
    """Neurons and Gradients loaded the run twice a request: the text was read by the first
    model and the second recorded, which never ran when a newer best checkpoint came between
    (a 400, 'the model never ran its recurrent layer inside record_steps'). Here every load
    is a new model, as if each one came after a new best."""
    app = create_app(RunIndex.find(runs_dir=runs))
    studio, loads = app.state.studio, []
    real = studio.run

    def newer_each_time(run_id, *tasks):
        loads.append(real(run_id, *tasks))
        studio.loaded.pop(run_id)  # the next question opens the run anew
        return loads[-1]

    traces, real_trace = [], tracing.trace

    def counted(*given):
        traces.append(real_trace(*given))
        return traces[-1]

    monkeypatch.setattr(studio, "run", newer_each_time)
    monkeypatch.setattr(tracing, "trace", counted)
    client = TestClient(app)
    for view in ("neurons", "gradients"):
        answer = client.post(f"/api/runs/charlm/{view}", json={"text": "ROMEO: to be"})
        assert answer.status_code == 200, answer.text
    assert len(loads) == 2  # once a request
    again = client.post("/api/runs/charlm/neurons", json={"text": "ROMEO: to be"})
    assert again.status_code == 200 and len(loads) == 3
    assert len(traces) == 2  # traced anew: not the trace kept for the model replaced since


def test_the_studio_never_rewrites_a_checkpoint_json_it_finds_older(runs):
    """A trainer writes best.safetensors, then best.json: the studio, loading between the
    two, rewrote best.json from the checkpoint it had read (a reader writing into a run
    another process trains). It now uses the checkpoint's own metadata and writes nothing."""
    sidecar = runs / "charlm" / "checkpoints" / "best.json"
    older = {**json.loads(sidecar.read_text()), "save_id": "an older save"}
    sidecar.write_text(json.dumps(older))
    before = (sidecar.read_bytes(), sidecar.stat().st_mtime_ns)
    client = TestClient(create_app(RunIndex.find(runs_dir=runs)))
    answer = client.post("/api/runs/charlm/neurons", json={"text": "ROMEO:"})
    assert answer.status_code == 200, answer.text
    assert (sidecar.read_bytes(), sidecar.stat().st_mtime_ns) == before


@pytest.mark.parametrize(
    "run, missing, ask",
    [
        ("charlm", "vocab.json", ("get", "write?length=3", None)),
        ("charlm", "vocab.json", ("post", "neurons", {"text": "ROMEO:"})),
        ("charlm", "vocab.json", ("post", "gradients", {"text": "ROMEO:"})),
        ("charlm", "vocab.json", ("get", "validation", None)),
        ("tag", "vocab.json", ("post", "predict", {"text": "I met Ann"})),
        ("seq2seq", "vocab-target.json", ("post", "predict", {"text": "a b"})),
    ],
)
def test_a_run_that_lacks_a_file_is_a_4xx_naming_it(runs, run, missing, ask):
    """A run without its vocabulary was a 500 with a FileNotFoundError in the log."""
    (runs / run / missing).unlink()
    client = TestClient(create_app(RunIndex.find(runs_dir=runs)), raise_server_exceptions=False)
    method, view, body = ask
    answer = getattr(client, method)(f"/api/runs/{run}/{view}", **({"json": body} if body else {}))
    assert answer.status_code == 409, answer.text
    said = answer.json()["error"]
    assert said.startswith(f"run {run} cannot be opened: ") and said.endswith(
        f"{missing} is missing"
    )


def test_an_os_error_outside_loading_a_run_is_still_a_server_error(runs, monkeypatch):
    """Only loading a run maps an OSError to a 4xx: one anywhere else is the server's bug."""

    def broken(*_):
        raise OSError("a bug in the studio")

    monkeypatch.setattr(tracing, "trace", broken)
    client = TestClient(create_app(RunIndex.find(runs_dir=runs)), raise_server_exceptions=False)
    assert client.post("/api/runs/charlm/neurons", json={"text": "ROMEO:"}).status_code == 500


def test_a_run_whose_folder_has_gone_says_so_in_curves_and_the_list(runs):
    """The curves of a deleted run were a 200 with no records, and the list showed it as an
    'unknown' run; the curves now answer 410 as the other views do, the list marks it gone."""
    client = TestClient(create_app(RunIndex.find(runs_dir=runs)))
    assert client.get("/api/runs/charlm/curves").status_code == 200
    shutil.rmtree(runs / "charlm")
    answer = client.get("/api/runs/charlm/curves")
    assert answer.status_code == 410 and "no longer holds a run" in answer.json()["error"]
    shown = {run["id"]: run for run in client.get("/api/runs").json()["runs"]}
    assert shown["charlm"]["gone"] is True and shown["tag"]["gone"] is False
