"""``export_run``: a run's graphs written as ONNX or torch.export files, with ``export.json``.

    export_run("runs/quick", "onnx")          # runs/quick/export-onnx/{step,sequence}.onnx
    export_run("runs/names", "pt2", "out/")   # out/forward.pt2

Every task exports the same way: its spec names its export module (``TaskSpec.export``),
which loads a run (``load(run_dir, checkpoint)``), describes its graphs
(``graphs(run, fmt) -> {name: rnnkit.export.graphs.Graph}``) and what a program needs beside them
(``describe(run) -> dict``: the vocabulary, the classes, the state layout, the config).
``export.json`` holds that, each graph's file, inputs and outputs (names, shapes with their
dynamic axes, dtypes), the rnnkit, torch and ONNX opset versions, and the sha256 of the
checkpoint's weights. The folder is written whole or not at all: into a temporary folder
beside it, renamed into place at the end (SIGTERM, as Ctrl-C, removes it: the command exits
with 130); an existing folder is never overwritten. The folder gets the mode ``mkdir`` gives
(0o777 less the umask), as the run folder has.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import torch

from rnnkit import __version__
from rnnkit.data.interrupts import sigterm_as_interrupt
from rnnkit.export.graphs import write_graph
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import get_spec, task_names
from rnnkit.training import run_dir as layout

FORMATS = ("onnx", "pt2")
QUANTIZATIONS = ("int8",)
# dynamic int8 (ONNX Runtime's quantize_dynamic): the recurrent operator's and the linear
# layers' weights stored as int8, activations quantised on the fly, per call
QUANTIZED_OPS = ["LSTM", "MatMul", "Gemm"]


def export_folder(run_dir: Path, fmt: str, quantize: str | None = None) -> Path:
    """The default folder of an export: ``RUN_DIR/export-FORMAT[-int8]``."""
    return Path(run_dir) / (f"export-{fmt}" + (f"-{quantize}" if quantize else ""))


def check_quantize(fmt: str, quantize: str | None) -> None:
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantize!r}; allowed: {', '.join(QUANTIZATIONS)}")
    if quantize is not None and fmt != "onnx":
        raise ValueError(f"--quantize {quantize} quantizes ONNX graphs; use --format onnx")


def exporter(task: str, run_dir=None):
    """The export module of ``task`` (its spec's ``export``); a ValueError naming the tasks
    that have one."""
    spec = get_spec(task)
    if spec.export is None:
        able = [name for name in task_names() if get_spec(name).export is not None]
        where = f"{run_dir} holds a {task} run; " if run_dir is not None else ""
        raise ValueError(f"{where}export has graphs for {', '.join(able)} runs")
    return importlib.import_module(spec.export)


def export_run(
    run_dir: str | Path,
    fmt: str = "onnx",
    out: str | Path | None = None,
    checkpoint="best",
    quantize: str | None = None,
) -> Path:
    """Export the run's model (see the module docstring); the folder written. ``quantize``
    ``int8``: ONNX graphs with int8 weights (default folder ``RUN_DIR/export-onnx-int8``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    check_quantize(fmt, quantize)
    if fmt == "onnx" and importlib.util.find_spec("onnxscript") is None:
        raise ValueError("ONNX export needs onnx and onnxscript: pip install 'rnnkit[export]'")
    run_dir = layout.check_run_dir(run_dir)  # a leading ~ expanded
    task = lifecycle.task_of(run_dir)
    module = exporter(task, run_dir)
    run = module.load(run_dir, checkpoint)
    out = Path(out).expanduser() if out is not None else export_folder(run.run_dir, fmt, quantize)
    if out.exists():
        raise ValueError(f"{out} exists; rnnkit never overwrites an export (choose --out)")
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: no folder {out.parent}")
    graphs = module.graphs(run, fmt)

    def write(staging: Path) -> None:
        written = {name: write_graph(graph, name, fmt, staging) for name, graph in graphs.items()}
        if quantize:
            for graph in written.values():
                _quantize(staging / graph["file"])
        record = _record(task, run, written, fmt, module.describe(run))
        record["quantize"] = quantize
        (staging / "export.json").write_text(json.dumps(record, indent=1), encoding="utf-8")

    _write_whole(out, write)
    return out


def _write_whole(out: Path, write) -> None:
    """``write(staging)`` into a hidden folder beside ``out``, renamed to ``out`` once it is
    complete; whatever stops it (an error, Ctrl-C, SIGTERM) removes the staging folder. The
    folder gets the mode a plain ``mkdir`` gives (0o777 less the umask), not ``mkdtemp``'s
    private 0o700."""
    with sigterm_as_interrupt():  # so that SIGTERM, as Ctrl-C, removes the staging folder
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        except OSError as error:
            raise ValueError(f"cannot write {out}: {error.strerror}") from None
        try:
            write(staging)
            staging.chmod(_folder_mode())
            staging.rename(out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _folder_mode() -> int:
    """The mode ``mkdir`` gives a new folder: 0o777 less the process's umask (read by setting
    it, so a stricter one is in force for that moment)."""
    umask = os.umask(0o077)
    os.umask(umask)
    return 0o777 & ~umask


def _quantize(path: Path) -> None:
    """Replace the ONNX file at ``path`` by its dynamically int8-quantised version."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = path.with_suffix(".int8.onnx")
    root = logging.getLogger()  # its advice to run a pre-processing pass (for static shapes)
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            path, quantized, op_types_to_quantize=QUANTIZED_OPS, weight_type=QuantType.QInt8
        )
    finally:
        root.setLevel(level)
    _quantize_shared_lstms(quantized)
    quantized.replace(path)


def _quantize_shared_lstms(path: Path) -> None:
    """ONNX Runtime's quantizer makes an int8 LSTM of the first LSTM operator reading a
    weight and leaves the others reading it in fp32; a graph that runs a layer step by step
    (the char model's sample graph) has one operator per step. Each of those becomes an int8
    LSTM on the int8 weights already made, and the fp32 weights no operator reads are
    dropped."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    made = {}  # the fp32 weight's name -> the int8 LSTM made of it
    for node in graph.node:
        if node.op_type == "DynamicQuantizeLSTM":
            made[node.input[1].removesuffix("_quantized")] = node
    # the exporter shares a weight between operators through Identity nodes
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    shared = [
        node for node in graph.node if node.op_type == "LSTM" and alias.get(node.input[1]) in made
    ]
    if not shared:  # a graph with one operator per weight (step, sequence) stays as written
        return
    for node in shared:  # each rewritten in place, so the nodes keep their order
        template = made[alias[node.input[1]]]
        inputs = list(node.input) + [""] * (8 - len(node.input))
        inputs[1:3] = template.input[1:3]
        quantized = onnx.helper.make_node(
            "DynamicQuantizeLSTM", inputs + list(template.input[8:]), list(node.output),
            name=node.name, domain=template.domain,
        )  # fmt: skip
        quantized.attribute.extend(template.attribute)
        node.CopyFrom(quantized)
    _drop_unread(graph)
    onnx.save(model, str(path))


def _drop_unread(graph) -> None:
    """Remove the Identity nodes and initializers that nothing reads any more."""
    while True:
        read = {name for node in graph.node for name in node.input}
        read |= {output.name for output in graph.output}
        idle = [n for n in graph.node if n.op_type == "Identity" and n.output[0] not in read]
        for node in idle:
            graph.node.remove(node)
        if not idle:
            break
    for initializer in [t for t in graph.initializer if t.name not in read]:
        graph.initializer.remove(initializer)


def weights_sha256(run_dir: Path, checkpoint: str) -> str:
    """The sha256 of a run's checkpoint weights (``checkpoints/<checkpoint>.safetensors``)."""
    path = Path(run_dir) / layout.CHECKPOINTS / f"{checkpoint}.safetensors"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(task: str, run, graphs: dict, fmt: str, described: dict) -> dict:
    record = {
        "format": "rnnkit.export",
        "version": 1,
        "task": task,
        "graph_format": fmt,
        "graphs": graphs,
        **described,
        "checkpoint": run.checkpoint,
        "step": run.step,
        "weights_sha256": weights_sha256(run.run_dir, run.checkpoint),
        "rnnkit_version": __version__,
        "torch_version": torch.__version__,
    }
    if fmt == "onnx":
        record["opset"] = {name: graph.pop("opset") for name, graph in graphs.items()}
    return record
