"""The two shapes of model the benchmarks need, around any named recurrent core.

    SequenceToOne   x (N, T, I) -> core -> h_T (N, H) -> Linear -> (N, K)       adding, images
    SequenceTagger  x (N, T, I) -> core -> h_t (N, T, H) -> Linear -> (N, T, K)  copy

The core is ``rnnkit.models.recurrent.build_recurrent(cell, ...)``: rnn, relu, irnn, lstm,
clstm or gru with its customary initialisation (``horizon``: the task's longest dependency).
Both return ``(outputs, loss)``; the loss is None without targets. Outputs are raw: regression
values, or logits for a cross-entropy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.models.recurrent import build_recurrent

OBJECTIVES = ("regression", "classification")


class SequenceToOne(nn.Module):
    """Reads the whole sequence, answers from the last step's output (``dropout``: on that
    state, in training only).

    ``objective="regression"``: ``output_size`` numbers, mean squared error (with
    ``output_size=1`` the output is squeezed to (N,)); ``"classification"``: ``output_size``
    logits, cross-entropy against class indexes (N,).
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        objective: str,
        horizon: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")
        self.objective = objective
        self.core = build_recurrent(cell, input_size, hidden_size, horizon=horizon)
        self.dropout = nn.Dropout(dropout)  # on the last state; nothing at evaluation
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None):
        output, _ = self.core(inputs)  # (N, T, H)
        outputs = self.head(self.dropout(output[:, -1]))  # (N, K)
        if self.objective == "regression" and outputs.shape[1] == 1:
            outputs = outputs.squeeze(1)  # (N,)
        if targets is None:
            return outputs, None
        if self.objective == "regression":
            return outputs, F.mse_loss(outputs.float(), targets)
        return outputs, F.cross_entropy(outputs.float(), targets)


class SequenceTagger(nn.Module):
    """One set of ``output_size`` logits per step; the loss is the cross-entropy averaged over
    every step of every sequence (targets (N, T) of class indexes). ``dropout``: on every
    step's state, where the output layer reads it, in training only (the same place as
    ``SequenceToOne``'s, which reads only the last step); never on the recurrence."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        output_size: int,
        horizon: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.core = build_recurrent(cell, input_size, hidden_size, horizon=horizon)
        self.dropout = nn.Dropout(dropout)  # on what the head reads; nothing at evaluation
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor | None = None):
        output, _ = self.core(inputs)  # (N, T, H)
        logits = self.head(self.dropout(output))  # (N, T, K)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().flatten(0, 1), targets.flatten())  # (N*T, K)
        return logits, loss
