"""``rnnkit export`` of classify, tag and forecast runs: the forward pass with a lengths input,
in ONNX Runtime and torch.export.load, against eager PyTorch (which packs the batch), for
batches of other sizes and lengths than the export's example, with garbage in the padding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export import forecast as forecast_export
from rnnkit.export.files import export_run
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


def backends(run: Path, graph: str):
    """Each backend's graph as a function of numpy arrays returning numpy arrays."""
    session = ort.InferenceSession(str(run / "export-onnx" / f"{graph}.onnx"))
    names = [i.name for i in session.get_inputs()]
    program = torch.export.load(str(run / "export-pt2" / f"{graph}.pt2")).module()

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
