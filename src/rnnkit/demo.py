"""The smallest end-to-end run: an LSTM learns to continue a toy character sequence.

It stands in for the main job until the character model lands: a few seconds on a laptop, no
data to fetch, and the loss visibly falling from ``ln(V)`` (guessing) towards zero.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.nn import LSTM

log = logging.getLogger(__name__)

TOY_TEXT = "hello world, hello recurrent networks. "


@dataclass
class DemoResult:
    losses: list[tuple[int, float]]  # (step, mean cross-entropy in nats)
    sample: str
    initial_loss: float
    final_loss: float


class ToyCharModel(nn.Module):
    """One-hot characters -> LSTM -> linear decoder, as in the lectures."""

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.lstm = LSTM(vocab_size, hidden_size)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx: torch.Tensor, state=None):
        x = F.one_hot(idx, self.vocab_size).float()  # (T, N, V)
        h, state = self.lstm(x, state)  # (T, N, H)
        return self.decoder(h), state  # logits (T, N, V)


def train_toy_lstm(
    steps: int = 300,
    hidden_size: int = 64,
    seq_len: int = 24,
    batch_size: int = 16,
    seed: int = 0,
    report: Callable[[int, float], None] | None = None,
    report_every: int = 50,
) -> DemoResult:
    """Train on random windows of the repeated toy text, then sample greedily from 'h'."""
    torch.manual_seed(seed)
    chars = sorted(set(TOY_TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TOY_TEXT * 20])
    model = ToyCharModel(len(chars), hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(1, steps + 1):
        starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,))
        window = torch.stack([data[s : s + seq_len + 1] for s in starts], dim=1)  # (T+1, N)
        logits, _ = model(window[:-1])
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), window[1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if step == 1 or step % report_every == 0 or step == steps:
            losses.append((step, loss.item()))
            if report is not None:
                report(step, loss.item())
    sample = greedy_sample(model, stoi, chars, prime="h", length=len(TOY_TEXT))
    return DemoResult(losses, sample, losses[0][1], losses[-1][1])


@torch.no_grad()
def greedy_sample(model: ToyCharModel, stoi: dict, chars: list, prime: str, length: int) -> str:
    """Feed each prediction back as the next input, carrying the state one step at a time."""
    model.eval()
    idx = torch.tensor([[stoi[c]] for c in prime])  # (T, 1)
    logits, state = model(idx)
    out = list(prime)
    for _ in range(length):
        next_id = int(logits[-1, 0].argmax())
        out.append(chars[next_id])
        logits, state = model(torch.tensor([[next_id]]), state)
    return "".join(out)


def chance_loss(vocab_size: int) -> float:
    return math.log(vocab_size)
