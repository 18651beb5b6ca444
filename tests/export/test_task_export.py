"""``rnnkit export`` of classify, tag and forecast runs: the forward pass with a lengths input,
in ONNX Runtime and torch.export.load, against eager PyTorch (which packs the batch), for
batches of other sizes and lengths than the export's example, with garbage in the padding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export import classify as classify_export
from rnnkit.export import forecast as forecast_export
from rnnkit.export import tag as tag_export
from rnnkit.export.files import export_run
from rnnkit.export.graphs import write_graph
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.models.tagger import CharFeatures, SequenceTagger, TaggerConfig
from rnnkit.tasks.classify_runs import load_run as load_classifier
from rnnkit.tasks.tag_runs import load_run as load_tagger

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"
LENGTHS = np.array([9, 1, 5, 9, 3])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for task in ("classify", "tag", "forecast"):
        shutil.copytree(FIXTURES / task, root / task)
        export_run(root / task, "onnx")
        export_run(root / task, "pt2")
    return root


def backends(run: Path, graph: str, folders=("export-onnx", "export-pt2")):
    """Each backend's graph as a function of numpy arrays returning numpy arrays."""
    session = ort.InferenceSession(str(run / folders[0] / f"{graph}.onnx"))
    names = [i.name for i in session.get_inputs()]
    program = torch.export.load(str(run / folders[1] / f"{graph}.pt2")).module()

    def onnx(*arrays):
        return session.run(None, dict(zip(names, arrays, strict=True)))

    def pt2(*arrays):
        out = program(*(torch.from_numpy(a) for a in arrays))
        return [t.detach().numpy() for t in (out if isinstance(out, tuple) else (out,))]

    return {"onnx": onnx, "pt2": pt2}


def padded_ids(rng, vocab: int) -> np.ndarray:
    ids = rng.integers(1, vocab, size=(len(LENGTHS), LENGTHS.max()))
    ids[np.arange(ids.shape[1])[None] >= LENGTHS[:, None]] = vocab - 1  # garbage padding
    return ids


def test_the_classifier_graph_equals_eager_on_a_padded_batch(runs):
    model = load_classifier(runs / "classify").model
    ids = padded_ids(np.random.default_rng(0), model.input_size)
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.from_numpy(LENGTHS))[0].numpy()
        alone = model(torch.from_numpy(ids[1:2, :1]), torch.tensor([1]))[0].numpy()
    np.testing.assert_allclose(expected[1:2], alone, atol=1e-6)
    for name, run in backends(runs / "classify", "forward").items():
        got = run(ids, LENGTHS)[0]
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=name)
        np.testing.assert_allclose(run(ids[1:3, :5], LENGTHS[1:3])[0], got[1:3], atol=1e-5)


def test_the_bidirectional_tagger_graph_equals_eager_on_a_padded_batch(runs):
    model = load_tagger(runs / "tag").model
    assert model.config.bidirectional  # the backward direction starts at each row's end
    ids = padded_ids(np.random.default_rng(1), model.embedding.num_embeddings)
    real = np.arange(ids.shape[1])[None] < LENGTHS[:, None]
    with torch.no_grad():
        expected = model(torch.from_numpy(ids), torch.from_numpy(LENGTHS))[0].numpy()
    for name, run in backends(runs / "tag", "forward").items():
        got = run(ids, LENGTHS)[0]
        np.testing.assert_allclose(got[real], expected[real], atol=1e-5, rtol=0, err_msg=name)


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_tagger_with_character_features_exports_as_eager(fmt, tmp_path):
    """The graph's character layer reads every position (eager reads only the real words):
    the same logits, for a batch of other sizes than the export's example, with a padded word
    and garbage in the padding, and the run's own model left as it was."""
    torch.manual_seed(0)
    config = TaggerConfig(embedding_size=5, char_features=True, char_embedding_size=3,
                          char_hidden_size=2, hidden_size=4, bidirectional=True)  # fmt: skip
    model = SequenceTagger(config, num_tags=3, vocab_size=9, char_vocab_size=7).eval()
    graph = tag_export.graphs(SimpleNamespace(model=model), fmt)["forward"]
    assert isinstance(model.chars, CharFeatures)  # not replaced in the run's model
    write_graph(graph, "forward", fmt, tmp_path)
    if fmt == "onnx":
        session = ort.InferenceSession(str(tmp_path / "forward.onnx"))
    else:
        program = torch.export.load(str(tmp_path / "forward.pt2")).module()
    for lengths in (torch.tensor([5, 2, 4]), torch.tensor([1, 1])):  # T = 1 as well
        steps = int(lengths.max())
        words = torch.randint(1, 9, (len(lengths), steps))
        chars = torch.randint(1, 7, (len(lengths), steps, 6))
        char_lengths = torch.randint(1, 7, (len(lengths), steps))
        char_lengths[torch.arange(steps)[None] >= lengths[:, None]] = 0  # the padded words
        with torch.no_grad():
            expected = model(words, lengths, chars, char_lengths)[0].numpy()
        feed = {"words": words, "lengths": lengths, "chars": chars, "char_lengths": char_lengths}
        if fmt == "onnx":
            got = session.run(None, {name: value.numpy() for name, value in feed.items()})[0]
        else:
            got = program(*feed.values()).detach().numpy()
        real = (torch.arange(steps)[None] < lengths[:, None]).numpy()
        np.testing.assert_allclose(got[real], expected[real], atol=1e-5, rtol=0)


def test_the_forecaster_graphs_read_and_feed_back_as_eager(runs):
    model = forecast_export.load(runs / "forecast").model
    rng = np.random.default_rng(2)
    values = rng.normal(size=(len(LENGTHS), LENGTHS.max())).astype(np.float32)
    zeros = np.zeros((1, len(LENGTHS), 8), np.float32)
    for name, run in backends(runs / "forecast", "read").items():
        predictions, h, c = run(values, LENGTHS, zeros, zeros)
        for n, length in enumerate(LENGTHS):
            with torch.no_grad():
                row, (eager_h, eager_c) = model._read(torch.from_numpy(values[n : n + 1, :length]))
            np.testing.assert_allclose(predictions[n, :length], row[0], atol=1e-5, err_msg=name)
            np.testing.assert_allclose(h[:, n], eager_h[:, 0], atol=1e-5, err_msg=name)
            np.testing.assert_allclose(c[:, n], eager_c[:, 0], atol=1e-5, err_msg=name)
    window = torch.from_numpy(values[:, :6])
    with torch.no_grad():
        expected = model.forecast(window, 10).numpy()
    for name, run in backends(runs / "forecast", "read").items():
        step = backends(runs / "forecast", "step")[name]
        predictions, *state = run(values[:, :6], np.full(len(LENGTHS), 6), zeros, zeros)
        forecasts = [predictions[:, -1, 0]]
        for _ in range(9):
            prediction, *state = step(forecasts[-1], *state)
            forecasts.append(prediction)
        np.testing.assert_allclose(np.stack(forecasts, 1), expected, atol=1e-5, err_msg=name)


def test_export_json_of_a_classifier_has_its_classes_and_signature(runs):
    record = json.loads((runs / "classify" / "export-onnx" / "export.json").read_text())
    run = load_classifier(runs / "classify")
    assert record["task"] == "classify" and record["classes"] == run.meta["classes"]
    assert record["vocab"]["symbols"] == run.encoder.vocab.itos
    forward = record["graphs"]["forward"]
    assert forward["inputs"] == [
        {"name": "inputs", "shape": ["N", "T"], "dtype": "int64"},
        {"name": "lengths", "shape": ["N"], "dtype": "int64"},
    ]
    assert forward["outputs"] == [{"name": "logits", "shape": ["N", 2], "dtype": "float32"}]


@pytest.mark.parametrize(
    ("task", "options"),
    [("classify", ["predict", "great film", "awful boring movie", "--top", "2"]),
     ("tag", ["predict", "Ann went to Oslo", "Oslo"]),
     ("forecast", ["forecast", "--horizon", "7"])],
)  # fmt: skip
def test_the_onnxruntime_backend_prints_what_torch_prints(runs, task, options, capsys, tmp_path):
    command, *rest = options
    if command == "forecast":
        rest += ["--plot", str(tmp_path / "future.png")]
    assert main([command, str(runs / task), *rest]) == 0
    torch_out = capsys.readouterr().out
    assert main([command, str(runs / task), *rest, "--backend", "onnxruntime"]) == 0
    assert capsys.readouterr().out == torch_out


def test_a_corrupt_checkpoint_or_an_unwritable_place_is_one_line_and_leaves_nothing(
    runs, tmp_path, capsys
):
    broken = tmp_path / "classify"
    shutil.copytree(FIXTURES / "classify", broken)
    (broken / "checkpoints" / "best.safetensors").write_bytes(b"not a checkpoint")
    before = sorted(p.name for p in broken.rglob("*"))
    assert main(["export", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "best" in err, err
    assert sorted(p.name for p in broken.rglob("*")) == before
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["export", str(runs / "tag"), "--out", str(blocker / "out")]) == 2
    assert "no folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(runs / "tag"), "--format", "tflite"])
    assert "invalid choice: 'tflite' (choose from 'onnx', 'pt2')" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*")) and not list((runs / "tag").glob(".*"))


def test_a_core_without_an_onnx_operator_is_refused_over_a_sequence_but_exports_as_pt2(
    tmp_path,
):
    config = ClassifierConfig(cell="peephole", hidden_size=4, embedding_size=3)
    model = SequenceClassifier(config, 2, 10).eval()
    graph = classify_export.graphs(SimpleNamespace(model=model), "onnx")["forward"]
    with pytest.raises(ValueError, match="ONNX has an operator for only with the cores"):
        write_graph(graph, "forward", "onnx", tmp_path)
    write_graph(graph, "forward", "pt2", tmp_path)  # a masked scan of the peephole cells
    program = torch.export.load(str(tmp_path / "forward.pt2")).module()
    ids, lengths = torch.randint(1, 10, (3, 7)), torch.tensor([7, 2, 4])
    with torch.no_grad():
        np.testing.assert_allclose(program(ids, lengths), model(ids, lengths)[0], atol=1e-5)


@pytest.mark.parametrize(
    "options",
    [dict(embedding="vectors", conv_channels=4, bidirectional=True, pooling="mean"),
     dict(cell="gru", num_layers=2, bidirectional=True, pooling="points", pool_points=3),
     dict(cell="rnn", pooling="concat", embedding="onehot")],
)  # fmt: skip
def test_classifier_variants_export_as_eager(options, tmp_path):
    torch.manual_seed(0)
    config = ClassifierConfig(hidden_size=5, embedding_size=3, **options)
    model = SequenceClassifier(config, 3, 6 if config.embedding == "vectors" else 12).eval()
    lengths = torch.tensor([7, 1, 4])
    if config.embedding == "vectors":
        inputs = torch.randn(3, 7, 6)
        model.set_input_scale(torch.randn(6), torch.rand(6) + 0.5)
    else:
        inputs = torch.randint(1, 12, (3, 7))
    graph = classify_export.graphs(SimpleNamespace(model=model), "onnx")["forward"]
    with torch.no_grad():
        expected = model(inputs, lengths)[0].numpy()
    for fmt in ("onnx", "pt2"):
        write_graph(graph, "forward", fmt, tmp_path)
    for name, call in backends(tmp_path, "forward", folders=("", "")).items():
        got = call(inputs.numpy(), lengths.numpy())[0]
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=name)
