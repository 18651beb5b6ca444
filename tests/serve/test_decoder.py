"""The Neurons and Gradients views of a caption run's decoder, through the test client: the
caption given, teacher-forced for a test image of the run's data (or a PNG given), against a
hand loop of torch.nn.LSTMCell on the decoder's weights with the model's own attention."""

from __future__ import annotations

import base64
import shutil

import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from rnnkit.serve.app import create_app
from rnnkit.serve.runs import RunIndex
from rnnkit.tasks import caption
from rnnkit.tasks.caption_runs import load_run
from rnnkit.tasks.caption_tensors import END_ID, START_ID, image_tensor
from tests.compat.harness import OLD_RUNS, copy_data, copy_run
from tests.serve.test_views import step_norms
from tests.tasks.caption_fixtures import write_shapes_folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    where = tmp_path_factory.mktemp("studio-decoder")
    return copy_run("caption", where, copy_data(where))  # config.json pointed at its images


@pytest.fixture(scope="module")
def client(run_dir):
    return TestClient(create_app(RunIndex.find([run_dir])))


def hand_decoder(run, pixels, words: list[str]):
    """The decoder's (h, c) after each of <start> and ``words``, and its logits, by hand."""
    model, decoder = run.model, run.model.decoder
    cell = torch.nn.LSTMCell(decoder.cell.weight_ih.shape[1], model.config.hidden_size)
    cell.load_state_dict(decoder.cell.state_dict())
    state = model.start_state(image_tensor(pixels[None]))  # (h, c) from the image, as trained
    h, c = state.h, state.c
    ids = [START_ID, *(run.vocab.stoi.get(w, 0) for w in words)]
    states, logits = [], []
    for token in ids:
        z, _ = decoder.attention(h, state.memory)  # the image context the model reads
        h, c = cell(torch.cat([decoder.embedding(torch.tensor([token])), z], dim=1), (h, c))
        states.append((h, c))
        logits.append(decoder.output(h))
    return states, torch.cat(logits), torch.tensor([*ids[1:], END_ID])


def test_neurons_and_gradients_of_a_caption_decoder_are_a_hand_loops(client, run_dir):
    run = load_run(run_dir)
    data = caption.reload_data(run.record["data"])
    pixels = data.images[data.splits["test"]][1]
    body = {"text": "green circle", "test_index": 1}
    said = client.post("/api/runs/caption/neurons", json={**body, "kind": "c", "unit": 5}).json()
    states, logits, targets = hand_decoder(run, pixels, ["green", "circle"])
    assert said["pieces"] == ["<start>", "green", "circle"] and said["kinds"] == ["h", "c"]
    assert said["activation"]["values"] == pytest.approx(
        [c[0, 5].item() for _, c in states], abs=1e-4
    )
    assert len(said["saturation"][0]["forget"]["left"]) == run.model.config.hidden_size
    for how in ("sum", "last"):
        flow = client.post("/api/runs/caption/gradients", json={**body, "loss": how}).json()
        chosen = slice(None) if how == "sum" else slice(-1, None)
        loss = F.cross_entropy(logits[chosen], targets[chosen], reduction="sum")
        assert flow["task"] == "caption" and flow["loss"] == pytest.approx(loss.item(), rel=1e-5)
        reference = step_norms(loss, states)
        assert flow["norms"][0]["h"] == pytest.approx(reference["h"], rel=1e-4, abs=1e-7)
        assert flow["norms"][0]["c"] == pytest.approx(reference["c"], rel=1e-4, abs=1e-7)
    other = client.post("/api/runs/caption/neurons", json={**body, "test_index": 2}).json()
    assert other["activation"] != said["activation"]  # another image, other states


def test_a_caption_decoder_reads_a_png_given_and_unknown_words(tmp_path):
    shutil.copytree(OLD_RUNS / "caption", tmp_path / "caption")  # its data is not here
    image = sorted(write_shapes_folder(tmp_path / "shapes").glob("*.png"))[0]
    client = TestClient(create_app(RunIndex.find([tmp_path / "caption"])))
    png = base64.b64encode(image.read_bytes()).decode()
    body = {"text": "green blob", "image": png}
    said = client.post("/api/runs/caption/gradients", json=body).json()
    assert said["pieces"] == ["<start>", "green", "<unk>"] and len(said["norms"][0]["h"]) == 3
    response = client.post("/api/runs/caption/neurons", json={"text": "green"})  # test image 0
    assert response.status_code == 400  # of data no longer there: the reason, as for Predict


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"test_index": 0}, 'give some text to trace as {"text": "..."}'),
        ({"text": "   ", "test_index": 0}, "give a caption to trace"),
        ({"text": "red", "test_index": 3}, "test_index must be in 0..2, got 3"),
        ({"text": "red", "test_index": "1"}, "test_index must be in 0..2, got '1'"),
        ({"text": "red", "image": "not base64!"}, "base64-encoded PNG"),
    ],
)
def test_the_decoders_views_refuse_bad_requests(client, body, message):
    for view in ("neurons", "gradients"):
        response = client.post(f"/api/runs/caption/{view}", json=body)
        assert response.status_code == 400 and message in response.json()["error"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_caption_decoder_on_cuda_says_what_it_says_on_the_cpu(run_dir):
    cpu, cuda = (TestClient(create_app(RunIndex.find([run_dir]), d)) for d in ("cpu", "cuda"))
    body = {"text": "green circle", "test_index": 1}
    for view, more in (("neurons", {"kind": "c", "unit": 5}), ("gradients", {"loss": "sum"})):
        on_cpu, on_cuda = (
            c.post(f"/api/runs/caption/{view}", json={**body, **more}) for c in (cpu, cuda)
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
