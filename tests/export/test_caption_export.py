"""``rnnkit export`` of a captioner: the encoder graph (images -> the decoder's start state,
with the attention memory) and the decoder-step graph, in ONNX Runtime and
torch.export.load against eager PyTorch; greedy decoding, beam search and the attention map
run outside the graphs and give what torch gives (``rnnkit caption --backend onnxruntime``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export import caption as exported
from rnnkit.export.files import export_run
from rnnkit.tasks.caption_runs import load_run
from rnnkit.tasks.caption_tensors import END_ID, START_ID

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"  # caption: attention, LSTM


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "caption"
    shutil.copytree(FIXTURES / "caption", path)
    export_run(path, "onnx")
    export_run(path, "pt2")
    return path


def test_the_graphs_equal_eager_and_greedy_decoding_through_them_too(run):
    model = load_run(run).model
    images = torch.rand(
        3, 3, model.image_size, model.image_size, generator=torch.Generator().manual_seed(0)
    )
    onnx = exported.OnnxCaptioner(run / "export-onnx", model)
    record = json.loads((run / "export-pt2" / "export.json").read_text())
    assert record["graphs"]["decoder_step"]["by_name"]  # no image input between c and values
    encoder, step = (
        torch.export.load(str(run / "export-pt2" / f"{name}.pt2")).module()
        for name in ("encoder", "decoder_step")
    )
    tokens = torch.tensor([START_ID, 5, 7, 4])
    with torch.no_grad():
        state = model.start_state(images)
        graph_states = {
            "onnx": onnx.start_state(images),
            "pt2": exported.unflatten(onnx.parts, encoder(images)),
        }
        for t in range(4):
            logits, state, weights = model.decoder.step_with_weights(tokens[t].expand(3), state)
            for name, graph_state in graph_states.items():
                if name == "onnx":
                    got, graph_state, got_weights = onnx.decoder.step_with_weights(
                        tokens[t].expand(3), graph_state
                    )
                else:
                    feed = dict(zip(onnx.parts, exported.flatten(graph_state), strict=True))
                    got, h, c, got_weights = step(tokens=tokens[t].expand(3), **feed)
                    graph_state = exported.CaptionState(h, c, None, graph_state.memory)
                graph_states[name] = graph_state
                np.testing.assert_allclose(got, logits, atol=1e-5, rtol=0, err_msg=name)
                np.testing.assert_allclose(got_weights, weights, atol=1e-5, err_msg=name)
        expected = model.greedy(images, START_ID, END_ID, 12, (0, 1, 2))
        got = onnx.greedy(images, START_ID, END_ID, 12, (0, 1, 2))
    assert got[0] == expected[0]
    np.testing.assert_allclose(got[1], expected[1], atol=1e-5)


@pytest.mark.parametrize("options", [["--beam", "3"], ["--temperature", "0.9", "--seed", "2"]])
def test_caption_with_onnxruntime_prints_what_torch_prints(run, options, tmp_path, capsys):
    image = next((FIXTURES / "data" / "shapes").rglob("*.png"))
    command = ["caption", str(run), str(image), *options, "--json"]
    command += ["--attention-png", str(tmp_path / "map.png")]
    assert main(command) == 0
    torch_out = json.loads(capsys.readouterr().out)
    assert main([*command, "--backend", "onnxruntime"]) == 0
    assert json.loads(capsys.readouterr().out) == torch_out
