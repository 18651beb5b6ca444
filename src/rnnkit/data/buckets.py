"""Batches of sequences of different lengths: padding, length buckets, sorted chunks.

Shared by every task whose examples differ in length (classify, tag, seq2seq, caption).

- ``pad_ids`` / ``pad_vectors``: a list of sequences -> one padded tensor and the lengths.
- ``LengthBuckets``: training batches of similar lengths, reshuffled each epoch::

      epoch e:  permute the examples (seeded by (seed, e))
                cut the permutation into pools of B * 50 examples
                sort each pool by length, cut it into batches of B
                shuffle the order of the batches (same generator)

  Padding is then short, and each epoch has exactly ceil(n / B) batches, so step ``k`` always
  names the same batch and a resumed run sees what an uninterrupted one would.
- ``sorted_chunks``: evaluation batches, sorted by length, in a fixed order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from rnnkit.options import check_int

POOL_BATCHES = 50


def pad_ids(rows: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids (N, T) int64 padded with 0, lengths (N,))``; every row needs length >= 1."""
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    batch = torch.zeros((len(rows), int(lengths.max())), dtype=torch.long)  # (N, T)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = torch.from_numpy(np.asarray(row, dtype=np.int64))
    return batch, lengths


def pad_vectors(rows: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(vectors (N, T, F) float32 padded with 0, lengths (N,))``."""
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    features = rows[0].shape[1]
    batch = torch.zeros((len(rows), int(lengths.max()), features))  # (N, T, F)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = torch.from_numpy(np.asarray(row, dtype=np.float32))
    return batch, lengths


class LengthBuckets:
    """Seeded, resumable batches of similar-length examples (see the module docstring).

    ``lengths`` are the examples' lengths; the batches hold positions ``0 .. n-1`` into them.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int):
        check_int("batch_size", batch_size)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.size == 0:
            raise ValueError("there are no training examples to batch")
        self.batch_size = batch_size
        self.seed = seed

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def epoch(self, epoch: int) -> list[np.ndarray]:
        """The batches of ``epoch``, in the order training takes them."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths))
        pool, size = self.batch_size * POOL_BATCHES, self.batch_size
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
        return [batches[i] for i in rng.permutation(len(batches))]

    def batches(self, start_step: int = 0) -> Iterator[np.ndarray]:
        """Batches epoch after epoch, forever, from global step ``start_step``."""
        epoch, index = divmod(start_step, self.steps_per_epoch)
        while True:
            yield from self.epoch(epoch)[index:]
            epoch, index = epoch + 1, 0

    def position(self, step: int) -> dict:
        epoch, index = divmod(step, self.steps_per_epoch)
        return {"epoch": epoch, "batch": index, "batches_per_epoch": self.steps_per_epoch}


def sorted_chunks(lengths: Sequence[int], size: int) -> Iterator[np.ndarray]:
    """Positions ``0 .. n-1`` in chunks of at most ``size``, sorted by length (for evaluation:
    little padding); the caller puts results back with the positions."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    for start in range(0, len(order), size):
        yield order[start : start + size]
