"""``rnnkit export`` of a char model: the graphs against eager PyTorch (ONNX Runtime and
torch.export.load), dynamic batch and length, state carried across calls, a fresh process
with only onnxruntime and numpy, the weights' hash, and the refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export.files import export_run, exporter
from rnnkit.export.runtime import OnnxLanguageModel, onnx_model
from rnnkit.generation.sampling import generate, race_noise
from rnnkit.tasks.charlm_runs import load_run

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
FIXTURE = Path(__file__).parents[1] / "fixtures" / "old_runs" / "charlm"  # a 1x8 LSTM


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "charlm"
    shutil.copytree(FIXTURE, run)
    export_run(run, "onnx")
    export_run(run, "pt2")
    return run


@pytest.fixture(scope="module")
def gru_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "gru"
    argv = ["train", "charlm", "--preset", "smoke", "--cell", "gru", "--layers", "2",
            "--hidden-size", "8", "--max-chars", "3000", "--max-steps", "2",
            "--out", run]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    export_run(run, "onnx")
    export_run(run, "pt2")
    return run


def session(run: Path, graph: str):
    return ort.InferenceSession(str(run / "export-onnx" / f"{graph}.onnx"))


def zeros(run, batch: int) -> dict:
    model = load_run(run).model
    shape = (model.config.num_layers, batch, model.config.hidden_size)
    names = ["h", "c"] if model.config.cell == "lstm" else ["h"]
    return {name: np.zeros(shape, np.float32) for name in names}


def eager_stream(run, tokens: np.ndarray):
    """Eager logits of ``tokens`` (T, N) read one at a time, the state carried."""
    model = load_run(run).model
    state, out = None, []
    with torch.no_grad():
        for step in torch.from_numpy(tokens):
            logits, state = model.step(step, state)
            out.append(logits.numpy())
    return np.stack(out)


@pytest.mark.parametrize("which", ["lstm_run", "gru_run"])
def test_the_step_graph_streams_as_eager_for_500_steps(request, which):
    run = request.getfixturevalue(which)
    tokens = np.random.default_rng(0).integers(1, 20, size=(500, 3))
    step, state = session(run, "step"), zeros(run, 3)
    logits = []
    for t in range(500):
        out = step.run(None, {"tokens": tokens[t], **state})
        logits.append(out[0])
        state = dict(zip(state, out[1:], strict=True))
    np.testing.assert_allclose(np.stack(logits), eager_stream(run, tokens), atol=1e-5, rtol=0)


@pytest.mark.parametrize("which", ["lstm_run", "gru_run"])
def test_the_sequence_graph_in_two_calls_equals_one_call_and_eager(request, which):
    run = request.getfixturevalue(which)
    ids = np.random.default_rng(1).integers(1, 20, size=(2, 40))
    sequence = session(run, "sequence")
    whole = sequence.run(None, {"ids": ids, **zeros(run, 2)})
    first = sequence.run(None, {"ids": ids[:, :15], **zeros(run, 2)})
    state = dict(zip(zeros(run, 2), first[1:], strict=True))
    second = sequence.run(None, {"ids": ids[:, 15:], **state})
    np.testing.assert_allclose(np.concatenate([first[0], second[0]], 1), whole[0], atol=1e-5)
    for a, b in zip(second[1:], whole[1:], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    expected = eager_stream(run, ids.T).transpose(1, 0, 2)  # (N, T, V)
    np.testing.assert_allclose(whole[0], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("which", ["lstm_run", "gru_run"])
def test_the_sample_graph_draws_what_the_eager_sampler_draws(request, which):
    """37 tokens (two calls of 16 and a part of a third), greedy and seeded, <unk> blocked:
    the tokens of ``generate`` on torch, which steps and draws in Python."""
    run = request.getfixturevalue(which)
    eager, onnx = load_run(run).model, onnx_model(run)
    assert onnx.sample_tokens is not None  # generate hands the draws to the sample graph
    for options in [{"temperature": 0}, {"seed": 5}, {"seed": 6, "temperature": 1.7}]:
        args = ([1, 2, 3], 37)
        expected = generate(eager, *args, suppress_ids=(0,), **options)
        assert generate(onnx, *args, suppress_ids=(0,), **options) == expected
        assert 0 not in expected


def test_the_sample_graph_continues_the_stream_as_eager_steps(lstm_run):
    """One call: its K tokens, and the logits and state after the last one, against the eager
    model stepped through the same tokens, two streams at once."""
    graph, model = session(lstm_run, "sample"), load_run(lstm_run).model
    steps = graph.get_inputs()[1].shape[0]
    generator = torch.Generator().manual_seed(0)
    noise = torch.stack([race_noise(torch.empty(2, 62), generator) for _ in range(steps)])
    logits = torch.randn(2, 62)
    feed = {"logits": logits.numpy(), "noise": noise.numpy(), **zeros(lstm_run, 2)}
    feed.update(temperature=np.array([0.9], np.float32), bias=np.zeros(62, np.float32))
    tokens, out_logits, *state = graph.run(None, feed)
    eager_state = None
    with torch.no_grad():
        for k in range(steps):
            probs = torch.softmax(logits / 0.9, -1)
            assert tokens[k].tolist() == (probs / noise[k]).argmax(-1).tolist()
            logits, eager_state = model.step(torch.from_numpy(tokens[k]), eager_state)
    np.testing.assert_allclose(out_logits, logits.numpy(), atol=1e-5, rtol=0)
    for got, expected in zip(state, eager_state, strict=True):
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=0)


def test_an_export_without_a_sample_graph_samples_step_by_step(lstm_run, tmp_path):
    """An export written before the sample graph existed still samples, the same tokens."""
    folder = tmp_path / "old-export"
    shutil.copytree(lstm_run / "export-onnx", folder)
    record = json.loads((folder / "export.json").read_text())
    del record["graphs"]["sample"], record["opset"]["sample"]
    (folder / "export.json").write_text(json.dumps(record))
    (folder / "sample.onnx").unlink()
    old = OnnxLanguageModel(folder)
    assert old.sample_tokens is None
    expected = generate(onnx_model(lstm_run), [4, 5], 40, seed=2)
    assert generate(old, [4, 5], 40, seed=2) == expected


def test_the_pt2_step_program_equals_eager(lstm_run):
    program = torch.export.load(str(lstm_run / "export-pt2" / "step.pt2")).module()
    tokens = np.random.default_rng(2).integers(1, 20, size=(30, 4))
    state = [torch.zeros(1, 4, 8), torch.zeros(1, 4, 8)]
    out = []
    for t in range(30):
        logits, *state = program(torch.from_numpy(tokens[t]), *state)
        out.append(logits.detach().numpy())
    np.testing.assert_allclose(np.stack(out), eager_stream(lstm_run, tokens), atol=1e-5, rtol=0)


def test_the_pt2_sequence_program_takes_any_length_and_carries_the_state(lstm_run):
    program = torch.export.load(str(lstm_run / "export-pt2" / "sequence.pt2")).module()
    ids = np.random.default_rng(3).integers(1, 20, size=(3, 50))
    state = [torch.zeros(1, 3, 8), torch.zeros(1, 3, 8)]
    first, *state = program(torch.from_numpy(ids[:, :7]), *state)
    second, *_ = program(torch.from_numpy(ids[:, 7:]), *state)
    got = torch.cat([first, second], 1).detach().numpy()
    expected = eager_stream(lstm_run, ids.T).transpose(1, 0, 2)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_export_json_describes_the_graphs_and_hashes_the_weights(lstm_run):
    record = json.loads((lstm_run / "export-onnx" / "export.json").read_text())
    weights = (lstm_run / "checkpoints" / "best.safetensors").read_bytes()
    assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    step = record["graphs"]["step"]
    assert [i["name"] for i in step["inputs"]] == ["tokens", "h", "c"]
    assert step["outputs"][0] == {"name": "logits", "shape": ["N", 62], "dtype": "float32"}
    assert record["state"]["parts"] == ["h", "c"] and min(record["opset"].values()) >= 17
    assert record["vocab"]["symbols"] == load_run(lstm_run).vocab.itos
    pt2 = json.loads((lstm_run / "export-pt2" / "export.json").read_text())
    assert list(pt2["graphs"]) == ["step", "sequence"]


STREAM = """
import json, sys
import numpy as np, onnxruntime as ort
folder = sys.argv[1]
meta = json.load(open(folder + "/export.json"))
itos = meta["vocab"]["symbols"]
step = ort.InferenceSession(folder + "/step.onnx")
state = {p: np.zeros((meta["model"]["num_layers"], 1, meta["model"]["hidden_size"]),
                     np.float32) for p in meta["state"]["parts"]}
token, text = np.array([itos.index("\\n")]), ""
for _ in range(60):
    out = step.run(None, {"tokens": token, **state})
    state = dict(zip(state, out[1:]))
    logits = out[0][0]
    logits[meta["vocab"]["unk_id"]] = -np.inf
    token = np.array([int(logits.argmax())])
    text += itos[token[0]]
assert "torch" not in sys.modules and "rnnkit" not in sys.modules
print(json.dumps(text))
"""


def test_a_fresh_process_with_onnxruntime_and_numpy_writes_what_rnnkit_writes(lstm_run):
    done = subprocess.run(
        [sys.executable, "-c", STREAM, str(lstm_run / "export-onnx")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    run = load_run(lstm_run)
    greedy = generate(run.model, [run.vocab.stoi["\n"]], 60, temperature=0, suppress_ids=(0,))
    assert json.loads(done.stdout) == run.vocab.decode(greedy)


def documented_examples() -> list[str]:
    """docs/deploy.md's Python examples (onnxruntime's stream, then torch.export's step)."""
    text = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    return [block.split("```")[0] for block in text.split("```python\n")[1:]]


@pytest.mark.parametrize("which", ["lstm_run", "gru_run"])
def test_the_documented_examples_run_on_the_runs_they_name(request, which, capsys):
    """The examples as the docs print them, pointed at this run's exports: the torch.export
    one took an LSTM's h and c, and failed on a run whose state is h alone (the quick preset's
    lngru). A GRU's state is h alone too."""
    run = request.getfixturevalue(which)
    stream, step = documented_examples()
    assert '"runs/quick/export-onnx"' in stream and '"quick-pt2"' in step
    capsys.readouterr()  # what the fixture's training printed
    exec(stream.replace("runs/quick/export-onnx", str(run / "export-onnx")), {})
    assert len(capsys.readouterr().out) == 501  # 500 characters and the newline
    names = {}
    exec(step.replace('"quick-pt2"', repr(str(run / "export-pt2"))), names)
    parts = json.loads((run / "export-pt2" / "export.json").read_text())["state"]["parts"]
    assert len(names["state"]) == len(parts) == (2 if which == "lstm_run" else 1)
    assert names["logits"].shape == (1, len(load_run(run).vocab))


def test_refusals_are_one_line_and_write_nothing(lstm_run, tmp_path, capsys):
    assert main(["export", str(lstm_run)]) == 2  # export-onnx exists
    assert "never overwrites" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURE, broken)
    for file in (broken / "checkpoints").iterdir():
        file.unlink()
    assert main(["export", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "checkpoint" in err
    assert sorted(p.name for p in broken.iterdir()) == sorted(p.name for p in FIXTURE.iterdir())
    assert main(["export", str(lstm_run), "--out", str(tmp_path / "no" / "such" / "dir")]) == 2
    assert "no folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown export format 'tflite'; allowed: onnx, pt2"):
        export_run(lstm_run, "tflite")
    with pytest.raises(ValueError, match="holds a parity run; export has graphs for charlm, "):
        exporter("parity", "runs/parity")
    assert not list(tmp_path.glob(".*"))  # no half-written folder left anywhere


@pytest.mark.parametrize(
    "options",
    [["--seed", "3", "--length", "200"], ["--temperature", "0", "--length", "60"],
     ["--seed", "1", "--top-k", "5", "--prime", "the ", "--length", "100"],
     ["--beam", "3", "--length", "30"]],
)  # fmt: skip
def test_sample_with_onnxruntime_writes_what_torch_writes(lstm_run, options, capsys):
    assert main(["sample", str(lstm_run), *options]) == 0
    torch_text = capsys.readouterr().out
    assert main(["sample", str(lstm_run), *options, "--backend", "onnxruntime"]) == 0
    assert capsys.readouterr().out == torch_text


def test_the_onnx_backend_exports_a_run_first_and_refuses_a_stale_export(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    assert main(["sample", str(run), "--length", "5", "--backend", "onnxruntime"]) == 0
    assert (run / "export-onnx" / "step.onnx").exists()  # exported on first use
    record = json.loads((run / "export-onnx" / "export.json").read_text())
    record["weights_sha256"] = "0" * 64  # as if the run had trained on since
    (run / "export-onnx" / "export.json").write_text(json.dumps(record))
    assert main(["sample", str(run), "--length", "5", "--backend", "onnxruntime"]) == 2
    assert "holds other weights" in capsys.readouterr().err
