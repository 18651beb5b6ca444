"""The fused path: a stack of standard cells on torch's RNN kernels (oneDNN on the CPU, cuDNN
on the GPU), the kernels torch.nn.RNN/LSTM/GRU use, called with the cells' own parameters."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnkit.nn import cells as standard_cells
from rnnkit.nn.sequences import Batch, pack_for_fused
from rnnkit.nn.states import map_state

_FUSED_OPS = {
    "rnn_tanh": torch.rnn_tanh,
    "rnn_relu": torch.rnn_relu,
    "lstm": torch.lstm,
    "gru": torch.gru,
}


def _cell_mode(cell: nn.Module) -> str | None:
    kind = type(cell)
    if getattr(cell, "recurrent_dropout", 0):  # the kernels know no recurrent dropout
        return None
    if kind in (standard_cells.RNNCell, nn.RNNCell):
        return "rnn_" + cell.nonlinearity
    if kind in (standard_cells.LSTMCell, nn.LSTMCell):
        return "lstm"
    if kind is nn.GRUCell or (kind is standard_cells.GRUCell and cell.reset_after):
        return "gru"
    return None


def fused_mode(cells: Sequence[nn.Module]) -> str | None:
    """The fused kernel that can run this stack of cells, or None."""
    modes = {_cell_mode(cell) for cell in cells}
    if len(modes) != 1 or None in modes:
        return None
    sizes = {cell.hidden_size for cell in cells}
    biases = {cell.bias_ih is not None for cell in cells}
    if len(sizes) != 1 or len(biases) != 1:
        return None
    return modes.pop()


def fused_stack(
    mode: str,
    batch: Batch,
    hx,
    cells: Sequence[nn.Module],
    *,
    num_layers: int,
    dropout: float,
    training: bool,
    bidirectional: bool,
):
    """Run a stack of standard cells on torch's fused RNN kernels. Returns time-major padded
    output (T, N, num_directions * H) and the stacked final state."""
    has_biases = cells[0].bias_ih is not None
    names = (
        ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        if has_biases
        else ("weight_ih", "weight_hh")
    )
    weights = [getattr(cell, name) for cell in cells for name in names]
    op = _FUSED_OPS[mode]
    hx_list = list(hx) if mode == "lstm" else hx
    options = (has_biases, num_layers, float(dropout), training, bidirectional)
    if batch.lengths is None:
        result = op(batch.x, hx_list, weights, *options, False)
        return result[0], _final(mode, result)
    packed = pack_for_fused(batch)
    order, restore = packed.sorted_indices, packed.unsorted_indices
    hx_list = (
        [h.index_select(1, order) for h in hx_list] if mode == "lstm" else hx.index_select(1, order)
    )
    result = op(packed.data, packed.batch_sizes, hx_list, weights, *options)
    output = PackedSequence(result[0], packed.batch_sizes, order, restore)
    output = pad_packed_sequence(output, total_length=batch.x.shape[0])[0]
    final = map_state(_final(mode, result), lambda t: t.index_select(1, restore))
    return output, final


def _final(mode: str, result):
    return (result[1], result[2]) if mode == "lstm" else result[1]


# one step of a standard cell as torch's fused cell kernel: (x, state, cell) -> new state
_CELL_KERNELS = {
    "rnn_tanh": lambda x, h, c: torch.rnn_tanh_cell(x, h, *_weights(c)),
    "rnn_relu": lambda x, h, c: torch.rnn_relu_cell(x, h, *_weights(c)),
    "lstm": lambda x, state, c: tuple(torch.lstm_cell(x, state, *_weights(c))),
    "gru": lambda x, h, c: torch.gru_cell(x, h, *_weights(c)),
}


def _weights(cell: nn.Module) -> tuple:
    return cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh


def fused_step(cell: nn.Module, x: torch.Tensor, state):
    """One step of ``cell`` on the input ``x`` (N, D): torch's fused cell kernel for a
    standard cell (one call instead of a dozen; what one-token generation spends its time
    on), the cell's own readable ``step`` for any other. The same numbers up to rounding."""
    mode = _cell_mode(cell)
    if mode is None:
        return cell.step(cell.project_input(x), state)
    return _CELL_KERNELS[mode](x, state, cell)
