"""The cell builders as they were before the one registry of cores (commit 4c5b9d8), copied
verbatim, so that tests/models/test_recurrent.py can prove that every old name still builds
the very weights it built, draw for draw. Do not edit: this is the "before"."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

import rnnkit.nn as rn
from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn.cells import LSTMCell
from rnnkit.nn.init import chrono_, forget_gate_bias_, identity_

# -- src/rnnkit/models/recurrent.py ------------------------------------------------------------


def _rnn(input_size, hidden_size, horizon=None, **options):
    return RNN(input_size, hidden_size, nonlinearity="tanh", **options)


def _relu(input_size, hidden_size, horizon=None, **options):
    return RNN(input_size, hidden_size, nonlinearity="relu", **options)


def _irnn(input_size, hidden_size, horizon=None, **options):
    return identity_(RNN(input_size, hidden_size, nonlinearity="relu", **options))


def _lstm(input_size, hidden_size, horizon=None, **options):
    return forget_gate_bias_(LSTM(input_size, hidden_size, **options), 1.0)


def _clstm(input_size, hidden_size, horizon=None, **options):
    if horizon is None:
        raise ValueError("clstm (chrono-initialised LSTM) needs the task's horizon in steps")
    return chrono_(LSTM(input_size, hidden_size, **options), horizon)


def _gru(input_size, hidden_size, horizon=None, **options):
    return GRU(input_size, hidden_size, **options)


RECURRENT_CORES: dict[str, Callable[..., nn.Module]] = {
    "rnn": _rnn,
    "relu": _relu,
    "irnn": _irnn,
    "lstm": _lstm,
    "clstm": _clstm,
    "gru": _gru,
}


def build_recurrent(
    name: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    batch_first: bool = True,
    horizon: int | None = None,
    **options,
) -> nn.Module:
    """The recurrent core called ``name`` (see the module docstring); ``horizon``: the longest
    dependency of the task in steps (needed by ``clstm``, ignored by the others)."""
    if name not in RECURRENT_CORES:
        raise ValueError(f"unknown cell {name!r}; choose from {', '.join(sorted(RECURRENT_CORES))}")
    return RECURRENT_CORES[name](
        input_size,
        hidden_size,
        horizon=horizon,
        num_layers=num_layers,
        batch_first=batch_first,
        **options,
    )


# -- src/rnnkit/models/language_model.py -------------------------------------------------------

CELLS = ("lstm", "gru", "gru-lectures", "rnn", "rnn-relu")


def _recurrent_layer(config) -> nn.Module:
    """The rnnkit layer for ``config.cell``; its parameters and state dict are torch.nn's."""
    args = (config.input_size, config.hidden_size, config.num_layers)
    # The layer drops out between its layers only; with one layer the model's own dropout
    # (on the top output) is all there is, and torch.nn warns if given a layer dropout.
    kwargs = {"dropout": config.dropout if config.num_layers > 1 else 0.0}
    if config.cell == "lstm":
        return rn.LSTM(*args, **kwargs)
    if config.cell == "gru":
        return rn.GRU(*args, **kwargs)
    if config.cell == "gru-lectures":
        return rn.GRU(*args, reset_after=False, **kwargs)
    return rn.RNN(*args, nonlinearity="relu" if config.cell == "rnn-relu" else "tanh", **kwargs)


# -- src/rnnkit/models/seq2seq.py --------------------------------------------------------------

SEQ2SEQ_CELLS = ("rnn", "relu", "irnn", "lstm", "gru")


# -- src/rnnkit/models/captioner.py, CaptionDecoder.__init__ -----------------------------------


def caption_cell(input_size: int, hidden_size: int) -> nn.Module:
    return LSTMCell(input_size, hidden_size)  # self.cell = LSTMCell(E + extra, H)
