"""Shared helpers of the rnnkit.nn tests: references built from torch.nn with copied weights."""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit.nn as rn

MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")


def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a - e| / max |e|: the error relative to the size of the reference tensor."""
    scale = expected.detach().abs().max().clamp_min(1e-12)
    return float((actual.detach() - expected.detach()).abs().max() / scale)


def torch_layer(mode: str, *args, **kwargs) -> torch.nn.RNNBase:
    if mode == "lstm":
        return torch.nn.LSTM(*args, **kwargs)
    if mode == "gru":
        return torch.nn.GRU(*args, **kwargs)
    return torch.nn.RNN(*args, nonlinearity=mode[4:], **kwargs)


def rnnkit_layer(mode: str, *args, **kwargs):
    if mode == "lstm":
        return rn.LSTM(*args, **kwargs)
    if mode == "gru":
        return rn.GRU(*args, **kwargs)
    return rn.RNN(*args, nonlinearity=mode[4:], **kwargs)


def rnnkit_cell_factory(mode: str):
    if mode == "lstm":
        return rn.LSTMCell
    if mode == "gru":
        return rn.GRUCell
    return lambda i, h: rn.RNNCell(i, h, nonlinearity=mode[4:])


def recurrent_from_torch(torch_module: torch.nn.RNNBase, mode: str, **kwargs) -> rn.Recurrent:
    """A generic layer of rnnkit cells holding copies of a torch.nn layer's weights."""
    directions = 2 if torch_module.bidirectional else 1
    layer = rn.Recurrent(
        rnnkit_cell_factory(mode),
        torch_module.input_size,
        torch_module.hidden_size,
        num_layers=torch_module.num_layers,
        bidirectional=torch_module.bidirectional,
        batch_first=torch_module.batch_first,
        **kwargs,
    )
    with torch.no_grad():
        for k, cell in enumerate(layer.cells):
            suffix = f"_l{k // directions}" + ("_reverse" if k % directions else "")
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(torch_module, name + suffix))
    return layer


def random_state(mode: str, count: int, batch: int, hidden: int, generator=None):
    h = torch.randn(count, batch, hidden, generator=generator)
    if mode == "lstm":
        return h, torch.randn(count, batch, hidden, generator=generator)
    return h


def torch_reference(module, x, lengths, state, batch_first):
    """torch.nn on padded input with lengths: pack, run, pad back to the full length."""
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, final = module(packed, state)
    total = x.shape[1] if batch_first else x.shape[0]
    return pad_packed_sequence(out, batch_first=batch_first, total_length=total)[0], final


def flat(state) -> list[torch.Tensor]:
    return [state] if isinstance(state, torch.Tensor) else list(state)
