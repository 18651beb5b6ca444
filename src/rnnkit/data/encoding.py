"""From one training text to token ids: split first, then build the vocabulary on train only.

The vocabulary sees only the training part, so nothing about the validation or test text
leaks into the model; a symbol that occurs only there is encoded as ``<unk>`` (and counted in
the log). The split is taken on characters, before tokenising; at word level this may cut
one word in two at each of the two boundaries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.data.batching import DEFAULT_SPLIT, split_contiguous
from rnnkit.data.vocab import Vocab

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedCorpus:
    """The vocabulary and the int64 ids of the three contiguous parts of a text."""

    vocab: Vocab
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def encode_corpus(
    text: str,
    level: str = "char",
    fractions: Sequence[float] = DEFAULT_SPLIT,
    min_count: int = 1,
) -> EncodedCorpus:
    """Split ``text`` (train, val, test), build a ``Vocab`` on train, encode every part."""
    parts = split_contiguous(text, fractions)
    vocab = Vocab.build(parts.train, level=level, min_count=min_count)
    train, val, test = (vocab.encode_array(part) for part in parts)
    for name, ids in (("val", val), ("test", test)):
        unknown = int(np.count_nonzero(ids == vocab.unk_id))
        if unknown:
            logger.info("%s: %d of %d tokens are not in the vocabulary", name, unknown, ids.size)
    return EncodedCorpus(vocab, train, val, test)


def encode_with_vocab(text: str, vocab: Vocab, fractions: Sequence[float]) -> EncodedCorpus:
    """The three parts of ``text`` encoded with a saved vocabulary (not rebuilt)."""
    train, val, test = (vocab.encode_array(part) for part in split_contiguous(text, fractions))
    return EncodedCorpus(vocab, train, val, test)
