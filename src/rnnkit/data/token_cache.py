"""A text's token ids in a file of the cache, written once and memory-mapped by every run.

    tokens = token_file(stream, scan, vocab)   # np.memmap of scan.chars ids, read-only in use

The file is ``<cache>/tokens/<text sha256>-<vocabulary hash>.<dtype>`` (the cache is
``$RNNKIT_CACHE``, else ``~/.cache/rnnkit``): the same text with the same vocabulary is
tokenised once, whatever run, preset or split reads it. Ids are stored in the smallest type
that holds the vocabulary (uint8 up to 256 symbols, int16, then int32), so a 500 MB text of
a few hundred characters takes 500 MB on disk and, memory-mapped, only the pages a batch
touches in memory. The file is written piece by piece from the text stream and renamed into
place when complete (``atomic_write_chunks``): a reader never sees half a file, and a file of
the right size under its name is complete. Where the cache cannot be written, the ids are kept
in memory instead (with a warning).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rnnkit.data.atomic import atomic_write_chunks
from rnnkit.data.corpora import cache_dir
from rnnkit.data.text_scan import PROGRESS_MIN_BYTES, ReadProgress, TextScan
from rnnkit.data.text_stream import TextStream
from rnnkit.data.vocab import Vocab

logger = logging.getLogger(__name__)

TOKENS_FOLDER = "tokens"


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest integer type that holds ids ``0 .. vocab_size - 1``."""
    for dtype in (np.uint8, np.int16, np.int32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"a vocabulary of {vocab_size} symbols is too large for a token file")


def token_path(scan: TextScan, vocab: Vocab, cache: Path | None = None) -> Path:
    """Where the ids of the scanned text under ``vocab`` are kept (see the module docstring)."""
    vocab_hash = hashlib.sha256(vocab.to_json().encode("utf-8")).hexdigest()[:16]
    name = f"{scan.sha256}-{vocab_hash}.{token_dtype(len(vocab)).name}"
    return (cache or cache_dir()) / TOKENS_FOLDER / name


def token_file(
    stream: TextStream,
    scan: TextScan,
    vocab: Vocab,
    cache: Path | None = None,
    progress_min_bytes: int = PROGRESS_MIN_BYTES,
) -> np.ndarray:
    """The ids of ``stream`` (whose pass gave ``scan``) under ``vocab``, memory-mapped from the
    cache; tokenised into it first if it is not there (see the module docstring)."""
    path, dtype = token_path(scan, vocab, cache), token_dtype(len(vocab))
    if path.is_file() and path.stat().st_size == scan.chars * dtype.itemsize:
        logger.info("reusing the token file %s", path)
        return open_tokens(path, dtype, scan.chars)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with ReadProgress.for_stream(stream, "tokenising", progress_min_bytes) as progress:
            atomic_write_chunks(path, _encoded(stream, scan, vocab, progress))
    except OSError as error:
        logger.warning("cannot write the token file %s (%s); tokenising in memory", path, error)
        return np.concatenate([np.zeros(0, dtype), *_encoded(stream, scan, vocab, arrays=True)])
    logger.info("tokenised %d characters into %s", scan.chars, path)
    return open_tokens(path, dtype, scan.chars)


def open_tokens(path: Path, dtype: np.dtype, count: int) -> np.ndarray:
    """The ids in ``path``, memory-mapped copy-on-write: nothing is read until it is used, and
    nothing a caller might write reaches the file."""
    if count == 0:
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode="c", shape=(count,))


def _encoded(
    stream: TextStream, scan: TextScan, vocab: Vocab, progress=None, arrays: bool = False
) -> Iterator:
    """The ids of the stream's pieces, as bytes for the file (``arrays``: as arrays); a
    ValueError at the end if the text is not the one scanned (it changed in between)."""
    dtype, digest, written = token_dtype(len(vocab)), hashlib.sha256(), 0
    for piece in stream.pieces(progress):
        digest.update(piece.encode("utf-8", "surrogatepass"))
        ids = vocab.encode_array(piece).astype(dtype)
        written += ids.size
        yield ids if arrays else ids.tobytes()
    if digest.hexdigest() != scan.sha256:
        raise ValueError(
            f"the text of {stream.source.name} changed while it was read ({scan.chars} "
            f"characters, then {written}); read it again when it is no longer being written"
        )
