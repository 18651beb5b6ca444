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

The activations are recomputed from the recorded inputs and states with the cell's parameters,
following the cell's own equations (:mod:`rnnkit.nn.cells`), for the standard cells: rnnkit's
and torch.nn's ``RNNCell``, ``LSTMCell``, ``GRUCell`` (both GRU forms). For any other cell only
its emitted ``h`` is measured, as tanh units (``|h| > 0.95``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.diagnostics.recording import Recording
from rnnkit.nn import GRUCell, LSTMCell, RNNCell

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
    """Every gate's activation of a standard cell, ``{name: (values, nonlinearity)}``, given
    the inputs ``x`` (T, N, D) and the states each step started from (``prev``: (T, N, H), or
    ``(h, c)`` for an LSTM); ``{}`` for a cell that is not a standard one."""
    kind = type(cell)
    if kind in (RNNCell, nn.RNNCell):
        return _rnn(cell, x, prev)
    if kind in (LSTMCell, nn.LSTMCell):
        return _lstm(cell, x, *prev)
    if kind in (GRUCell, nn.GRUCell):
        return _gru(cell, x, prev, getattr(cell, "reset_after", True))
    return {}


def _rnn(cell, x, h_prev):
    a = F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h_prev, cell.weight_hh, cell.bias_hh)
    if cell.nonlinearity == "tanh":
        return {"h": (torch.tanh(a), "tanh")}  # h_t = tanh(a_t)
    return {"h": (torch.relu(a), "relu")}


def _lstm(cell, x, h_prev, c_prev):
    gates = F.linear(x, cell.weight_ih, cell.bias_ih)
    gates = gates + F.linear(h_prev, cell.weight_hh, cell.bias_hh)  # (T, N, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # each (T, N, H)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c_prev + i * g
    return {
        "i": (i, "sigmoid"),
        "f": (f, "sigmoid"),
        "g": (g, "tanh"),
        "o": (o, "sigmoid"),
        "tanh_c": (torch.tanh(c), "tanh"),  # h_t = o * tanh(c_t)
    }


def _gru(cell, x, h_prev, reset_after: bool):
    x_r, x_z, x_n = F.linear(x, cell.weight_ih, cell.bias_ih).chunk(3, dim=-1)  # (T, N, H)
    if reset_after:  # torch's form: r multiplies W_hn h_{t-1} + b_hn
        h_r, h_z, h_n = F.linear(h_prev, cell.weight_hh, cell.bias_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
    else:  # Cho et al. 2014: r multiplies h_{t-1} before the matmul
        w_r, w_z, w_n = cell.weight_hh.chunk(3, dim=0)  # each (H, H)
        b_r, b_z, b_n = cell.bias_hh.chunk(3) if cell.bias_hh is not None else (None,) * 3
        r = torch.sigmoid(x_r + F.linear(h_prev, w_r, b_r))
        z = torch.sigmoid(x_z + F.linear(h_prev, w_z, b_z))
        n = torch.tanh(x_n + F.linear(r * h_prev, w_n, b_n))
    return {"r": (r, "sigmoid"), "z": (z, "sigmoid"), "n": (n, "tanh")}


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
