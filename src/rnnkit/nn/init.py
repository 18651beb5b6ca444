"""Initialisations the lectures and papers name, for rnnkit's and torch.nn's recurrent layers.

    identity_(rnn)           W_hh = scale * I, b = 0, W_ih ~ N(0, std^2)   (IRNN, Le et al. 2015)
    orthogonal_(layer)       each W_hh gate block random orthogonal        (Saxe et al. 2014)
    forget_gate_bias_(lstm)  b_f = value                                   (Gers et al. 2000)
    scale_recurrent_(layer)  W_hh *= s / sigma_max(W_hh): a chosen largest singular value
    chrono_(lstm, T)         b_f ~ log U(1, T-1), b_i = -b_f         (Tallec and Ollivier 2018)

Each works in place on every layer and direction of an ``RNN``/``LSTM``/``GRU`` (rnnkit's or
torch.nn's: they share parameter names) and returns the layer.
"""

from __future__ import annotations

import torch
from torch import nn

_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _gates(layer: nn.Module) -> int:
    for cls in type(layer).__mro__:
        if cls.__name__ in _GATES and cls.__module__.startswith("torch.nn"):
            return _GATES[cls.__name__]
    raise TypeError(
        f"expected an RNN, LSTM or GRU layer (rnnkit.nn or torch.nn), got {type(layer).__name__}"
    )


def _parameters(layer: nn.Module, kind: str) -> list[torch.Tensor]:
    """Every ``weight_hh``/``weight_ih``/``bias_ih``/``bias_hh`` of every layer and direction."""
    return [p for name, p in layer.named_parameters() if name.startswith(kind + "_l")]


@torch.no_grad()
def identity_(layer: nn.Module, scale: float = 1.0, input_std: float = 0.001) -> nn.Module:
    """IRNN: ``W_hh = scale * I``, biases 0, ``W_ih ~ N(0, input_std^2)``.

    Meant for a ReLU RNN (Le, Jaitly and Hinton 2015): with no input the state stays where it
    is, so at the start of training gradients neither vanish nor explode.
    """
    if _gates(layer) != 1:
        raise ValueError("identity_ is for a vanilla RNN (one gate block); got an LSTM or GRU")
    if not scale > 0:
        raise ValueError(f"identity_: scale must be positive, got {scale}")
    for weight in _parameters(layer, "weight_hh"):
        weight.copy_(scale * torch.eye(weight.shape[0], dtype=weight.dtype))
    for weight in _parameters(layer, "weight_ih"):
        weight.normal_(0.0, input_std)
    for bias in _parameters(layer, "bias_ih") + _parameters(layer, "bias_hh"):
        bias.zero_()
    return layer


@torch.no_grad()
def orthogonal_(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """Each gate's block of every ``W_hh`` becomes a random orthogonal matrix times ``gain``."""
    gates = _gates(layer)
    for weight in _parameters(layer, "weight_hh"):
        for block in weight.chunk(gates, dim=0):
            nn.init.orthogonal_(block, gain=gain)
    return layer


@torch.no_grad()
def forget_gate_bias_(layer: nn.Module, value: float = 1.0) -> nn.Module:
    """LSTM forget-gate bias ``b_f = value`` (torch's gate order ``i|f|g|o``; ``b_ih`` gets all
    of it, ``b_hh`` zero, since only their sum matters)."""
    if _gates(layer) != 4:
        raise ValueError("forget_gate_bias_ is for an LSTM layer")
    hidden = layer.hidden_size
    for bias in _parameters(layer, "bias_ih"):
        bias[hidden : 2 * hidden] = value
    for bias in _parameters(layer, "bias_hh"):
        bias[hidden : 2 * hidden] = 0.0
    return layer


@torch.no_grad()
def scale_recurrent_(layer: nn.Module, sigma_max: float) -> nn.Module:
    """Rescale every gate block of every ``W_hh`` so that its largest singular value is
    ``sigma_max`` (> 1 makes a tanh RNN's gradients able to explode, < 1 makes them vanish)."""
    if not sigma_max > 0:
        raise ValueError(f"scale_recurrent_: sigma_max must be positive, got {sigma_max}")
    gates = _gates(layer)
    for weight in _parameters(layer, "weight_hh"):
        for block in weight.chunk(gates, dim=0):
            current = torch.linalg.matrix_norm(block.double(), ord=2)
            if current > 0:
                block.mul_(sigma_max / float(current))
    return layer


@torch.no_grad()
def chrono_(layer: nn.Module, max_horizon: int, generator: torch.Generator | None = None):
    """Chrono initialisation of an LSTM (Tallec and Ollivier 2018, "Can recurrent neural
    networks warp time?"): ``b_f = log(u)``, ``u ~ U(1, max_horizon - 1)``, and ``b_i = -b_f``.

    With no input a unit's cell state then decays like ``f^t``, ``f = sigmoid(b_f)``, so unit
    ``j`` remembers for about ``u_j`` steps: the units' memory spans spread over 1 ..
    ``max_horizon`` (the longest dependency the task has) instead of all starting near
    ``sigmoid(0) = 0.5``, i.e. one or two steps. The bias lives in ``b_ih``; ``b_hh`` gets 0.
    """
    if _gates(layer) != 4:
        raise ValueError("chrono_ is for an LSTM layer")
    if isinstance(max_horizon, bool) or not isinstance(max_horizon, int) or max_horizon < 3:
        raise ValueError(f"chrono_: max_horizon must be an integer >= 3, got {max_horizon!r}")
    hidden = layer.hidden_size
    for bias_ih, bias_hh in zip(
        _parameters(layer, "bias_ih"), _parameters(layer, "bias_hh"), strict=True
    ):
        u = torch.rand(hidden, generator=generator, dtype=torch.float64)
        forget = torch.log(1.0 + u * (max_horizon - 2))  # log U(1, max_horizon - 1)
        bias_ih[hidden : 2 * hidden] = forget.to(bias_ih.dtype)
        bias_ih[:hidden] = -forget.to(bias_ih.dtype)
        bias_hh[: 2 * hidden] = 0.0
    return layer
