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
from rnnkit.export.graphs import FUSED, write_graph
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


class Pt2Seq2Seq(exported.OnnxSeq2Seq):
    """``OnnxSeq2Seq`` on a folder's torch.export programs instead of ONNX Runtime."""

    def __init__(self, folder: Path, model):
        torch.nn.Module.__init__(self)
        self.config, self._lstm = model.config, model._lstm
        self.pad_id, self.bos_id, self.eos_id = model.pad_id, model.bos_id, model.eos_id
        self.attention = None if self.config.attention == "none" else self.config.attention
        graphs = json.loads((folder / "export.json").read_text())["graphs"]
        self.by_name = graphs["decoder_step"]["by_name"]  # a program without c is called so
        self.programs = {
            name: torch.export.load(str(folder / f"{name}.pt2")).module()
            for name in ("encoder", "decoder_step")
        }

    def encode(self, src, src_lengths):
        return exported.unflatten(self, self.programs["encoder"](src, src_lengths))

    def step(self, tokens, state):
        names = ["tokens", *exported.state_parts(self)]
        inputs = dict(zip(names, (tokens, *exported.flatten(self, state)), strict=True))
        step = self.programs["decoder_step"]
        out = step(**inputs) if self.by_name else step(*inputs.values())
        named = dict(zip(exported.step_outputs(self), out, strict=True))
        recurrent = (named["h_out"], named["c_out"]) if self._lstm else named["h_out"]
        return named["logits"], (recurrent, state[1], named.get("feed_out")), named.get("weights")


def graph_models(run: Path, model):
    """The run's graphs as ``Seq2Seq``-like models: ONNX Runtime, and torch.export.load."""
    onnx = exported.OnnxSeq2Seq(run / "export-onnx", model)
    return {"onnx": onnx, "pt2": Pt2Seq2Seq(run / "export-pt2", model)}


def write_export(model, fmt: str, folder: Path) -> Path:
    """``model``'s graphs written as an export folder would hold them (export.json's graphs)."""
    graphs = exported.graphs(SimpleNamespace(model=model), fmt)
    folder.mkdir()
    written = {name: write_graph(g, name, fmt, folder) for name, g in graphs.items()}
    (folder / "export.json").write_text(json.dumps({"graphs": written}))
    return folder


def assert_steps_equal_eager(model, graph, name: str, steps: int = 12) -> None:
    """The encoder's state and each decoder step's logits (and weights) through ``graph``
    equal eager ``model``'s, on a padded batch of random tokens."""
    src, lengths = sources(model)
    rng = np.random.default_rng(1)
    tokens = torch.from_numpy(rng.integers(4, model.target_vocab_size, size=(steps, 3)))
    with torch.no_grad():
        state, graph_state = model.encode(src, lengths), graph.encode(src, lengths)
        for a, b in zip(exported.flatten(model, state), exported.flatten(model, graph_state),
                        strict=True):  # fmt: skip
            np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5, err_msg=name)
        for step in tokens:
            logits, state, weights = model.step(step, state)
            graph_logits, graph_state, graph_weights = graph.step(step, graph_state)
            np.testing.assert_allclose(graph_logits, logits, atol=1e-5, rtol=0, err_msg=name)
            if weights is not None:
                np.testing.assert_allclose(graph_weights, weights, atol=1e-5, err_msg=name)


def test_encoder_and_decoder_steps_equal_eager_for_a_padded_batch(run):
    model = load_run(run).model
    for name, graph in graph_models(run, model).items():
        assert_steps_equal_eager(model, graph, name)


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
    src, lengths = sources(model)
    expected = model.greedy(src, lengths, 10)
    onnx = exported.OnnxSeq2Seq(write_export(model, "onnx", tmp_path / "onnx"), model)
    pt2 = Pt2Seq2Seq(write_export(model, "pt2", tmp_path / "pt2"), model)
    assert pt2.by_name  # a GRU has no c: the step program is called by name
    for name, graph in {"onnx": onnx, "pt2": pt2}.items():
        assert_steps_equal_eager(model, graph, name)
        assert graph.greedy(src, lengths, 10) == expected, name


@pytest.mark.parametrize(
    "cell, layers, bidirectional",
    [("lstm", 1, True), ("mingru", 1, True), ("lstm", 3, False)],
)  # a 2-layer bidirectional gru: test_a_gru_seq2seq_without_c_or_feed_or_memory...[none]
def test_a_seq2seq_without_attention_exports_as_eager_in_every_format_it_has(
    cell, layers, bidirectional, tmp_path
):
    """Attention none reads the encoder's output for its final state (``ReadOutput``); pt2
    once failed on every such run, the scanned layer lacking the layer's ``batch_first``,
    and a core ONNX has no operator for (mingru) could then not be exported at all."""
    torch.manual_seed(0)
    config = Seq2SeqConfig(attention="none", cell=cell, embedding_size=6, hidden_size=8,
                           num_layers=layers, bidirectional=bidirectional)  # fmt: skip
    model = Seq2Seq(config, 30, 25).eval()
    graphs = {"pt2": Pt2Seq2Seq(write_export(model, "pt2", tmp_path / "pt2"), model)}
    if cell in FUSED:
        folder = write_export(model, "onnx", tmp_path / "onnx")
        graphs["onnx"] = exported.OnnxSeq2Seq(folder, model)
    src, lengths = sources(model)
    expected = model.greedy(src, lengths, 10)
    for name, graph in graphs.items():
        assert_steps_equal_eager(model, graph, name)
        assert graph.greedy(src, lengths, 10) == expected, name


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
    assert main(["export", str(run), "--format", "pt2"]) == 0  # once a traceback
    pt2 = Pt2Seq2Seq(run / "export-pt2", model)
    assert pt2.greedy(src, lengths, 10) == model.greedy(src, lengths, 10)
    capsys.readouterr()
    sentences = ["the old man sees the cat .", "a dog"]
    assert main(["translate", str(run), *sentences, "--beam", "2", "--json"]) == 0
    torch_out = capsys.readouterr().out
    argv = ["translate", str(run), *sentences, "--beam", "2", "--json", "--backend", "onnxruntime"]
    assert main(argv) == 0
    assert capsys.readouterr().out == torch_out
