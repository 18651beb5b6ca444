"""Trainer hooks shared by the generated problems (adding, copy).

Every batch is drawn afresh from a seeded ``torch.Generator``, so there is no epoch and no
overfitting to a training set, and the data never has to be stored:

    training batch of step k   generator seeded with stream_seed(TRAIN, seed, k)
    the test batch             generator seeded with stream_seed(TEST, T), whatever the seed

``stream_seed`` hashes its numbers into 32 bits (NumPy's ``SeedSequence``) because torch's CPU
generator keeps only the low 32 bits of a seed: ``(seed << 32) + k`` would give every seed the
same batches. Two different batches share a seed with probability about 2^-32 per pair.

Resuming at step k therefore serves exactly the batches a run that never stopped would have
seen. A subclass defines ``make_batch(size, generator) -> (inputs, targets)``, ``build_model``,
``training_step`` and ``evaluate``, and what the runner reads: ``metric`` (the key of
``evaluate``'s result that is reported), ``baseline`` (that metric for the trivial predictor)
and ``solved(metrics)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from rnnkit.experiments.config import ExperimentConfig

TRAIN, TEST, EPOCH, AUGMENT = 0, 1, 2, 3  # the streams stream_seed keeps apart
EVAL_CHUNK = 250  # sequences per forward pass when evaluating: bounds the memory of (N, T, H)
DIAGNOSTICS_BATCH = 16  # sequences in the fixed batch of --diagnose-every


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def stream_seed(*numbers: int) -> int:
    """A 32-bit generator seed that depends on every one of ``numbers`` (each >= 0)."""
    return int(np.random.SeedSequence(list(numbers)).generate_state(1)[0])


def train_seed(seed: int, step: int) -> int:
    """The generator seed of the training batch of ``step`` (see the module docstring)."""
    return stream_seed(TRAIN, seed, step)


class SyntheticTask:
    name: str
    loss_unit: str

    def __init__(self, cell: str, seq_len: int, config: ExperimentConfig):
        self.cell = cell
        self.seq_len = seq_len
        self.config = config
        self.test = self.make_batch(config.test_size, seeded(stream_seed(TEST, seq_len)))

    def make_batch(self, size: int, generator: torch.Generator):
        raise NotImplementedError

    def train_batches(self, start_step: int) -> Iterator:
        step = start_step
        while True:
            yield self.make_batch(
                self.config.batch_size, seeded(train_seed(self.config.seed, step))
            )
            step += 1

    def test_chunks(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        inputs, targets = self.test
        for start in range(0, len(inputs), EVAL_CHUNK):
            yield inputs[start : start + EVAL_CHUNK], targets[start : start + EVAL_CHUNK]

    diagnostics_loss = "last"  # where the loss sits: at the last step, or summed over steps

    def diagnostics_batch(self, size: int = DIAGNOSTICS_BATCH):
        """The fixed batch ``--diagnose-every`` measures gradient flow on: the first ``size``
        test sequences."""
        inputs, targets = self.test
        return inputs[:size], targets[:size]

    def sample(self, model) -> None:
        return None

    def data_position(self, step: int) -> dict:
        return {"batch_seed": train_seed(self.config.seed, step)}

    def checkpoint_metadata(self) -> dict:
        return {"name": self.name, "cell": self.cell, "seq_len": self.seq_len}
