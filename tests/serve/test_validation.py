"""The Neurons view's "from the validation split" through the test client: a piece of each
text run's own validation split, rebuilt from the data its config.json records, is in that
split (the char model's text cut by hand at the run's fractions; the examples of the reloaded
data set) and in no other; and the bad requests."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from rnnkit.data.provenance import read_recorded_corpus
from rnnkit.serve.app import create_app
from rnnkit.serve.runs import RunIndex
from rnnkit.tasks.classify import reload_data as reload_examples
from rnnkit.tasks.tag import reload_data as reload_sentences
from tests.compat.harness import copy_data, copy_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    where = tmp_path_factory.mktemp("studio-validation")
    data = copy_data(where)
    root = where / "runs"
    root.mkdir()
    for task in ("charlm", "classify", "tag", "seq2seq", "forecast", "caption"):
        copy_run(task, root, data)  # config.json pointed at the copied data
    return root


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(RunIndex.find(runs_dir=runs)))


def record(run) -> dict:
    return json.loads((run / "config.json").read_text(encoding="utf-8"))


def parts_by_hand(run) -> tuple[str, str, str]:
    """The run's text cut at its split fractions, as rnnkit's docs say training cuts it."""
    recorded = record(run)
    config = recorded["config"]["data"]
    text = read_recorded_corpus(recorded["data"], config["max_chars"])
    train, val, _ = config["split"]
    a, b = round(len(text) * train), round(len(text) * (train + val))
    return text[:a], text[a:b], text[b:]


def test_a_char_models_slice_is_the_text_of_its_validation_part(client, runs):
    train, val, test = parts_by_hand(runs / "charlm")
    piece = client.get("/api/runs/charlm/validation?start=20&length=100").json()
    assert piece["text"] == val[20:120] and piece["unknown"] == 0
    assert piece["size"] == len(val) and piece["offset"] == len(train) + 20
    assert piece["text"] not in train and piece["text"] not in test
    whole = client.get(f"/api/runs/charlm/validation?start=0&length={len(val)}").json()
    assert whole["text"] == val


def test_a_random_slice_is_drawn_from_its_seed(client, runs):
    _, val, _ = parts_by_hand(runs / "charlm")
    first = client.get("/api/runs/charlm/validation?seed=5&length=30").json()
    again = client.get("/api/runs/charlm/validation?seed=5&length=30").json()
    assert first == again and first["seed"] == 5
    assert 0 <= first["start"] <= len(val) - 30
    assert first["text"] == val[first["start"] : first["start"] + 30]
    drawn = client.get("/api/runs/charlm/validation?length=30").json()  # a seed drawn for it
    assert drawn == client.get(f"/api/runs/charlm/validation?seed={drawn['seed']}&length=30").json()


def test_a_characters_the_model_never_saw_reads_as_unknown_either_way(rnnkit, tmp_path):
    base = "ROMEO:\nBut soft, what light through yonder window breaks?\n\n" * 20  # 1,160
    text = base[:900] + "ab€de" * 10 + base[:50]  # 1,000 characters; the € in val only
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    argv = ["--preset", "smoke", "--hidden-size", "8", "--seq-len", "10", "--max-steps", "2"]
    out = tmp_path / "r"
    code, _, err = rnnkit("train", "charlm", *argv, "--data", tmp_path / "t.txt", "--out", out)
    assert code == 0, err
    train, val, _ = parts_by_hand(tmp_path / "r")
    assert "€" in val and "€" not in train
    client = TestClient(create_app(RunIndex.find([tmp_path / "r"])))
    piece = client.get(f"/api/runs/r/validation?start=0&length={len(val)}").json()
    assert piece["text"] == val.replace("€", "\ufffd") and piece["unknown"] == val.count("€")
    traced = client.post("/api/runs/r/neurons", json={"text": val}).json()
    again = client.post("/api/runs/r/neurons", json={"text": piece["text"]}).json()
    assert traced["activation"] == again["activation"]  # the same ids, the same states


def test_examples_come_from_the_validation_split_only(client, runs):
    data = reload_examples(record(runs / "classify")["data"])
    texts = {task: [] for task in ("classify", "tag", "seq2seq")}
    for task in texts:
        size = client.get(f"/api/runs/{task}/validation?start=0").json()["size"]
        assert size == record(runs / task)["data"]["sizes"]["val"]
        for index in range(size):
            piece = client.get(f"/api/runs/{task}/validation?start={index}").json()
            assert piece["start"] == index and piece["unit"] == "example"
            texts[task].append(piece)
    val, train = (set(data.splits[name].tolist()) for name in ("val", "train"))
    for piece in texts["classify"]:
        assert piece["example"] in val and piece["example"] not in train
        example = piece["example"]
        assert (piece["text"], piece["label"]) == (data.inputs[example], data.labels[example])
    tagged = reload_sentences(record(runs / "tag")["data"])
    for piece in texts["tag"]:
        assert piece["example"] in tagged.splits["val"].tolist()
        assert piece["text"].split() == tagged.sentences[piece["example"]]
        assert piece["tags"] == tagged.tags[piece["example"]]
    lines = (runs.parent / "data" / "toy-pairs.tsv").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("\t") for line in lines]
    tested = (runs / "seq2seq" / "translations-test.tsv").read_text()
    for piece in texts["seq2seq"]:
        assert [piece["text"], piece["target"]] == pairs[int(piece["origin"].split()[1]) - 1]
        assert piece["text"] not in tested  # none of the test pairs the run translated


def test_a_validation_example_is_traced_in_neurons(client):
    piece = client.get("/api/runs/tag/validation?start=1").json()
    traced = client.post("/api/runs/tag/neurons", json={"text": piece["text"]}).json()
    assert traced["pieces"] == piece["text"].split()


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("charlm/validation?start=-1&length=10", 400, "must be in 0..140, got -1"),
        ("charlm/validation?start=141&length=10", 400, "must be in 0..140, got 141"),
        ("charlm/validation?length=0", 400, "length must be 1 to 150 characters"),
        ("charlm/validation?length=151", 400, "length must be 1 to 150 characters"),
        ("charlm/validation?seed=-1", 400, "seed must be an integer from 0 to 2^63 - 1"),
        (f"charlm/validation?seed={2**64}", 400, f"from 0 to 2^63 - 1 ({2**63 - 1}), got"),
        ("charlm/write?seed=99999999999999999999", 400, "seed must be an integer from 0 to"),
        ("charlm/write?seed=-1", 400, "seed must be an integer from 0 to"),
        ("charlm/validation?start=ten", 400, "start: Input should be a valid integer"),
        ("classify/validation?start=4", 400, "4 examples: index must be in 0..3, got 4"),
        ("tag/validation?start=0&length=5", 400, "length is for a char model's slice"),
        ("tag/validation?start=0&seed=5", 400, "give a start or a seed to draw one, not both"),
        ("forecast/validation", 400, "needs a charlm, classify, tag or seq2seq run"),
        ("caption/validation", 400, "needs a charlm, classify, tag or seq2seq run"),
        ("nothing/validation", 404, "no run 'nothing'"),
    ],
)
def test_bad_validation_requests_are_refused(client, query, status, message):
    response = client.get(f"/api/runs/{query}")
    assert response.status_code == status and message in response.json()["error"]


def test_a_run_whose_data_is_gone_says_so(tmp_path):
    run = copy_run("classify", tmp_path, tmp_path / "gone")
    client = TestClient(create_app(RunIndex.find([run])))
    response = client.get("/api/runs/classify/validation")
    assert response.status_code == 400
    assert "cannot be rebuilt from the data config.json records" in response.json()["error"]
    assert client.get("/api/runs").status_code == 200  # the studio goes on
