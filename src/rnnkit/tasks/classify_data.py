"""From labelled examples to padded batches: tokens, vocabularies, padding, length buckets.

Shared by the classification and tagging tasks.

- ``tokenize_words``: lowercase words (letters, digits, inner apostrophes) and single
  punctuation marks: ``"Don't stop!" -> ["don't", "stop", "!"]``.
- ``build_vocab``: the symbols of the *training split* seen at least ``min_count`` times, in
  an ``rnnkit.data.vocab.Vocab`` (``<unk>`` at id 0 for everything else). With
  ``min_count >= 2`` the rare training words are ``<unk>`` too, so the model learns what to
  make of a word it does not know.
- ``pad_ids`` / ``pad_vectors``: a list of sequences -> one padded tensor and the lengths.
- ``InputEncoder``: a classification set's raw inputs (text, or real-valued frames) -> the
  arrays the classifier reads, with the vocabulary of the training split.
- ``LengthBuckets``: training batches of similar lengths, reshuffled each epoch::

      epoch e:  permute the examples (seeded by (seed, e))
                cut the permutation into pools of B * 50 examples
                sort each pool by length, cut it into batches of B
                shuffle the order of the batches (same generator)

  Padding is then short, and each epoch has exactly ceil(n / B) batches, so step ``k`` always
  names the same batch and a resumed run sees what an uninterrupted one would.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch

from rnnkit.data.vocab import UNK_TOKEN, Vocab

KINDS = ("chars", "words", "vectors")
WORD_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")
POOL_BATCHES = 50


def tokenize_words(text: str) -> list[str]:
    """Lowercase word and punctuation tokens of ``text`` (see the module docstring)."""
    return WORD_TOKEN.findall(text.lower())


def build_vocab(token_lists: Iterable[Sequence[str]], level: str, min_count: int = 1) -> Vocab:
    """The sorted symbols that occur at least ``min_count`` times in ``token_lists``."""
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
    counts = Counter(token for tokens in token_lists for token in tokens)
    symbols = sorted(s for s, n in counts.items() if n >= min_count and s != UNK_TOKEN)
    return Vocab(symbols, level=level)


def encode_tokens(tokens: Sequence[str], vocab: Vocab) -> np.ndarray:
    """int64 ids of ``tokens``; an unknown token is ``vocab.unk_id``."""
    return np.array([vocab.stoi.get(token, vocab.unk_id) for token in tokens], dtype=np.int64)


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


class InputEncoder:
    """Raw inputs of one kind -> the arrays the model reads.

    Text: characters (``level="char"``) or ``tokenize_words`` tokens (``"word"``) -> ids of
    ``vocab`` (an empty text becomes one ``<unk>``, so every sequence has a step). Vectors:
    (T, F) float32 frames. ``max_length`` keeps the first steps only.
    """

    def __init__(
        self,
        kind: str,
        level: str | None,
        vocab: Vocab | None,
        features: int | None = None,
        max_length: int | None = None,
    ):
        self.kind, self.level, self.vocab = kind, level, vocab
        self.features, self.max_length = features, max_length

    @classmethod
    def fit(cls, data, config) -> InputEncoder:
        """The encoder for ``data`` (a ``ClassificationData``) under ``config`` (a
        ``ClassifyConfig``), its vocabulary built on the training split."""
        settings = config.data
        if data.kind not in KINDS:
            raise ValueError(f"unknown kind of input {data.kind!r}; expected {', '.join(KINDS)}")
        train = [data.inputs[i] for i in data.splits["train"]]
        if data.kind == "vectors":
            if settings.level is not None:
                raise ValueError(f"{data.name} holds vectors, not text; --level does not apply")
            return cls(
                "vectors", None, None, int(np.asarray(train[0]).shape[1]), settings.max_length
            )
        level = settings.level or ("char" if data.kind == "chars" else "word")
        min_count = settings.min_count or (1 if level == "char" else 2)
        encoder = cls("text", level, None, None, settings.max_length)
        encoder.vocab = build_vocab((encoder.tokens(text) for text in train), level, min_count)
        return encoder

    @property
    def baseline_kind(self) -> str:
        """The baseline features that suit these inputs: chars, words or vectors."""
        if self.kind == "vectors":
            return "vectors"
        return "chars" if self.level == "char" else "words"

    def tokens(self, text: str) -> list[str]:
        return list(text) if self.level == "char" else tokenize_words(text)

    def encode(self, raw) -> np.ndarray:
        if self.kind == "vectors":
            frames = np.asarray(raw, dtype=np.float32)
            if frames.ndim != 2 or frames.shape[1] != self.features or len(frames) == 0:
                raise ValueError(
                    f"expected a sequence of frames of shape (T >= 1, {self.features}), got "
                    f"{frames.shape}"
                )
            return frames[: self.max_length]
        ids = encode_tokens(self.tokens(raw), self.vocab)[: self.max_length]
        return ids if len(ids) else np.array([Vocab.unk_id], dtype=np.int64)

    def batch(self, rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded inputs and lengths of encoded ``rows``."""
        return pad_vectors(rows) if self.kind == "vectors" else pad_ids(rows)

    @property
    def input_size(self) -> int:
        return self.features if self.kind == "vectors" else len(self.vocab)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "level": self.level,
            "features": self.features,
            "max_length": self.max_length,
        }

    @classmethod
    def from_dict(cls, values: dict, vocab: Vocab | None) -> InputEncoder:
        return cls(values["kind"], values["level"], vocab, values["features"], values["max_length"])


class LengthBuckets:
    """Seeded, resumable batches of similar-length examples (see the module docstring).

    ``lengths`` are the examples' lengths; the batches hold positions ``0 .. n-1`` into them.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
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
