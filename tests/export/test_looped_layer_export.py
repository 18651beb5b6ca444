"""``rnnkit export`` of a model whose layer runs its own loop (zoneout, recurrent dropout) on
a core ONNX has an operator for: a char model gets the step graph only in ONNX and samples
through it as torch does; the other tasks' graphs over a sequence are refused with that
reason; and an exporter's own failure is a one-line error that names the graph."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export import classify as classify_export
from rnnkit.export import graphs as graphs_module
from rnnkit.export.files import export_run
from rnnkit.export.graphs import write_graph
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.tasks.charlm_runs import load_run

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")


@pytest.fixture(scope="module")
def zoneout_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "zoneout"
    argv = ["train", "charlm", "--preset", "smoke", "--cell", "lstm", "--zoneout", "0.3",
            "--hidden-size", "8", "--max-chars", "3000", "--max-steps", "2",
            "--out", run]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    return run


def test_a_zoneout_char_model_exports_its_step_graph_and_samples_as_torch(zoneout_run, capsys):
    assert main(["export", str(zoneout_run)]) == 0
    record = json.loads((zoneout_run / "export-onnx" / "export.json").read_text())
    assert sorted(record["graphs"]) == ["step"]
    capsys.readouterr()
    options = ["--seed", "3", "--length", "80", "--prime", "the "]
    assert main(["sample", str(zoneout_run), *options]) == 0
    torch_text = capsys.readouterr().out
    assert main(["sample", str(zoneout_run), *options, "--backend", "onnxruntime"]) == 0
    assert capsys.readouterr().out == torch_text


def test_a_zoneout_char_model_exports_its_sequence_program_as_pt2(zoneout_run):
    export_run(zoneout_run, "pt2")
    model = load_run(zoneout_run).model
    program = torch.export.load(str(zoneout_run / "export-pt2" / "sequence.pt2")).module()
    ids = torch.randint(1, model.vocab_size, (3, 11))
    zeros = torch.zeros(model.config.num_layers, 3, model.config.hidden_size)
    with torch.no_grad():
        logits, *_ = program(ids, zeros, zeros)
        expected, _ = model.recurrent(model.embed(ids.T), (zeros, zeros))
        expected = model.decoder(expected).transpose(0, 1)
    np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("regulariser", ["zoneout", "recurrent_dropout"])
def test_a_classifier_whose_layer_runs_its_loop_is_refused_with_the_reason(regulariser, tmp_path):
    config = ClassifierConfig(cell="lstm", hidden_size=4, embedding_size=3, **{regulariser: 0.2})
    model = SequenceClassifier(config, 2, 10).eval()
    graph = classify_export.graphs(SimpleNamespace(model=model), "onnx")["forward"]
    with pytest.raises(ValueError, match="runs its own loop, with zoneout or recurrent dropout"):
        write_graph(graph, "forward", "onnx", tmp_path)
    write_graph(graph, "forward", "pt2", tmp_path)


def test_an_exporter_failure_is_one_line_that_names_the_graph(tmp_path, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("vector::_M_range_check\n\nTorch IR graph at exception:\n" * 50)

    monkeypatch.setattr(graphs_module, "_legacy_onnx", fails)
    model = SequenceClassifier(ClassifierConfig(hidden_size=4, embedding_size=3), 2, 10).eval()
    graph = classify_export.graphs(SimpleNamespace(model=model), "onnx")["forward"]
    with pytest.raises(ValueError) as raised:
        write_graph(graph, "forward", "onnx", tmp_path)
    message = str(raised.value)
    assert len(message.splitlines()) == 1, message
    assert "forward graph" in message and "RuntimeError: vector::_M_range_check" in message
    assert message.endswith("try --format pt2")
