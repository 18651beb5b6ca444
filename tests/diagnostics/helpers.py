"""References for the diagnostics tests: a hand-written loop over torch.nn's own cells, with
``retain_grad`` on every state, so that autograd's ``dL/dh_t`` is read off directly."""

from __future__ import annotations

import torch
from torch import nn

TORCH_CELLS = {"RNN": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}


def torch_cells(layer: nn.Module) -> list[nn.Module]:
    """torch.nn cells holding copies of an rnnkit (or torch.nn) layer's weights, per layer."""
    kind = next(c.__name__ for c in type(layer).__mro__ if c.__name__ in TORCH_CELLS)
    cells = []
    for k in range(layer.num_layers):
        options = {"nonlinearity": layer.nonlinearity} if kind == "RNN" else {}
        size = layer.input_size if k == 0 else layer.hidden_size
        cell = TORCH_CELLS[kind](size, layer.hidden_size, **options).double()
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(layer, f"{name}_l{k}"))
        cells.append(cell)
    return cells


def hand_loop(cells, x: torch.Tensor):
    """Run ``cells`` (bottom first) over ``x`` (T, N, D) from zeros, keeping every state's
    gradient. Returns ``states[layer][t]``: a tensor, or (h, c) for an LSTM."""
    T, N = x.shape[:2]
    states = []
    layer_input = list(x.unbind(0))
    for cell in cells:
        zeros = x.new_zeros(N, cell.hidden_size)
        state = (zeros, zeros.clone()) if isinstance(cell, nn.LSTMCell) else zeros
        kept = []
        for t in range(T):
            state = cell(layer_input[t], state)
            for part in state if isinstance(state, tuple) else (state,):
                part.retain_grad()
            kept.append(state)
        states.append(kept)
        layer_input = [s[0] if isinstance(s, tuple) else s for s in kept]
    return states


def norms_by_distance(states, part: int = 0) -> list[float]:
    """Mean over the batch of the per-example norm of each state's .grad, last step first."""
    values = []
    for state in reversed(states):
        tensor = state[part] if isinstance(state, tuple) else state
        values.append(float(tensor.grad.norm(dim=1).mean()))
    return values
