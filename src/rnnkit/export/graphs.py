"""One graph of an export, and how it is written as ONNX or torch.export (``.pt2``).

    Graph(module, {"ids": ids, "lengths": lengths}, ["logits"],
          axes={"ids": {0: "N", 1: "T"}, "lengths": {0: "N"}, "logits": {0: "N"}},
          over_time=True)

Each task's export module (``TaskSpec.export``) describes its graphs this way; this module
writes every one of them the same way:

- ONNX, a graph that runs a recurrent layer over a sequence (``over_time``): torch's
  TorchScript-based exporter, which writes the layer as ONNX's own LSTM/GRU/RNN operator with
  a dynamic length, and a padded batch's ``lengths`` as that operator's ``sequence_lens``
  (padding handled inside the graph). The dynamo exporter of torch 2.13 unrolls the time loop
  into the example's length; so only the cores ONNX has an operator for are written this way.
- ONNX, any other graph (one step): torch's dynamo exporter.
- pt2: ``torch.export`` of the module, its recurrent layers run as a masked scan over time
  (``rnnkit.export.padded``), so the length is dynamic and every core is exportable.

The named axes (``N``, ``T``, ...) are dynamic; every other size is the example's.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from rnnkit.export.padded import recurrent_layers, scanned

LEGACY_OPSET = 17
FUSED = ("rnn", "relu", "irnn", "rnn-relu", "lstm", "clstm", "gru")  # ONNX has an operator


@dataclass
class Graph:
    """A module (eval mode) with example inputs by ``forward``'s parameter names (passed by
    name: a graph may leave out optional ones; ``over_time`` graphs, written by the
    TorchScript exporter, positionally, so in ``forward``'s order with none left out), the
    names of its outputs, and the dynamic axes of both."""

    module: nn.Module
    inputs: dict[str, Tensor]
    outputs: list[str]
    axes: dict[str, dict[int, str]] = field(default_factory=dict)
    over_time: bool = False

    def call(self) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of the call that is traced: positional where the inputs are the
        first parameters of ``forward`` in its order (a pt2 program is then called
        positionally), by name where an optional one is left out between them."""
        parameters = list(inspect.signature(self.module.forward).parameters)
        names = list(self.inputs)
        if parameters[: len(names)] == names:
            return tuple(self.inputs.values()), {}
        return (), dict(self.inputs)

    def signature(self) -> dict:
        """Inputs and outputs with their shapes (dynamic axes by name) and dtypes."""
        with torch.no_grad():
            results = self.module(**self.inputs)
        results = results if isinstance(results, tuple) else (results,)
        outs = dict(zip(self.outputs, results, strict=True))
        return {"inputs": self._describe(self.inputs), "outputs": self._describe(outs)}

    def _describe(self, tensors: dict[str, Tensor]) -> list[dict]:
        described = []
        for name, tensor in tensors.items():
            axes = self.axes.get(name, {})
            shape = [axes.get(i, size) for i, size in enumerate(tensor.shape)]
            dtype = str(tensor.dtype).removeprefix("torch.")
            described.append({"name": name, "shape": shape, "dtype": dtype})
        return described


def write_graph(graph: Graph, name: str, fmt: str, folder: Path) -> dict:
    """Write ``graph`` as ``folder/<name>.<fmt>``: its file, signature (and ONNX opset). A
    write that fails, in either format, leaves no file at that path. The ONNX exporters'
    own failures become a one-line ValueError (pt2 is the way out); a pt2 failure is raised
    as it is, since no other format is left to suggest and it is rnnkit's to fix."""
    path = folder / f"{name}.{fmt}"
    try:
        with torch.no_grad():
            extra = _write_onnx(graph, name, path) if fmt == "onnx" else _write_pt2(graph, path)
    except BaseException:  # KeyboardInterrupt (Ctrl-C, SIGTERM) too: never half a graph
        path.unlink(missing_ok=True)
        raise
    return {"file": path.name, **graph.signature(), **extra}


def _write_onnx(graph: Graph, name: str, path: Path) -> dict:
    if graph.over_time:
        _check_fused(graph.module, name)
    try:
        return _onnx(graph, path, *graph.call())
    except MemoryError:
        raise
    except Exception as error:  # the exporters' own: a one-line error, not their dump
        said = next((line for line in str(error).splitlines() if line.strip()), "")
        raise ValueError(
            f"the ONNX exporter failed on the {name} graph ({type(error).__name__}: "
            f"{said.strip()[:200]}); try --format pt2"
        ) from error


def _write_pt2(graph: Graph, path: Path) -> dict:
    args, kwargs = graph.call()
    module = scanned(graph.module) if graph.over_time else graph.module
    program = _quietly(
        torch.export.export, module, args, kwargs=kwargs, dynamic_shapes=_dims(graph),
    )  # fmt: skip
    torch.export.save(program, path)
    return {"by_name": bool(kwargs)}  # call the program with keywords


def onnx_refusal(module: nn.Module, graph: str) -> str | None:
    """Why ONNX cannot hold ``graph``'s recurrent layers over a sequence (the TorchScript
    exporter writes only a fused layer as ONNX's operator), or None where it can."""
    from rnnkit.nn.layer_base import StandardLayer

    for _, layer in recurrent_layers(module):
        if not isinstance(layer, StandardLayer):
            return (
                f"the {graph} graph runs a recurrent layer over a sequence, which ONNX has an "
                f"operator for only with the cores {', '.join(FUSED)}; this model's has none "
                "(export it with --format pt2)"
            )
        reasons = layer._loop_reasons(False) or (["impl='loop'"] if layer.impl == "loop" else [])
        if reasons:
            return (
                f"the {graph} graph runs a recurrent layer over a sequence, which ONNX has an "
                f"operator for only as the fused layer; this model's runs its own loop, with "
                f"{' and '.join(reasons)} (export it with --format pt2)"
            )
    return None


def _onnx(graph: Graph, path: Path, args: tuple, kwargs: dict) -> dict:
    """Write ``graph`` as ONNX: over a sequence the TorchScript exporter, else dynamo's."""
    if graph.over_time:
        _legacy_onnx(graph, path)
        return {"opset": LEGACY_OPSET}
    program = _quietly(
        torch.onnx.export, graph.module, args, kwargs=kwargs, dynamo=True,
        input_names=list(graph.inputs), output_names=graph.outputs,
        dynamic_shapes=_dims(graph), verbose=False,
    )  # fmt: skip
    _quietly(program.save, str(path))
    return {"opset": program.model.opset_imports.get("", None)}


def _check_fused(module: nn.Module, graph: str) -> None:
    refusal = onnx_refusal(module, graph)
    if refusal:
        raise ValueError(refusal)


def _dims(graph: Graph) -> dict:
    """torch.export's dynamic shapes: one ``Dim`` per axis name, shared by the inputs."""
    dims: dict[str, torch.export.Dim] = {}
    shapes = {}
    for name in graph.inputs:
        axes = graph.axes.get(name, {})
        shapes[name] = {
            i: dims.setdefault(symbol, torch.export.Dim(symbol, min=1, max=1_000_000))
            for i, symbol in axes.items()
        }
    return shapes


def _legacy_onnx(graph: Graph, path: Path) -> None:
    names = [*graph.inputs, *graph.outputs]
    axes = {name: graph.axes[name] for name in names if name in graph.axes}
    _quietly(
        torch.onnx.export, graph.module, tuple(graph.inputs.values()), str(path), dynamo=False,
        input_names=list(graph.inputs), output_names=graph.outputs, dynamic_axes=axes,
        opset_version=LEGACY_OPSET,
    )  # fmt: skip


def _quietly(export, *args, **kwargs):
    """``export(*args, **kwargs)`` without the exporters' progress lines on stdout, their
    warnings (axis names; the tracer's note that the layer's input checks are constants in
    the trace, which they are meant to be; the TorchScript exporter's deprecation), and the
    C++ shape-inference notes about packing that the TorchScript exporter writes to stderr."""
    onnx_logger = logging.getLogger("torch.onnx")  # "torchvision is not installed" lines
    level = onnx_logger.level
    onnx_logger.setLevel(logging.ERROR)
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return export(*args, **kwargs)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        onnx_logger.setLevel(level)
