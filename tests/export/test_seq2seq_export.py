"""``rnnkit export`` of a seq2seq run: the encoder graph (a padded source with its lengths)
and the decoder-step graph (attention memory and mask as inputs), in ONNX Runtime and
torch.export.load against eager PyTorch; greedy decoding and beam search outside the graphs
give what torch gives (``rnnkit translate --backend onnxruntime``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export import seq2seq as exported
from rnnkit.export.files import export_run
from rnnkit.export.graphs import write_graph
from rnnkit.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnkit.tasks.seq2seq_runs import load_run
from tests.tasks.seq2seq_fixtures import write_pairs

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "old_runs" / "seq2seq"  # BiLSTM, Luong


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "seq2seq"
    shutil.copytree(FIXTURE, path)
    export_run(path, "onnx")
    export_run(path, "pt2")
    return path


def sources(model):
    rng = np.random.default_rng(0)
    lengths = torch.tensor([6, 2, 4])
    src = torch.from_numpy(rng.integers(4, model.source_vocab_size, size=(3, 6)))
    src[torch.arange(6)[None] >= lengths[:, None]] = model.pad_id
    return src, lengths


def graph_models(run: Path, model):
    """The run's graphs as ``Seq2Seq``-like models: ONNX Runtime, and torch.export.load."""
    onnx = exported.OnnxSeq2Seq(run / "export-onnx", model)
    programs = {
        name: torch.export.load(str(run / "export-pt2" / f"{name}.pt2")).module()
        for name in ("encoder", "decoder_step")
    }

    class Pt2(exported.OnnxSeq2Seq):
        def __init__(self):
            torch.nn.Module.__init__(self)
            self.config, self._lstm = model.config, model._lstm
            self.pad_id, self.bos_id, self.eos_id = model.pad_id, model.bos_id, model.eos_id
            self.attention = model.config.attention

        def encode(self, src, src_lengths):
            return exported.unflatten(self, programs["encoder"](src, src_lengths))

        def step(self, tokens, state):
            out = programs["decoder_step"](tokens, *exported.flatten(self, state))
            named = dict(zip(exported.step_outputs(self), out, strict=True))
            recurrent = (named["h_out"], named["c_out"])
            return named["logits"], (recurrent, state[1], named["feed_out"]), named["weights"]

    return {"onnx": onnx, "pt2": Pt2()}


def test_encoder_and_decoder_steps_equal_eager_for_a_padded_batch(run):
    model = load_run(run).model
    src, lengths = sources(model)
    rng = np.random.default_rng(1)
    tokens = torch.from_numpy(rng.integers(4, model.target_vocab_size, size=(12, 3)))
    with torch.no_grad():
        for name, graph in graph_models(run, model).items():
            state, graph_state = model.encode(src, lengths), graph.encode(src, lengths)
            for a, b in zip(exported.flatten(model, state), exported.flatten(model, graph_state),
                            strict=True):  # fmt: skip
                np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5, err_msg=name)
            for step in tokens:
                logits, state, weights = model.step(step, state)
                graph_logits, graph_state, graph_weights = graph.step(step, graph_state)
                np.testing.assert_allclose(graph_logits, logits, atol=1e-5, rtol=0, err_msg=name)
                np.testing.assert_allclose(graph_weights, weights, atol=1e-5, err_msg=name)


def test_greedy_decoding_outside_the_graphs_equals_torch(run):
    model = load_run(run).model
    src, lengths = sources(model)
    expected = model.greedy(src, lengths, 15)
    for name, graph in graph_models(run, model).items():
        assert graph.greedy(src, lengths, 15) == expected, name


@pytest.mark.parametrize(
    "options", [["--beam", "3"], ["--beam", "1"], ["--temperature", "0.7", "--seed", "4"]]
)
def test_translate_with_onnxruntime_prints_what_torch_prints(run, options, capsys):
    sentences = ["the old man sees the cat .", "a dog"]
    assert main(["translate", str(run), *sentences, *options, "--json"]) == 0
    torch_out = capsys.readouterr().out
    assert (
        main(["translate", str(run), *sentences, *options, "--json", "--backend", "onnxruntime"])
        == 0
    )
    assert capsys.readouterr().out == torch_out


@pytest.mark.parametrize("attention", ["additive", "none"])
def test_a_gru_seq2seq_without_c_or_feed_or_memory_exports_and_decodes_as_eager(
    attention, tmp_path
):
    torch.manual_seed(0)
    config = Seq2SeqConfig(attention=attention, cell="gru", embedding_size=6, hidden_size=8,
                           num_layers=2, bidirectional=attention == "none")  # fmt: skip
    model = Seq2Seq(config, 30, 25).eval()
    for fmt in ("onnx", "pt2"):
        graphs = exported.graphs(SimpleNamespace(model=model), fmt)
        if fmt == "pt2":
            del graphs["encoder"]  # a scan like the fixture's; the step is what differs
        (tmp_path / fmt).mkdir()
        written = {name: write_graph(g, name, fmt, tmp_path / fmt) for name, g in graphs.items()}
        (tmp_path / fmt / "export.json").write_text(json.dumps({"graphs": written}))
        if fmt == "pt2":  # a GRU has no c: the step program is called by name
            assert written["decoder_step"]["by_name"]
    src, lengths = sources(model)
    expected = model.greedy(src, lengths, 10)
    assert exported.OnnxSeq2Seq(tmp_path / "onnx", model).greedy(src, lengths, 10) == expected
    with torch.no_grad():
        step = torch.export.load(str(tmp_path / "pt2" / "decoder_step.pt2")).module()
        state = model.encode(src, lengths)
        tokens = torch.full((3,), model.bos_id)
        names = exported.state_parts(model)
        got = step(tokens=tokens, **dict(zip(names, exported.flatten(model, state), strict=True)))
        np.testing.assert_allclose(got[0], model.step(tokens, state)[0], atol=1e-5)


@pytest.mark.parametrize(
    "cell, direction", [("gru", "--no-bidirectional"), ("lstm", "--bidirectional")]
)
def test_a_one_layer_run_without_attention_exports_and_translates_as_torch(
    cell, direction, tmp_path, capsys
):
    # attention none reads only the encoder's final state (the ONNX exporter once failed)
    pairs = write_pairs(tmp_path / "pairs.tsv", count=40)
    run = tmp_path / "run"
    argv = ["train", "seq2seq", "--dataset", pairs, "--attention", "none", "--cell", cell,
            "--layers", "1", direction, "--hidden-size", "8", "--embedding-size",
            "8", "--max-steps", "2", "--eval-every", "2", "--batch-size", "8", "--val-size",
            "4", "--test-size", "4", "--heatmaps", "0", "--beam", "1", "--threads", "1",
            "--out", run]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    capsys.readouterr()
    export_run(run, "onnx")
    model = load_run(run).model
    src, lengths = sources(model)
    onnx = exported.OnnxSeq2Seq(run / "export-onnx", model)
    with torch.no_grad():
        eager = exported.flatten(model, model.encode(src, lengths))
        graph = exported.flatten(model, onnx.encode(src, lengths))
        for a, b in zip(eager, graph, strict=True):
            np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5)
    assert onnx.greedy(src, lengths, 10) == model.greedy(src, lengths, 10)
    sentences = ["the old man sees the cat .", "a dog"]
    assert main(["translate", str(run), *sentences, "--beam", "2", "--json"]) == 0
    torch_out = capsys.readouterr().out
    argv = ["translate", str(run), *sentences, "--beam", "2", "--json", "--backend", "onnxruntime"]
    assert main(argv) == 0
    assert capsys.readouterr().out == torch_out
