"""A recurrent layer over a padded batch as a scan over time, for ``torch.export``.

    program_model = scanned(model)      # a copy whose recurrent layers run as ScannedLayer

torch.export cannot trace a PackedSequence (pytorch#62240), and it unrolls a layer's time
loop into the example's length. :class:`ScannedLayer` runs the same cells (``fused_step``:
torch's cell kernels for the standard cores) under ``torch._higher_order_ops.scan``, which
torch.export keeps as one operator whose length is dynamic. Padding is handled inside the
graph, with a mask instead of packing::

    m_t = t < lengths[n]
    s_t = m_t ? cell(x_t, s_{t-1}) : s_{t-1}        each direction; backward: t = T-1 .. 0
    y_t = m_t ? h_t : 0

so the forward direction's final state is the one at each sequence's last real step, the
backward direction starts from its initial state at each sequence's own end, and outputs past
a length are zero: what the layer gives with ``lengths=`` (packed), to rounding.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from rnnkit.nn.fused import fused_step
from rnnkit.nn.layers import layer_cells


class ScannedLayer(nn.Module):
    """``forward(input, state=None, *, lengths=None) -> (output, final state)`` of a
    recurrent layer (``rnnkit.nn`` standard layer or ``Recurrent``), in torch's layouts; it
    stands in for the layer, so it answers the layer's ``batch_first``, ``bidirectional``,
    ``hidden_size`` and ``num_layers`` to a module that wraps it (seq2seq's ``ReadOutput``)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer
        self.cell_state = isinstance(layer_cells(layer)[0].initial_state(1), tuple)
        self.directions = 2 if layer.bidirectional else 1
        self.batch_first, self.bidirectional = layer.batch_first, layer.bidirectional
        self.hidden_size, self.num_layers = layer.hidden_size, layer.num_layers

    def forward(self, input: Tensor, state=None, *, lengths=None):
        from torch._higher_order_ops.scan import scan

        layer = self.layer
        x = input.transpose(0, 1) if layer.batch_first else input  # (T, N, D)
        steps = torch.arange(x.shape[0], device=x.device)
        if lengths is None:
            lengths = torch.full((x.shape[1],), x.shape[0], dtype=torch.long)
        mask = (steps[:, None] < lengths.to(x.device)[None, :]).unsqueeze(-1)  # (T, N, 1)
        initial = self._initial(x, state)
        cells = layer_cells(layer)
        finals = []
        for depth in range(layer.num_layers):
            outputs = []
            for direction in range(self.directions):
                k = depth * self.directions + direction
                step = _masked_step(cells[k], self.cell_state)
                final, ys = scan(step, initial[k], (x, mask), reverse=direction == 1)
                finals.append(final)
                outputs.append(ys)
            x = torch.cat(outputs, dim=-1)  # (T, N, D * H): eval mode, no dropout between
        output = x.transpose(0, 1) if layer.batch_first else x
        if self.cell_state:
            return output, tuple(torch.stack([f[i] for f in finals]) for i in (0, 1))
        return output, torch.stack(finals)

    def _initial(self, x: Tensor, state) -> list:
        count = self.layer.num_layers * self.directions
        if state is None:
            zeros = x.new_zeros(count, x.shape[1], self.layer.hidden_size)
            state = (zeros, zeros) if self.cell_state else zeros
        if self.cell_state:
            return [(state[0][k], state[1][k]) for k in range(count)]
        return [state[k] for k in range(count)]


def _masked_step(cell: nn.Module, pair: bool):
    def step(carry, inputs):
        x_t, m_t = inputs
        new = fused_step(cell, x_t, carry)
        if pair:
            new = tuple(torch.where(m_t, a, b) for a, b in zip(new, carry, strict=True))
            h = new[0]
        else:
            new = h = torch.where(m_t, new, carry)
        return new, torch.where(m_t, h, torch.zeros_like(h))

    return step


def recurrent_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's recurrent layers (outermost only), by their module names."""
    from rnnkit.nn.layer_base import StandardLayer
    from rnnkit.nn.layers import Recurrent

    found = []
    for name, module in model.named_modules():
        if isinstance(module, (StandardLayer, Recurrent)):
            if not any(name.startswith(outer + ".") for outer, _ in found):
                found.append((name, module))
    return found


def scanned(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (in eval mode) whose recurrent layers are :class:`ScannedLayer`s."""
    copied = copy.deepcopy(model).eval()
    for name, layer in recurrent_layers(copied):
        parent, _, attribute = name.rpartition(".")
        owner = copied.get_submodule(parent) if parent else copied
        setattr(owner, attribute, ScannedLayer(layer))
    return copied
