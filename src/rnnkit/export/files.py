"""``export_run``: a run's graphs written as ONNX or torch.export files, with ``export.json``.

    export_run("runs/quick", "onnx")          # runs/quick/export-onnx/{step,sequence}.onnx
    export_run("runs/quick", "pt2", "out/")   # out/step.pt2 (see GRAPHS)

``export.json`` holds what a program needs without rnnkit: each graph's file, inputs and
outputs (names, shapes with their dynamic axes, dtypes), the state layout, the vocabulary,
the model's configuration, the rnnkit, torch and ONNX opset versions, and the sha256 of the
checkpoint's weights. The folder is written whole or not at all: into a temporary folder
beside it, renamed into place at the end; an existing folder is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import torch

from rnnkit import __version__
from rnnkit.export import charlm
from rnnkit.tasks import lifecycle
from rnnkit.training import run_dir as layout

FORMATS = ("onnx", "pt2")
# torch.export (torch 2.13) turns the layer's time loop into a fixed number of steps, so a
# .pt2 sequence graph would not take other lengths: pt2 has the step graph only.
GRAPHS = {"onnx": ("step", "sequence"), "pt2": ("step",)}
LEGACY_OPSET = 17
# the cores ONNX has an operator for; the others (a loop in Python) get the step graph only
FUSED = ("rnn", "relu", "irnn", "rnn-relu", "lstm", "clstm", "gru")
EXPORTABLE = ("charlm",)  # the tasks with graphs so far


def export_run(
    run_dir: str | Path, fmt: str = "onnx", out: str | Path | None = None, checkpoint="best"
) -> Path:
    """Export the run's model (see the module docstring); the folder written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if fmt == "onnx" and importlib.util.find_spec("onnxscript") is None:
        raise ValueError("ONNX export needs onnx and onnxscript: pip install 'rnnkit[export]'")
    task = lifecycle.task_of(run_dir)
    if task not in EXPORTABLE:
        raise ValueError(
            f"{run_dir} holds a {task} run; export has graphs for {', '.join(EXPORTABLE)} runs "
            "so far"
        )
    from rnnkit.tasks.charlm_runs import load_run

    run = load_run(run_dir, checkpoint)
    out = Path(out) if out is not None else run.run_dir / f"export-{fmt}"
    if out.exists():
        raise ValueError(f"{out} exists; rnnkit never overwrites an export (choose --out)")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: no folder {out.parent}")
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    except OSError as error:
        raise ValueError(f"cannot write {out}: {error.strerror}") from None
    try:
        names = [n for n in GRAPHS[fmt] if n == "step" or run.model.config.cell in FUSED]
        graphs = {name: _write_graph(run.model, name, fmt, staging) for name in names}
        record = _record(run, graphs, fmt, checkpoint)
        (staging / "export.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _quietly(export, *args, **kwargs):
    """``export(*args, **kwargs)`` without the exporters' progress lines on stdout and their
    warnings (axis names; the tracer's note that the layer's input checks are constants in
    the trace, which they are meant to be; the TorchScript exporter's deprecation)."""
    onnx_logger = logging.getLogger("torch.onnx")  # "torchvision is not installed" lines
    level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return export(*args, **kwargs)
    finally:
        onnx_logger.setLevel(level)


def _write_graph(model, name: str, fmt: str, folder: Path) -> dict:
    module = charlm.GRAPHS[name](model).eval()
    inputs = charlm.example_inputs(model, name)
    dynamic = charlm.dynamic_shapes(model, name)
    input_names, output_names = charlm.io_names(model, name)
    path = folder / f"{name}.{fmt}"
    with torch.no_grad():
        if fmt == "onnx" and name == "sequence":
            _legacy_onnx(module, inputs, path, input_names, output_names)
            extra = {"opset": LEGACY_OPSET}
        elif fmt == "onnx":
            program = _quietly(
                torch.onnx.export, module, inputs, dynamo=True, input_names=input_names,
                output_names=output_names, dynamic_shapes=dynamic, verbose=False,
            )  # fmt: skip
            _quietly(program.save, str(path))
            extra = {"opset": program.model.opset_imports.get("", None)}
        else:
            program = _quietly(torch.export.export, module, inputs, dynamic_shapes=dynamic)
            torch.export.save(program, path)
            extra = {}
    return {"file": path.name, **_signature(model, name, input_names, output_names), **extra}


def _legacy_onnx(module, inputs, path: Path, input_names, output_names) -> None:
    """The sequence graph through torch's TorchScript-based ONNX exporter: it writes the
    layer as ONNX's own LSTM/GRU/RNN operator, whose length is dynamic; the dynamo exporter
    (torch 2.13) unrolls the layer's time loop into the example's length."""
    axes = {output_names[0]: {0: "N", 1: "T"}, input_names[0]: {0: "N", 1: "T"}}
    axes.update({name: {1: "N"} for name in (*input_names[1:], *output_names[1:])})
    _quietly(
        torch.onnx.export, module, inputs, str(path), dynamo=False, input_names=input_names,
        output_names=output_names, dynamic_axes=axes, opset_version=LEGACY_OPSET,
    )  # fmt: skip


def _signature(model, graph: str, inputs: list[str], outputs: list[str]) -> dict:
    c = model.config
    state = ["num_layers", "N", "hidden_size"]
    first = ["N", "T"] if graph == "sequence" else ["N"]
    logits = ["N", "T", "vocab_size"] if graph == "sequence" else ["N", "vocab_size"]
    sizes = {"num_layers": c.num_layers, "hidden_size": c.hidden_size}
    sizes["vocab_size"] = model.vocab_size

    def shape(names):
        return [sizes.get(n, n) for n in names]

    ins = [{"name": inputs[0], "shape": first, "dtype": "int64"}]
    ins += [{"name": n, "shape": shape(state), "dtype": "float32"} for n in inputs[1:]]
    outs = [{"name": outputs[0], "shape": shape(logits), "dtype": "float32"}]
    outs += [{"name": n, "shape": shape(state), "dtype": "float32"} for n in outputs[1:]]
    return {"inputs": ins, "outputs": outs}


def weights_sha256(run_dir: Path, checkpoint: str) -> str:
    """The sha256 of a run's checkpoint weights (``checkpoints/<checkpoint>.safetensors``)."""
    path = Path(run_dir) / layout.CHECKPOINTS / f"{checkpoint}.safetensors"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(run, graphs: dict, fmt: str, checkpoint: str) -> dict:
    record = {
        "format": "rnnkit.export",
        "version": 1,
        "task": "charlm",
        "graph_format": fmt,
        "graphs": graphs,
        "state": {
            "parts": charlm.state_names(run.model),
            "layout": "(num_layers, N, hidden_size) each; zeros to start; feed *_out back",
        },
        "vocab": {"level": run.vocab.level, "unk_id": 0, "symbols": run.vocab.itos},
        "model": run.model.config.to_dict(run.model.vocab_size),
        "checkpoint": run.checkpoint,
        "step": run.step,
        "weights_sha256": weights_sha256(run.run_dir, run.checkpoint),
        "rnnkit_version": __version__,
        "torch_version": torch.__version__,
    }
    if fmt == "onnx":
        record["opset"] = {name: graph.pop("opset") for name, graph in graphs.items()}
    return record
