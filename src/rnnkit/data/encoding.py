"""From one training text to token ids: split first, then build the vocabulary on train only.

``encode_corpus`` takes the text as a ``str``; ``encode_scanned`` a ``TextStream`` read once
(``text_scan``), whose ids it keeps in a memory-mapped token file (``token_cache``): the same
vocabulary and ids, for a text of any size.

The vocabulary sees only the training part, so nothing about the validation or test text
leaks into the model; a symbol that occurs only there is encoded as ``<unk>`` (and counted in
the log). The split is taken on characters, before tokenising; at word level this may cut
one word in two at each of the two boundaries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.batching import DEFAULT_SPLIT, split_contiguous
from rnnkit.data.text_scan import TextScan
from rnnkit.data.text_stream import TextStream
from rnnkit.data.token_cache import token_file
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


def encode_scanned(
    stream: TextStream,
    scan: TextScan,
    fractions: Sequence[float],
    vocab: Vocab | None = None,
    cache: Path | None = None,
) -> EncodedCorpus:
    """``encode_corpus`` (``encode_with_vocab`` when ``vocab`` is given) for a scanned text
    stream: the same vocabulary and ids, but the ids are views of the memory-mapped token file
    (``token_cache``) and the text is never held whole."""
    train_end = split_contiguous(range(scan.chars), fractions).train.stop
    built = vocab is None
    vocab = scan.vocab(train_end) if built else vocab
    train, val, test = split_contiguous(token_file(stream, scan, vocab, cache), fractions)
    if built and any(index >= train_end for index in scan.first_seen.values()):
        for name, ids in (("val", val), ("test", test)):
            if unknown := count_id(ids, vocab.unk_id):
                logger.info("%s: %d of %d tokens are unknown", name, unknown, ids.size)
    return EncodedCorpus(vocab, train, val, test)


def count_id(ids: np.ndarray, value: int, chunk: int = 1 << 20) -> int:
    """How many of ``ids`` equal ``value``, a chunk at a time (no array of the whole size)."""
    starts = range(0, ids.size, chunk)
    return sum(int(np.count_nonzero(ids[i : i + chunk] == value)) for i in starts)
