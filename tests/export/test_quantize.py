"""``rnnkit export --quantize int8``: dynamic int8 ONNX graphs (the recurrent operator's and
the linear layers' weights in int8) that run behind every ``--backend onnxruntime`` command,
and whose quality cost ``rnnkit evaluate --backend onnxruntime --quantize int8`` measures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.export.files import export_run
from rnnkit.tasks.charlm_runs import evaluate_run

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
onnx = pytest.importorskip("onnx", reason="onnx is a test extra")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "charlm"
    shutil.copytree(FIXTURES / "charlm", path)
    export_run(path, "onnx")
    export_run(path, "onnx", quantize="int8")
    return path


def test_the_int8_graphs_hold_int8_weights_and_stay_close_to_fp32(run):
    folder = run / "export-onnx-int8"
    record = json.loads((folder / "export.json").read_text())
    assert record["quantize"] == "int8"
    assert set(record["graphs"]) == {"step", "sequence", "sample"}
    for graph in ("step", "sequence", "sample"):
        model = onnx.load(str(folder / f"{graph}.onnx"))
        ops = {node.op_type for node in model.graph.node}
        assert ops & {"DynamicQuantizeLSTM", "MatMulInteger", "DynamicQuantizeMatMul"}, ops
        int8 = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
        assert int8, f"{graph}: no int8 weights"
        assert "LSTM" not in ops  # every step of the sample graph's layer, not the first only
        fp32 = [t.name for t in model.graph.initializer if len(t.dims) == 3 and t.data_type == 1]
        assert not fp32, fp32  # no fp32 copy of an LSTM weight (W, R) left
    ids = np.random.default_rng(0).integers(1, 60, size=(2, 50))
    zeros = {p: np.zeros((1, 2, 8), np.float32) for p in ("h", "c")}
    fp32, int8 = (
        ort.InferenceSession(str(run / name / "sequence.onnx")).run(None, {"ids": ids, **zeros})
        for name in ("export-onnx", "export-onnx-int8")
    )
    error = np.abs(int8[0] - fp32[0]).mean()
    # quantised, and not broken: a 1x8 LSTM's logits move by ~7% on random ids (the cost on
    # real text, below, is what counts)
    assert 0 < error < 0.15 * np.abs(fp32[0]).mean()


def test_evaluate_measures_the_int8_cost_on_the_val_split(run, capsys):
    fp32 = evaluate_run(run, split="val")["nats"]
    argv = ["evaluate", str(run), "--split", "val", "--backend", "onnxruntime", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["nats"] == pytest.approx(fp32, abs=1e-5)
    assert main([*argv, "--quantize", "int8"]) == 0
    int8 = json.loads(capsys.readouterr().out)["nats"]
    assert int8 != fp32 and abs(int8 - fp32) / fp32 < 0.01


def test_int8_is_refused_where_it_does_not_apply(run, capsys):
    with pytest.raises(ValueError, match="quantizes ONNX graphs; use --format onnx"):
        export_run(run, "pt2", run.parent / "q", quantize="int8")
    assert main(["sample", str(run), "--quantize", "int8"]) == 2
    assert "--quantize applies to --backend onnxruntime" in capsys.readouterr().err
    assert main(["sample", str(run), "--length", "20", "--backend", "onnxruntime",
                 "--quantize", "int8"]) == 0  # fmt: skip
    assert len(capsys.readouterr().out) > 0
