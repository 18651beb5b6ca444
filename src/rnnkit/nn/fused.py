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


_CUDNN_MODES = {"rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU", "lstm": "LSTM", "gru": "GRU"}


def stack_weights(cells: Sequence[nn.Module]) -> list[torch.Tensor]:
    """The stack's parameters in the order the fused kernels take them: per layer and
    direction, ``weight_ih, weight_hh`` and, with biases, ``bias_ih, bias_hh``."""
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    if cells[0].bias_ih is None:
        names = names[:2]
    return [getattr(cell, name) for cell in cells for name in names]


def flatten_weights(mode: str, cells: Sequence[nn.Module], *, bidirectional: bool) -> bool:
    """On cuDNN, put the stack's weights in one contiguous buffer that the cells' parameters
    become views of (the same ``Parameter`` objects, so optimizers and state dicts see no
    change), as ``torch.nn.LSTM.flatten_parameters`` does: otherwise cuDNN copies every weight
    into such a buffer at each call and warns. Returns whether it flattened: nothing to do
    off CUDA, with cuDNN disabled, or for weights of mixed dtypes or shared storage."""
    weights = stack_weights(cells)
    first = weights[0]
    if not first.is_cuda or not torch.backends.cudnn.is_acceptable(first):
        return False
    if any(w.dtype != first.dtype or not w.is_cuda for w in weights):
        return False
    if len({w.data_ptr() for w in weights}) != len(weights):
        return False
    if not torch._use_cudnn_rnn_flatten_weight():
        return False
    from torch.backends.cudnn import rnn as cudnn_rnn

    directions = 2 if bidirectional else 1
    with torch.cuda.device_of(first), torch.no_grad():
        torch._cudnn_rnn_flatten_weight(
            weights,
            len(weights) // len(cells),
            cells[0].weight_ih.shape[1],
            cudnn_rnn.get_cudnn_mode(_CUDNN_MODES[mode]),
            cells[0].hidden_size,
            0,  # proj_size
            len(cells) // directions,
            False,  # batch_first: the kernels are called time-major
            bidirectional,
        )
    return True


def is_flat(cells: Sequence[nn.Module]) -> bool:
    """The stack's weights lie one after another in one storage (what ``flatten_weights``
    makes), so cuDNN takes them without a copy."""
    weights = stack_weights(cells)
    storages = {w.untyped_storage().data_ptr() for w in weights}
    return len(storages) == 1


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
    weights = stack_weights(cells)
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
