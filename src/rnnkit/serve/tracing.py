"""Every unit of a run's recurrent layer over one input, and the gradient of the task's loss
with respect to every step's state: what the Neurons and Gradients views show.

    reading = reading.read(run, "tag", "I met Ann in Oslo .")
    traced = trace(run.model, reading)      # traced.values[cell, kind, t, unit]
    flow = gradients(run.model, reading_for_loss, "sum")   # ||dL/ds_t|| per cell, part, t

Both run the model's own ``forward`` once with its recurrent layer recorded by
``rnnkit.diagnostics.record_steps`` (stacked and bidirectional layers too: a cell is one
layer's one direction, ``k = layer * directions + direction``); the gradient norms are
``rnnkit.diagnostics.gradient_flow``'s, on one example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnkit.diagnostics.gradient_flow import gradient_flow, memory_horizon
from rnnkit.diagnostics.recording import Recording, find_recurrent_layer, record_steps, state_parts
from rnnkit.serve.reading import Reading, check_loss


@dataclass
class Traced:
    """The pieces read and every unit's state: ``values[k, j]`` (T, H) is part ``kinds[j]``
    (``h``; ``c`` for an LSTM) of cell ``k`` (named ``cells[k]``); ``inputs[k]`` (T, D) is
    what the cell read and ``previous[k]`` the state each of its steps started from."""

    pieces: list[str]
    level: str
    cells: list[str]
    kinds: tuple[str, ...]
    values: np.ndarray  # (C, K, T, H)
    modules: list[nn.Module]
    inputs: list[torch.Tensor]
    previous: list[tuple[torch.Tensor, ...]]  # per cell, K tensors (T, 1, H)

    @property
    def layers(self) -> int:
        return self.values.shape[0]

    @property
    def units(self) -> int:
        return self.values.shape[3]

    def unit(self, layer: int, kind: str, unit: int) -> np.ndarray:
        """One unit's activation over the input, (T,); a ValueError names what exists."""
        if not 0 <= layer < self.layers:
            raise ValueError(f"layer must be in 0..{self.layers - 1}, got {layer}")
        if kind not in self.kinds:
            raise ValueError(f"kind must be one of {', '.join(self.kinds)}, got {kind!r}")
        if not 0 <= unit < self.units:
            raise ValueError(f"unit must be in 0..{self.units - 1}, got {unit}")
        return self.values[layer, self.kinds.index(kind), :, unit]


def _record(model: nn.Module, reading: Reading) -> tuple[Recording, object, int]:
    """The recording of one ``reading.forward()``, its output, and the layer's directions."""
    _, layer = find_recurrent_layer(model, reading.layer)
    with record_steps(model, reading.layer, bidirectional=True) as recording:
        output = reading.forward()
    return recording, output, 2 if layer.bidirectional else 1


def cell_names(count: int, directions: int) -> list[str]:
    if directions == 1:
        return [f"layer {k}" for k in range(count)]
    return [f"layer {k // 2} {('forward', 'backward')[k % 2]}" for k in range(count)]


@torch.no_grad()
def trace(model: nn.Module, reading: Reading) -> Traced:
    """Every unit's state at every step of ``reading`` (see the module docstring)."""
    recording, _, directions = _record(model, reading)
    steps, cells = recording.steps, recording.cells
    kinds = state_parts(cells[0], steps.steps[0][0])
    parts = [_parts(steps.stacked(k)) for k in range(len(cells))]  # K x (T, 1, H)
    values = torch.stack([torch.stack([p[:, 0] for p in cell]) for cell in parts])
    inputs, previous = [], []
    for k in range(len(cells)):
        layer, direction = divmod(k, directions)
        if layer == 0:
            inputs.append(recording.inputs[:, 0])
        else:
            below = range((layer - 1) * directions, layer * directions)
            outs = [torch.stack([steps.outputs[j](s) for s in steps.steps[j]]) for j in below]
            inputs.append(torch.cat(outs, dim=-1)[:, 0])  # (T, D)
        start = _parts(recording.initial[k])
        pairs = zip(parts[k], start, strict=True)
        previous.append(tuple(_shifted(part, first[None], direction) for part, first in pairs))
    names = cell_names(len(cells), directions)
    array = values.float().cpu().numpy()  # (C, K, T, H)
    return Traced(reading.pieces, reading.level, names, kinds, array, cells, inputs, previous)


def _parts(state) -> tuple[torch.Tensor, ...]:
    return (state,) if isinstance(state, torch.Tensor) else tuple(state)


def _shifted(states: torch.Tensor, first: torch.Tensor, direction: int) -> torch.Tensor:
    """The state each step started from: the one before it in the cell's own direction."""
    if direction == 0:
        return torch.cat([first, states[:-1]])
    return torch.cat([states[1:], first])


def _finite(values: list[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def gradients(model: nn.Module, reading: Reading, how: str) -> dict:
    """``||dL/ds_t||`` for every cell, state part and step ``t`` of ``reading`` (its task's
    loss, ``last`` or ``sum``), and for a unidirectional layer each curve's memory horizon
    (the furthest step back whose norm is at least 1e-3 of the last step's)."""
    check_loss(how)
    with torch.enable_grad():
        recording, output, directions = _record(model, reading)
        loss = reading.loss(output, how)
        flow = gradient_flow(loss, recording)
    by_step = [{part: _finite(curve[::-1]) for part, curve in cell.items()} for cell in flow.norms]
    horizons = None
    if directions == 1:
        horizons = [{part: memory_horizon(c) for part, c in cell.items()} for cell in flow.norms]
    return {
        "pieces": reading.pieces,
        "cells": cell_names(len(flow.norms), directions),
        "norms": by_step,
        "horizons": horizons,
        "loss": float(loss.detach()),
        "how": how,
    }
