"""Named recurrent cores: the cells the lectures compare, each with its customary initialisation.

    build_recurrent("irnn", input_size=1, hidden_size=100)   # ReLU RNN, W_hh = I (Le et al.)

    rnn    tanh RNN, torch.nn's default init (every entry U(-1/sqrt(H), 1/sqrt(H)))
    relu   ReLU RNN, torch.nn's default init
    irnn   ReLU RNN, identity W_hh, zero biases, W_ih ~ N(0, 0.001^2)     (Le et al. 2015)
    lstm   LSTM, torch.nn's default init plus forget-gate bias 1          (Gers et al. 2000)
    clstm  LSTM with chrono init for dependencies up to ``horizon`` steps (Tallec and Ollivier
           2018): forget biases log U(1, horizon - 1), input biases their negatives
    gru    GRU, torch.nn's default init

The result is an ``rnnkit.nn`` layer (torch.nn's signature and fused kernels), batch-first by
default. ``RECURRENT_CORES`` maps each name to its builder (called as
``builder(input_size, hidden_size, horizon=..., num_layers=..., ...)``); add your own to it.
``horizon`` is the longest dependency the task has, in steps; only ``clstm`` uses it.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn.init import chrono_, forget_gate_bias_, identity_


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


def parse_cells(text: str) -> list[str]:
    """``"rnn,irnn,lstm"`` -> a list of known names, with a clear error for an unknown one."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("--cells needs at least one name, e.g. rnn,irnn,lstm,gru")
    unknown = [name for name in names if name not in RECURRENT_CORES]
    if unknown:
        raise ValueError(
            f"unknown cell(s) {', '.join(unknown)}; choose from "
            f"{', '.join(sorted(RECURRENT_CORES))}"
        )
    return names
