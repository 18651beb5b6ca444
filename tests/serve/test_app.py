"""The studio's API through the framework's test client, on copies of the old-run fixtures:
every endpoint, the bad requests the page must show, and paths that must not leave the runs."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from rnnkit.generation.sampling import generate
from rnnkit.serve.app import MAX_GENERATIONS, create_app
from rnnkit.serve.runs import RunIndex
from rnnkit.tasks import caption_runs, classify_runs, seq2seq_runs, tag_runs
from rnnkit.tasks.charlm import prime_ids
from rnnkit.tasks.charlm_runs import load_run
from tests.tasks.caption_fixtures import write_shapes_folder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    for task in ("charlm", "classify", "seq2seq", "tag", "caption"):
        shutil.copytree(FIXTURES / task, root / task)
    (root / "notes").mkdir()  # not a run: left out
    (tmp_path / "secret.txt").write_text("not for the page")
    return root


@pytest.fixture
def client(runs):
    return TestClient(create_app(RunIndex.find(runs_dir=runs)))


def events(response) -> list[dict]:
    said = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        if "event" not in lines:
            said.append(json.loads(lines["data"]))
    return said


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "rnnkit studio" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from the internet
    for asset in ("studio.js", "studio.css"):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200
        assert "https://" not in response.text and "http://" not in response.text


def test_runs_lists_each_run_with_its_figures(client, runs):
    listed = {run["id"]: run for run in client.get("/api/runs").json()["runs"]}
    assert set(listed) == {"charlm", "classify", "seq2seq", "tag", "caption"}
    charlm = listed["charlm"]
    metrics = [json.loads(line) for line in (runs / "charlm" / "metrics.jsonl").open()]
    best = [r for r in metrics if r.get("best")][-1]
    assert charlm["task"] == "charlm" and charlm["steps"] == 60
    assert charlm["best"] == {k: v for k, v in best.items() if k.startswith("val_")}
    assert charlm["model"]["hidden_size"] == 8


def test_curves_come_in_pieces_as_a_run_writes_them(client, runs):
    first = client.get("/api/runs/charlm/curves").json()
    lines = (runs / "charlm" / "metrics.jsonl").read_text().splitlines()
    assert first["next"] == len(lines) == len(first["records"])
    assert first["records"][0] == {
        "kind": "train",
        "step": 1,
        **{k: json.loads(lines[0])[k] for k in ("loss", "lr", "grad_norm")},
    }
    with (runs / "charlm" / "metrics.jsonl").open("a") as f:
        f.write('{"kind": "eval", "step": 61, "val_nats": 2.5, "best": true}\n{"kind": "tr')
    more = client.get(f"/api/runs/charlm/curves?since={first['next']}").json()
    assert more == {
        "records": [{"kind": "eval", "step": 61, "val_nats": 2.5}],
        "next": len(lines) + 1,
    }


def test_write_streams_what_rnnkit_sample_draws(client, runs):
    response = client.get(
        "/api/runs/charlm/write", params={"prime": "ROMEO:", "length": 40, "seed": 3}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    said = events(response)
    assert response.text.rstrip().endswith("event: done\ndata: {}")
    run = load_run(runs / "charlm")
    expected = generate(
        run.model, prime_ids(run.vocab, "ROMEO:"), 40, temperature=0.8, seed=3, suppress_ids=(0,)
    )
    assert "".join(s["char"] for s in said) == run.vocab.decode(expected)
    with torch.no_grad():  # the probability shown is the model's own at the first step
        logits, _, _ = run.model(torch.tensor(prime_ids(run.vocab, "ROMEO:")).unsqueeze(1))
    probabilities = torch.softmax(logits[-1, 0], dim=-1)
    assert said[0]["p"] == pytest.approx(float(probabilities[expected[0]]), abs=1e-6)
    top = probabilities.topk(5)
    assert [c for c, _ in said[0]["top"]] == [run.vocab.itos[i] for i in top.indices.tolist()]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prime": "ROMEO:\u00e9"}, "not in the run's vocabulary"),
        ({"length": 5000}, "length must be between 1 and 2000"),
        ({"length": 0}, "length must be between 1 and 2000"),
        ({"temperature": -1}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"prime": "x" * 1001}, "at most 1000"),
    ],
)
def test_write_refuses_bad_requests_with_a_message(client, params, message):
    response = client.get("/api/runs/charlm/write", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert client.get("/api/runs").status_code == 200  # still serving


def test_a_view_for_another_task_and_an_unknown_run(client):
    wrong = client.get("/api/runs/classify/write")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "this view needs a charlm run; classify is a classify run"
    missing = client.get("/api/runs/nope/curves")
    assert missing.status_code == 404 and "no run 'nope'" in missing.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/..%2Fsecret.txt/curves",
        "/api/runs/%2e%2e/curves",
        "/api/runs/notes/curves",
        "/static/..%2F..%2Fapp.py",
        "/static/%2e%2e/app.py",
        "/api/runs/%2Fetc%2Fpasswd/curves",
    ],
)
def test_no_request_reads_a_file_outside_the_runs(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "not for the page" not in response.text and "import" not in response.text


def test_a_symlinked_run_folder_serves_its_run_only(runs, tmp_path):
    (runs / "link").symlink_to(tmp_path, target_is_directory=True)  # a folder without config
    client = TestClient(create_app(RunIndex.find(runs_dir=runs)))
    listed = {run["id"] for run in client.get("/api/runs").json()["runs"]}
    assert listed == {"charlm", "classify", "seq2seq", "tag", "caption"}
    assert client.get("/api/runs/link/curves").status_code == 404


def test_generations_beyond_the_limit_are_refused(client):
    studio = client.app.state.studio
    for _ in range(MAX_GENERATIONS):
        studio.generations.acquire()
    try:
        response = client.get("/api/runs/charlm/write", params={"length": 5})
        assert response.status_code == 429 and "generations are running" in response.json()["error"]
    finally:
        for _ in range(MAX_GENERATIONS):
            studio.generations.release()
    assert client.get("/api/runs/charlm/write", params={"length": 5}).status_code == 200


def test_neurons_colours_a_unit_and_finds_the_units_that_track_the_text(client, runs):
    text = 'ROMEO:\nSoft (what "light") breaks?\n'
    response = client.post(
        "/api/runs/charlm/neurons", json={"text": text, "layer": 0, "kind": "c", "unit": 3}
    )
    assert response.status_code == 200
    result = response.json()
    assert result["pieces"] == list(text) and result["level"] == "char"
    assert (result["layers"], result["units"], result["kinds"]) == (1, 8, ["h", "c"])
    run = load_run(runs / "charlm")
    ids = torch.tensor(run.vocab.encode(text)).unsqueeze(1)
    _, steps = run.model.trace(ids)
    c = torch.stack([state[1][0, 3] for state in steps.steps[0]])  # unit 3's c, by hand
    assert result["activation"]["values"] == pytest.approx(c.tolist(), abs=1e-4)
    features = {f["feature"] for f in result["features"]}
    assert features == {"quotes", "brackets", "line", "word", "speaker"}
    assert set(result["saturation"][0]) == {"input", "forget", "output"}
    assert len(result["saturation"][0]["forget"]["left"]) == 8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "give some text"),
        ({"text": "x" * 5001}, "at most 5000"),
        ({"text": "abc", "layer": 3}, "layer must be in 0..0"),
        ({"text": "abc", "kind": "g"}, "kind must be one of h, c"),
        ({"text": "abc", "unit": 8}, "unit must be in 0..7"),
        ({"text": "abc", "unit": "x"}, "layer and unit must be integers"),
        ({"words": "abc"}, 'give some text to trace as {"text": "..."}'),
    ],
)
def test_neurons_refuses_bad_requests(client, body, message):
    response = client.post("/api/runs/charlm/neurons", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_neurons_refuses_a_body_that_is_not_json(client):
    response = client.post("/api/runs/charlm/neurons", content=b"text=abc")
    assert response.status_code == 400 and "must be JSON" in response.json()["error"]


def test_a_body_nested_too_deep_or_with_fields_of_any_type_is_no_server_error(client):
    """JSON nested 1,000 deep overflows the parser's recursion (a 500 before); fields a char
    model does not read, given as a list or an object, went into a cache key (a 500)."""
    deep = b"[" * 1000 + b"]" * 1000
    response = client.post("/api/runs/charlm/neurons", content=deep)
    assert response.status_code == 400 and "must be JSON" in response.json()["error"]
    surrogate = b'{"text": "\\ud800hello"}'
    for view in ("neurons", "gradients"):
        response = client.post(f"/api/runs/charlm/{view}", content=surrogate)
        assert response.status_code == 400 and "lone surrogate" in response.json()["error"]
    response = client.get("/api/runs/charlm/nowhere")
    assert response.status_code == 404 and "/api/runs/charlm/nowhere" in response.json()["error"]
    for extra in ({"test_index": [1]}, {"image": {}}):
        response = client.post("/api/runs/charlm/neurons", json={"text": "ROMEO:", **extra})
        assert response.status_code == 200, response.text


def test_predict_translates_with_the_attention_of_rnnkit_translate(client, runs):
    sentence = "in the beginning god created the heaven"
    response = client.post("/api/runs/seq2seq/predict", json={"text": sentence, "beam": 2})
    assert response.status_code == 200
    said = response.json()
    expected = seq2seq_runs.translate_run(runs / "seq2seq", [sentence], beam_size=2)[0]
    assert said["task"] == "seq2seq" and said["text"] == expected.text
    assert said["source"] == expected.source_tokens
    weights = torch.tensor(said["weights"])
    assert weights.shape == (len(expected.ids) + 1, len(expected.source_tokens))
    reference = torch.from_numpy(expected.weights).float()
    torch.testing.assert_close(weights, reference, atol=1e-4, rtol=0)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(len(weights)), atol=1e-3, rtol=0)


def test_predict_classifies_and_shows_the_decision_building_up(client, runs):
    said = client.post("/api/runs/classify/predict", json={"text": "Nakamura"}).json()
    expected = classify_runs.predict_run(runs / "classify", ["Nakamura"], top=5)[0]
    assert said["labels"] == [[label, pytest.approx(p, abs=1e-6)] for label, p in expected]
    pieces = said["pieces"]
    assert "".join(pieces) == "Nakamura" or " ".join(pieces) == "Nakamura"
    prefix = "".join(pieces[:3]) if len(pieces) > 1 else pieces[0]
    first_three = dict(classify_runs.predict_run(runs / "classify", [prefix], top=99)[0])
    for label, values in said["evolution"].items():
        assert len(values) == len(pieces)
        assert values[-1] == pytest.approx(dict(expected)[label], abs=1e-6)
        assert values[min(2, len(pieces) - 1)] == pytest.approx(first_three[label], abs=1e-6)


def test_predict_tags_as_rnnkit_predict(client, runs):
    text = "I met Ann Smith in Oslo ."
    said = client.post("/api/runs/tag/predict", json={"text": text}).json()
    expected = tag_runs.predict_run(runs / "tag", [text], top=3)[0]
    assert [(t["token"], t["tag"]) for t in said["tokens"]] == expected.pairs
    assert said["tokens"][2]["top"][0][0] == expected.pairs[2][1]


@pytest.mark.parametrize(
    ("run", "body", "status", "message"),
    [
        ("seq2seq", {"text": "the", "beam": 0}, 400, "beam must be an integer in 1..10"),
        ("seq2seq", {"text": "   "}, 400, "not empty"),
        ("classify", {"text": "x" * 301}, 400, "at most 300"),
        ("charlm", {"text": "x"}, 400, "needs a seq2seq, classify, tag, caption or forecast run"),
        ("nope", {"text": "x"}, 404, "no run 'nope'"),
    ],
)
def test_predict_refuses_bad_requests(client, run, body, status, message):
    response = client.post(f"/api/runs/{run}/predict", json=body)
    assert response.status_code == status and message in response.json()["error"]


def test_predict_captions_a_png_with_each_words_attention(client, runs, tmp_path):
    image = sorted(write_shapes_folder(tmp_path / "shapes").glob("*.png"))[0]
    body = {"image": base64.b64encode(image.read_bytes()).decode()}
    said = client.post("/api/runs/caption/predict", json=body).json()
    expected = caption_runs.caption_file(runs / "caption", image)
    assert said["task"] == "caption" and said["caption"] == expected["caption"]
    weights = torch.tensor(said["weights"])  # (words, side, side)
    assert weights.shape[0] == len(said["words"]) == len(expected["ids"])
    sums = weights.sum(dim=(1, 2))  # each word's weights sum to 1, up to their rounding
    torch.testing.assert_close(sums, torch.ones(len(weights)), atol=0.01, rtol=0)
    assert said["image"].startswith("data:image/png;base64,")


def test_predict_refuses_a_bad_image_and_names_missing_test_data(client):
    response = client.post("/api/runs/caption/predict", json={"image": "not base64!"})
    assert response.status_code == 400 and "base64-encoded PNG" in response.json()["error"]
    missing = client.post("/api/runs/caption/predict", json={"test_index": 0})
    assert missing.status_code == 400 and "no data set or folder" in missing.json()["error"]


def test_a_damaged_or_diverged_run_never_breaks_the_run_list(runs):
    """A diverged run's metrics.jsonl holds NaN and Infinity (JSON has neither: the whole
    list was a 400); a config.json that is a list or a folder, or bytes that are not UTF-8,
    were 500s or 400s for every run. Each run now shows what can be read of it."""
    diverged = runs / "diverged"
    shutil.copytree(FIXTURES / "charlm", diverged)
    with open(diverged / "metrics.jsonl", "a", encoding="utf-8") as metrics:
        metrics.write('{"kind": "train", "step": 99, "loss": NaN, "grad_norm": Infinity}\n')
        metrics.write('{"kind": "eval", "step": 99, "val_loss": NaN, "best": true}\n5\n')
    for name, damage in (("listed", b"[1, 2]"), ("bytes", b'{"task": "charlm"}\xff')):
        shutil.copytree(FIXTURES / "charlm", runs / name)
        (runs / name / "config.json").write_bytes(damage)
    edited = runs / "edited"  # NaN written by hand into its config and checkpoint record
    shutil.copytree(FIXTURES / "charlm", edited)
    config = json.loads((edited / "config.json").read_text())
    config["config"]["model"]["dropout"] = float("nan")
    (edited / "config.json").write_text(json.dumps(config))
    (edited / "checkpoints" / "last.json").write_text('{"step": NaN}')
    client = TestClient(create_app(RunIndex.find(runs_dir=runs)))
    shutil.rmtree(runs / "listed" / "checkpoints")
    (runs / "listed" / "config.json").unlink()
    (runs / "listed" / "config.json").mkdir()  # after the index found it
    answer = client.get("/api/runs")
    assert answer.status_code == 200, answer.text
    shown = {run["id"]: run for run in answer.json()["runs"]}
    assert shown["diverged"]["best"] == {"val_loss": None} and shown["charlm"]["task"] == "charlm"
    assert shown["listed"]["task"] == shown["bytes"]["task"] == "unknown"
    assert shown["edited"]["model"]["dropout"] is None and shown["edited"]["steps"] is None
    curves = client.get("/api/runs/diverged/curves").json()["records"]
    assert curves[-2:] == [{"kind": "train", "step": 99}, {"kind": "eval", "step": 99}]


def test_a_run_folder_replaced_or_removed_while_serving_is_read_anew(client, runs):
    """The model loaded for a run is dropped when its config.json or checkpoints change: a
    folder replaced by another task's run was answered with the old model (a 500, or the old
    run's validation text); a removed one said it was an 'unknown' run."""
    assert client.post("/api/runs/charlm/neurons", json={"text": "ROMEO:"}).status_code == 200
    shutil.rmtree(runs / "charlm")
    answer = client.post("/api/runs/charlm/neurons", json={"text": "ROMEO:"})
    assert answer.status_code == 410 and "no longer holds a run" in answer.json()["error"]
    shutil.copytree(FIXTURES / "classify", runs / "charlm")
    said = client.post("/api/runs/charlm/predict", json={"text": "Nakamura"})
    assert said.status_code == 200 and said.json()["task"] == "classify"
    expected = client.post("/api/runs/classify/predict", json={"text": "Nakamura"}).json()
    assert said.json()["labels"] == expected["labels"]
