"""A task that is not a character model, to show the Trainer knows only the hooks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.data.batching import TokenStreams, detach_state
from rnnkit.training.task import StepOutput

PATTERN = [0, 1, 2, 3, 2, 1]
VOCAB = 4


class ToyModel(nn.Module):
    def __init__(self, hidden_size: int = 12, dropout: float = 0.0):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, VOCAB)

    def forward(self, idx, state=None):
        output, state = self.lstm(self.embedding(idx), state)  # (T, B, H)
        return self.decoder(self.dropout(output)), state  # (T, B, V)


class ToyTask:
    """Predict the next token of a repeating pattern; records what the trainer hands it."""

    eval_metric = "val_loss"
    loss_unit = "nats/token"

    def __init__(self, eval_values=None, dropout=0.0, nan_at_step=None):
        tokens = torch.tensor(PATTERN * 60)
        self.streams = TokenStreams(tokens, batch_size=4, truncate_steps=8)
        self.eval_values = list(eval_values) if eval_values is not None else None
        self.dropout = dropout
        self.nan_at_step = nan_at_step
        self.autocast_seen: list[bool] = []
        self.carries_in: list = []
        self.steps_seen = 0

    def build_model(self):
        return ToyModel(dropout=self.dropout)

    def train_batches(self, start_step):
        return self.streams.batches(start_step)

    def training_step(self, model, batch, carry):
        self.carries_in.append(carry)
        self.autocast_seen.append(torch.is_autocast_enabled("cpu"))
        state = None if batch.index == 0 else carry
        logits, state = model(batch.inputs, state)
        loss = F.cross_entropy(logits.float().reshape(-1, VOCAB), batch.targets.reshape(-1))
        self.steps_seen += 1
        if self.nan_at_step is not None and batch.step + 1 == self.nan_at_step:
            loss = loss * math.nan
        return StepOutput(loss, detach_state(state), batch.targets.numel())

    def evaluate(self, model):
        if self.eval_values is not None:
            return {"val_loss": self.eval_values.pop(0)}
        inputs, targets = self.streams.chunk(0)
        logits, _ = model(inputs)
        return {"val_loss": float(F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)))}

    def sample(self, model):
        torch.rand(5)  # sampling may use the global generator; the trainer must not notice
        return "a sample"

    def data_position(self, step):
        return {"epoch": self.streams.position(step)[0]}

    def checkpoint_metadata(self):
        return {"name": "toy"}
