r"""Gradient flow through time: how much of a loss's gradient reaches the state ``k`` steps back.

Backpropagation through a vanilla RNN, ``h_t = tanh(W_hh h_{t-1} + W_ih x_t + b)``, multiplies
by one Jacobian per step back (the lectures' result)::

    dL/dh_k = prod_{t=k+1..T} W_hh^T diag(1 - h_t^2)  dL/dh_T        (loss at the last step)

so its norm shrinks roughly like ``(sigma_max(W_hh) * max tanh')^(T-k)`` when that is below 1
(vanishing) and may grow when it is above (exploding). An LSTM's cell state is additive,
``c_t = f * c_{t-1} + i * g``, and its direct path back multiplies by ``diag(f)`` only.

:func:`gradient_flow` measures this on a real forward pass: for every layer, every part of the
state (``h``; ``c`` for an LSTM) and every step ``k`` it takes the total derivative ``dL/ds_k``
from autograd (every path from ``s_k`` to the loss) and reports its norm

    ||dL/ds_k|| = mean over the batch of the per-example norm  ||dL/ds_k[n, :]||_2

with the loss a *sum* over the batch, so row ``n`` of the gradient is the derivative of
example ``n``'s own loss. Curves are indexed by distance back ``d = T - 1 - k`` (0 = the last
step), whatever the loss: the last step's value, or the sum over every step's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnkit.diagnostics.recording import Recording, state_parts

HORIZON_THRESHOLD = 1e-3


@dataclass
class GradientFlow:
    """Per-step gradient norms of one recording.

    ``norms[layer][part][d]`` is ``||dL/ds_k||`` (see the module docstring) for layer
    ``layer`` (0 = the bottom one, which reads the input), state part ``part`` (``"h"``, and
    ``"c"`` for an LSTM) and distance back ``d = T - 1 - k``.
    """

    norms: list[dict[str, list[float]]]

    @property
    def seq_len(self) -> int:
        return len(next(iter(self.norms[0].values())))

    def curve(self, layer: int = 0, part: str = "h") -> list[float]:
        return self.norms[layer][part]

    def memory_horizon(
        self, layer: int = 0, part: str = "h", threshold: float = HORIZON_THRESHOLD
    ) -> int:
        return memory_horizon(self.norms[layer][part], threshold)


def memory_horizon(norms: list[float], threshold: float = HORIZON_THRESHOLD) -> int:
    """The largest distance ``d`` back with ``norms[d] >= threshold * norms[0]``.

    ``len(norms) - 1`` means the gradient held up over the whole sequence (the true horizon
    may be longer); 0 when the last step's gradient is itself zero or not finite.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"the horizon threshold must be in (0, 1], got {threshold}")
    reference = norms[0]
    if not (math.isfinite(reference) and reference > 0):
        return 0
    return max(d for d, value in enumerate(norms) if value >= threshold * reference)


def gradient_flow(loss: Tensor, recording: Recording) -> GradientFlow:
    """``||dL/ds_k||`` for every step, layer and state part of ``recording``.

    ``loss`` must be a scalar computed from the recorded run, summed (not averaged) over the
    batch; parameters' ``.grad`` are left untouched (this uses ``torch.autograd.grad``).
    """
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError("gradient_flow needs the loss as a scalar tensor")
    if not loss.requires_grad:
        raise ValueError(
            "the loss does not depend on anything that requires a gradient; the recurrent "
            "layer's parameters must have requires_grad=True"
        )
    steps = recording.steps.steps  # steps[layer][t]: a tensor, or a tuple such as (h, c)
    T = recording.seq_len
    names = [state_parts(cell, steps[layer][0]) for layer, cell in enumerate(recording.cells)]
    keys = [
        (layer, part, t)
        for layer, parts in enumerate(names)
        for part in range(len(parts))
        for t in range(T)
    ]
    tensors = [_parts(steps[layer][t])[part] for layer, part, t in keys]
    grads = torch.autograd.grad(loss, tensors, allow_unused=True)  # one backward pass
    grad_of = dict(zip(keys, zip(grads, tensors, strict=True), strict=True))
    norms = [
        {
            name: [_mean_norm(*grad_of[layer, part, t]) for t in reversed(range(T))]
            for part, name in enumerate(parts)
        }
        for layer, parts in enumerate(names)
    ]
    return GradientFlow(norms)


def _parts(state) -> tuple[Tensor, ...]:
    return (state,) if isinstance(state, Tensor) else tuple(state)


def _mean_norm(grad: Tensor | None, state: Tensor) -> float:
    """The per-example norm of one step's gradient, averaged over the batch."""
    if grad is None:  # the loss does not depend on this tensor at all
        return 0.0
    per_example = torch.linalg.vector_norm(grad.reshape(state.shape[0], -1), dim=1)  # (N,)
    return float(per_example.double().mean())
