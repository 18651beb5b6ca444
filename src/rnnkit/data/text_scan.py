"""One pass over a ``TextStream``: its sha256, length and where each character first occurs.

    scan = scan_text(stream)             # TextScan(sha256, chars, first_seen, undecodable)
    vocab = scan.vocab(train_end)        # == Vocab.build(text[:train_end]), without the text

The sha256 is of the text's UTF-8 bytes, as ``provenance.text_sha256`` computes it on the
whole ``str``. ``ReadProgress`` is the bar the passes over a large corpus show on stderr.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from rnnkit.data.text_stream import TextStream
from rnnkit.data.vocab import Vocab

PROGRESS_MIN_BYTES = 64 << 20  # smaller corpora are read without a progress bar


@dataclass(frozen=True)
class TextScan:
    """What one pass over a text learns: ``first_seen[c]`` is the index of the first ``c``."""

    sha256: str
    chars: int
    first_seen: dict[str, int]
    undecodable: int

    def vocab(self, train_end: int) -> Vocab:
        """The character vocabulary of ``text[:train_end]`` (``Vocab.build`` on it)."""
        return Vocab(sorted(c for c, index in self.first_seen.items() if index < train_end))


def scan_text(stream: TextStream, progress_min_bytes: int = PROGRESS_MIN_BYTES) -> TextScan:
    """Read ``stream`` once (with a progress bar when it is large); see the module docstring."""
    digest, chars, first_seen = hashlib.sha256(), 0, {}
    with ReadProgress.for_stream(stream, "reading", progress_min_bytes) as progress:
        for piece in stream.pieces(progress):
            digest.update(piece.encode("utf-8", "surrogatepass"))
            for symbol in set(piece).difference(first_seen):
                first_seen[symbol] = chars + piece.index(symbol)
            chars += len(piece)
    return TextScan(digest.hexdigest(), chars, first_seen, stream.undecodable)


class ReadProgress:
    """``what  412.0/1024.0 MB  40%`` on ``stream`` (stderr): redrawn in place on a terminal,
    a line every ``interval`` seconds otherwise; nothing at all when ``total`` is None."""

    def __init__(self, what: str, total: int | None, stream: TextIO | None = None):
        self.what, self.total = what, total
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.25 if self.tty else 10.0
        self._last = -float("inf")
        self._done = 0

    @classmethod
    def for_stream(cls, text: TextStream, what: str, min_bytes: int) -> ReadProgress:
        total = text.total_bytes()
        return cls(what, total if total is not None and total >= min_bytes else None)

    def __call__(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if self.total is not None and now - self._last >= self.interval:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        percent = 100 * min(self._done, self.total) / max(self.total, 1)
        line = f"{self.what}  {self._done / 1e6:.1f}/{self.total / 1e6:.1f} MB  {percent:3.0f}%"
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def __enter__(self) -> ReadProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self.total is not None:
            self._draw()
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()
