"""The hooks a task gives the ``Trainer``: the trainer knows nothing else about the task.

A task (``rnnkit.tasks.charlm.CharLMTask`` is one) provides

    build_model()                       -> torch.nn.Module
    train_batches(start_step)           -> iterator of batches, from global step ``start_step``
    training_step(model, batch, carry)  -> StepOutput(loss, carry, tokens)
    evaluate(model)                     -> {"val_nats": ..., ...}; ``eval_metric`` names the key
                                           to minimise (best checkpoint, early stopping, plateau)
    sample(model)                       -> text to show after an evaluation, or None
    data_position(step)                 -> JSON saying where in the data step ``step`` is
    checkpoint_metadata()               -> JSON the task needs to rebuild the model later
    loss_unit                           -> e.g. "nats/char", the y-axis of the loss plot

Under torchrun each rank trains on its share of every batch, sliced on the dimension
``batch_dim`` (0 unless the task sets it: 1 for time-major ``(T, B)`` tensors); a carried
state is sliced and gathered on its dimension 1, the batch of torch's ``(L, B, H)``, so a task
that carries one sets ``even_shares = True`` (every batch must then divide among the ranks;
others share an epoch's last, shorter batch unevenly).

``carry`` is whatever the task wants handed from one step to the next, e.g. the recurrent state
for truncated BPTT; it must be None, a tensor, or nested tuples of tensors, so that a checkpoint
can save it and a resumed run continues from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch


@dataclass
class StepOutput:
    """One training step's result: the mean loss (a scalar with a graph), the carry for the
    next step (detached), how many tokens the step trained on, and, for a loss that is a
    mean over examples rather than over those tokens, the number of examples. Under DDP the
    Trainer weights each rank's loss by its share of that count, so the step is the one a
    single process takes on the whole batch."""

    loss: torch.Tensor
    carry: Any
    tokens: int
    examples: int | None = None  # the loss is a mean over this many examples (not tokens)

    @property
    def count(self) -> int:
        """What the loss is a mean over."""
        return self.tokens if self.examples is None else self.examples


class Task(Protocol):
    eval_metric: str  # the key of evaluate()'s result to minimise
    loss_unit: str  # how the loss is measured, for plots: "nats/char"

    def build_model(self) -> torch.nn.Module: ...

    def train_batches(self, start_step: int) -> Iterator[Any]: ...

    def training_step(self, model: torch.nn.Module, batch: Any, carry: Any) -> StepOutput: ...

    def evaluate(self, model: torch.nn.Module) -> dict[str, float]: ...

    def sample(self, model: torch.nn.Module) -> str | None: ...

    def data_position(self, step: int) -> dict: ...

    def checkpoint_metadata(self) -> dict: ...
