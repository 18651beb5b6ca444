"""The copy (memory) task of Arjovsky, Shah & Bengio 2016 ("Unitary evolution RNNs", sec. 4.1).

Symbols: 0 is the blank, 1..8 the alphabet, 9 the delimiter. For a delay T the input is T + 20
steps long: 10 symbols drawn uniformly from the alphabet, T - 1 blanks, the delimiter, then 10
blanks. The output must be blank for the first T + 10 steps and then reproduce the 10 symbols,
in order:

    input    a_1 ... a_10   _ ... _ (T - 1)   :   _ ... _ (10)
    target   _ ... _ (T + 10)                     a_1 ... a_10

Inputs reach the model one-hot (10 features a step); it answers with 10 logits a step. The
memoryless strategy, blanks and then a uniform guess over the 8 symbols, has cross-entropy
``10 ln 8 / (T + 20)`` per step, the baseline the paper draws. Solved here: at least 99% of the
recalled symbols (the last 10 steps) right on the fixed test batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rnnkit.experiments.config import ExperimentConfig
from rnnkit.experiments.models import SequenceTagger
from rnnkit.experiments.synthetic import DIAGNOSTICS_BATCH, SyntheticTask
from rnnkit.training.task import StepOutput

BLANK, DELIMITER = 0, 9
ALPHABET = 8  # symbols 1..8
VOCAB = 10  # blank, 8 symbols, delimiter
MEMORY = 10  # symbols to remember
SOLVED_ACCURACY = 0.99


def copy_batch(
    batch_size: int, delay: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs (N, T + 20), targets (N, T + 20))`` of symbol indexes for delay ``T``."""
    if delay < 1:
        raise ValueError(f"the copy task needs a delay T >= 1, got {delay}")
    length = delay + 2 * MEMORY
    symbols = torch.randint(1, ALPHABET + 1, (batch_size, MEMORY), generator=generator)
    inputs = torch.full((batch_size, length), BLANK, dtype=torch.long)  # (N, T + 20)
    inputs[:, :MEMORY] = symbols
    inputs[:, delay + MEMORY - 1] = DELIMITER
    targets = torch.full((batch_size, length), BLANK, dtype=torch.long)  # (N, T + 20)
    targets[:, -MEMORY:] = symbols
    return inputs, targets


def baseline_nats(delay: int) -> float:
    """Cross-entropy per step of blanks then a uniform guess: ``10 ln 8 / (T + 20)``."""
    return MEMORY * math.log(ALPHABET) / (delay + 2 * MEMORY)


class CopyTask(SyntheticTask):
    """The copy task for the ``Trainer``; ``seq_len`` is the delay T."""

    name = "copy"
    eval_metric = "test_nats"
    metric = "test_nats"
    loss_unit = "nats/step"

    def __init__(self, cell: str, seq_len: int, config: ExperimentConfig):
        if seq_len < 1:
            raise ValueError(f"the copy task needs --seq-len (the delay) >= 1, got {seq_len}")
        super().__init__(cell, seq_len, config)
        self.baseline = baseline_nats(seq_len)

    diagnostics_loss = "sum"  # the loss is over every step (the recalled symbols at the end)

    def diagnostics_batch(self, size: int = DIAGNOSTICS_BATCH):
        """The first ``size`` test sequences, one-hot, as the model reads them."""
        inputs, targets = super().diagnostics_batch(size)
        return one_hot(inputs), targets

    def make_batch(self, size: int, generator: torch.Generator):
        return copy_batch(size, self.seq_len, generator)

    def build_model(self) -> SequenceTagger:
        return SequenceTagger(
            self.cell,
            VOCAB,
            self.config.hidden_size,
            VOCAB,
            horizon=self.seq_len + 20,
            dropout=self.config.dropout,
        )

    def training_step(self, model: SequenceTagger, batch, carry) -> StepOutput:
        inputs, targets = batch
        _, loss = model(one_hot(inputs), targets)
        return StepOutput(loss, None, targets.numel())

    def evaluate(self, model: SequenceTagger) -> dict[str, float]:
        nats, right, count = 0.0, 0, 0
        for inputs, targets in self.test_chunks():
            logits, loss = model(one_hot(inputs), targets)  # (n, T + 20, 10)
            nats += float(loss) * len(targets)
            recalled = logits[:, -MEMORY:].argmax(dim=2)  # (n, 10)
            right += int((recalled == targets[:, -MEMORY:]).sum())
            count += len(targets)
        return {"test_nats": nats / count, "recall_accuracy": right / (count * MEMORY)}

    def solved(self, metrics: dict) -> bool:
        return metrics["recall_accuracy"] >= SOLVED_ACCURACY


def one_hot(symbols: torch.Tensor) -> torch.Tensor:
    return F.one_hot(symbols, VOCAB).float()  # (N, L) -> (N, L, 10)
