r"""Gate saturation: how many units sit on the flat part of their nonlinearity.

A unit whose nonlinearity is saturated passes almost no gradient: ``sigma'(a) = s (1 - s)`` is
below 0.05 once ``s < 0.05`` or ``s > 0.95``, and ``tanh'(a) = 1 - y^2`` is below 0.1 once
``|y| > 0.95``. For a ReLU the flat part is zero (``relu' = 0`` wherever the unit is off). Each
gate is reported as ``{"saturated", "low", "high"}``: the shares of its values over the batch,
the steps and the units below and above the thresholds (``saturated = low + high``):

    sigmoid gates (i, f, o; r, z)   low: s < 0.05        high: s > 0.95
    tanh units (g, tanh(c); n; h)   low: y < -0.95       high: y > 0.95
    relu units (h of a ReLU RNN)    low: y == 0          high: none

For an LSTM the forget gate's two sides mean different things: ``high`` is a cell that keeps
its memory, ``low`` one that wipes it.

The activations are recomputed from the recorded inputs and states by the cell's own
``activations`` (the code its step runs), for every cell of :mod:`rnnkit.nn` (torch.nn's
``RNNCell``, ``LSTMCell`` and ``GRUCell`` as rnnkit's on the same parameters). The gates each
reports are its ``gate_kinds``: an LSTM's ``i, f, g, o, tanh_c`` (peephole and layer-normalised
too; for ``lnlstm``, ``tanh_c`` is ``tanh(LN(c_t))``), a GRU's ``r, z, n`` (the lectures' form
and ``lngru`` too), MUT1-3's ``z, r, n``, minGRU's ``z``, minLSTM's ``f, i``, the RG-LRU's
recurrence gate ``r`` and input gate ``i``. For any other cell only its emitted ``h`` is
measured, as tanh units (``|h| > 0.95``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.recording import Recording
from rnnkit.nn import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.states import map_state

SIGMOID_LOW, SIGMOID_HIGH = 0.05, 0.95
TANH_LIMIT = 0.95


def shares(values: Tensor, kind: str) -> dict[str, float]:
    """``{"saturated", "low", "high"}`` for the values of one gate (see the module docstring)."""
    if kind == "sigmoid":
        low, high = values < SIGMOID_LOW, values > SIGMOID_HIGH
    elif kind == "tanh":
        low, high = values < -TANH_LIMIT, values > TANH_LIMIT
    elif kind == "relu":
        low, high = values == 0, torch.zeros_like(values, dtype=torch.bool)
    else:
        raise ValueError(f"unknown nonlinearity {kind!r}; expected sigmoid, tanh or relu")
    low, high = float(low.double().mean()), float(high.double().mean())
    return {"saturated": low + high, "low": low, "high": high}


def gate_activations(cell: nn.Module, x: Tensor, prev) -> dict[str, tuple[Tensor, str]]:
    """Every gate's activation, ``{name: (values, nonlinearity)}``, given the inputs ``x``
    (T, N, D) and the states each step started from (``prev``: (T, N, H), or ``(h, c)`` for
    an LSTM), computed by the cell's own ``activations`` (the code its step runs), all T
    steps at once; ``{}`` for a cell without them. The cell is read as in evaluation: no
    recurrent dropout; a :class:`rnnkit.nn.Zoneout` is measured by the cell inside it."""
    cell = measured_cell(cell)
    kinds = getattr(cell, "gate_kinds", None)
    if not kinds or not hasattr(cell, "activations"):
        return {}
    steps, batch = x.shape[:2]
    xp = cell.project_input(x).flatten(0, 1)  # (T N, G H)
    flat = map_state(prev, lambda part: part.flatten(0, 1))  # (T N, H)
    training = cell.training
    cell.train(False)
    try:
        values = cell.activations(xp, flat)
    finally:
        cell.train(training)
    return {name: (values[name].unflatten(0, (steps, batch)), kind) for name, kind in kinds.items()}


def measured_cell(cell: nn.Module) -> nn.Module:
    """The cell whose ``activations`` are measured: torch.nn's cells as rnnkit's on the same
    parameters (the same equations), a wrapper's cell (zoneout) for the wrapper."""
    for torch_cell, ours in _TORCH_CELLS.items():
        if type(cell) is torch_cell:
            weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
            options = {"nonlinearity": cell.nonlinearity} if ours is RNNCell else {}
            return ours.from_parameters(*weights, **options)
    inner = getattr(cell, "cell", None)
    if not hasattr(cell, "activations") and isinstance(inner, nn.Module):
        return measured_cell(inner)
    return cell


_TORCH_CELLS = {nn.RNNCell: RNNCell, nn.LSTMCell: LSTMCell, nn.GRUCell: GRUCell}


@torch.no_grad()
def layer_saturation(recording: Recording, layer: int) -> dict[str, dict[str, float]]:
    """``{gate: {"saturated", "low", "high"}}`` for one layer of a recording."""
    cell = recording.cells[layer]
    x = recording.layer_inputs(layer).detach()  # (T, N, D)
    prev = recording.previous_states(layer)
    prev = prev.detach() if isinstance(prev, Tensor) else tuple(p.detach() for p in prev)
    activations = gate_activations(cell, x, prev)
    if not activations:
        output = recording.steps.outputs[layer]
        h = torch.stack([output(s) for s in recording.steps.steps[layer]]).detach()
        activations = {"h": (h, "tanh")}
    return {name: shares(values, kind) for name, (values, kind) in activations.items()}


def saturation(recording: Recording) -> list[dict[str, dict[str, float]]]:
    """:func:`layer_saturation` of every layer, bottom first."""
    return [layer_saturation(recording, layer) for layer in range(recording.num_layers)]
