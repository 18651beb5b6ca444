"""A training text read as a stream of pieces, never held whole: decoding, joining, cutting.

    stream = TextStream(resolve_text_source("corpus/"), max_chars=None, encoding="latin-1")
    for piece in stream.pieces():      # str pieces of about CHUNK_BYTES each, in order
        ...
    stream.undecodable                 # characters replaced or skipped by the last full read

``"".join(stream.pieces())`` is exactly the text ``TextSource.read_text()`` gives (the
documents joined with ``text_files.DOCUMENT_SEPARATOR``, a leading byte-order mark dropped
from each), cut to ``max_chars``; the same checks apply (an empty file, a NUL byte, bytes
that do not decode). Each call of ``pieces()`` reads the files again, so a stream can be read
as many times as its users need (a scan, then a token file).

``encoding`` is any Python codec name; ``decode_errors`` says what to do with bytes that do not
decode: ``strict`` stops with a ValueError naming the file, byte offset and line; ``replace``
puts U+FFFD in their place; ``skip`` drops them. Either way each undecodable sequence counts
as one character in ``undecodable``.
"""

from __future__ import annotations

import codecs
import logging
import tarfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rnnkit.data.corpora import TextSource
from rnnkit.data.text_files import DOCUMENT_SEPARATOR, list_text_files

logger = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20  # read and decode a file this many bytes at a time
DECODE_ERRORS = ("strict", "replace", "skip")
DEFAULT_ENCODING = "utf-8"
TEXT_CODECS = "utf-8, latin-1, cp1252 or utf-16"  # examples the errors give
_HANDLERS = {"strict": "strict", "replace": "rnnkit-count-replace", "skip": "rnnkit-count-skip"}
_active = threading.local()  # the count the handlers add to, set around each decode call


def _counting(replacement: str):
    def handler(error: UnicodeDecodeError) -> tuple[str, int]:
        _active.count += 1
        return replacement, error.end

    return handler


codecs.register_error(_HANDLERS["replace"], _counting("\ufffd"))
codecs.register_error(_HANDLERS["skip"], _counting(""))


def check_decoding(encoding: str, decode_errors: str) -> None:
    """A ValueError unless ``encoding`` names a text codec and ``decode_errors`` is allowed.

    A text codec decodes bytes to ``str``; Python's other codecs (base64, hex, zlib: bytes to
    bytes; rot13: text to text) are refused by name. Some text codecs (punycode, idna) decode
    strictly only, so they refuse replace and skip.
    """
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise ValueError(
            f"unknown encoding {encoding!r}; give a Python codec name such as {TEXT_CODECS}"
        ) from None
    if not codec._is_text_encoding or codec.incrementaldecoder is None:
        raise ValueError(
            f"encoding {encoding!r} is not a text encoding (it does not decode bytes to text); "
            f"give a text codec such as {TEXT_CODECS}"
        )
    if decode_errors not in DECODE_ERRORS:
        raise ValueError(
            f"unknown decode errors setting {decode_errors!r}; allowed: {', '.join(DECODE_ERRORS)}"
        )
    try:
        codec.incrementaldecoder(_HANDLERS[decode_errors]).decode(b"", True)
    except UnicodeError as error:
        if decode_errors == "strict":  # Python's codec "undefined" decodes nothing at all
            raise ValueError(
                f"encoding {encoding!r} decodes nothing ({error}); give a text codec such as "
                f"{TEXT_CODECS}"
            ) from None
        raise ValueError(
            f"encoding {encoding!r} decodes strictly only: it cannot {decode_errors} "
            "undecodable bytes; use --decode-errors strict with it"
        ) from None


class Decoder:
    """Bytes of one document, chunk by chunk, to text; checks and counts as described above."""

    def __init__(self, source: str, encoding: str, decode_errors: str):
        self.source, self.encoding = source, encoding
        self.decoder = codecs.getincrementaldecoder(encoding)(_HANDLERS[decode_errors])
        self.bytes_checked = not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
        self.fed = self.newlines = self.undecodable = 0
        self.started = False

    def decode(self, data: bytes, final: bool = False) -> str:
        if self.bytes_checked and b"\0" in data:
            self._binary(self.fed + data.find(b"\0"))
        self.fed += len(data)
        self.newlines += data.count(b"\n")
        _active.count = 0
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError as error:
            raise ValueError(self._undecodable_message(error)) from None
        except ValueError as error:  # a codec's own complaint, e.g. punycode's (a UnicodeError)
            raise ValueError(self._codec_message(error)) from None
        finally:
            self.undecodable += _active.count
        if not self.bytes_checked and "\0" in text:
            self._binary(None)
        if not self.started and text:
            self.started, text = True, text.removeprefix("\ufeff")
        return text

    def _binary(self, offset: int | None) -> None:
        where = "a NUL character" if offset is None else f"NUL byte at byte offset {offset}"
        raise ValueError(
            f"{self.source} looks like a binary file ({where}); rnnkit trains on text files only"
        )

    def _undecodable_message(self, error: UnicodeDecodeError) -> str:
        data = error.object  # the bytes held back from earlier chunks, then this chunk
        offset = self.fed - len(data) + error.start
        line = 1 + self.newlines - data.count(b"\n") + data.count(b"\n", 0, error.start)
        name = "UTF-8" if codecs.lookup(self.encoding).name == "utf-8" else self.encoding
        return (
            f"{self.source} is not {name} text: byte 0x{data[error.start]:02x} at byte offset "
            f"{offset} (line {line}) cannot be decoded; name its encoding with --encoding, keep "
            "going with --decode-errors replace or skip, or convert the file first, e.g. "
            "`iconv -f latin1 -t utf-8 IN > OUT`"
        )

    def _codec_message(self, error: ValueError) -> str:
        detail = " ".join(str(error).split()) or type(error).__name__
        return (
            f"{self.source} cannot be decoded as {self.encoding} ({detail}); name its encoding "
            "with --encoding, or convert the file to UTF-8 first"
        )


class TextStream:
    """The text of a ``TextSource`` as pieces (see the module docstring). ``progress`` (a
    callable given the bytes read so far) is called as the files are read."""

    def __init__(
        self,
        source: TextSource,
        max_chars: int | None = None,
        encoding: str = DEFAULT_ENCODING,
        decode_errors: str = "strict",
    ):
        check_decoding(encoding, decode_errors)
        self.source, self.max_chars = source, max_chars
        self.encoding, self.decode_errors = encoding, decode_errors
        self.undecodable = 0

    def total_bytes(self) -> int | None:
        """The bytes the files hold (None for the bundled archive, which is small)."""
        if self.source.kind == "bundled":
            return None
        return sum(path.stat().st_size for path in self._paths())

    def pieces(self, progress: Callable[[int], None] | None = None) -> Iterator[str]:
        left = self.max_chars
        self.undecodable = 0
        for piece in self._joined(progress or (lambda done: None)):
            if left is not None:
                piece, left = piece[:left], left - min(left, len(piece))
            if piece:
                yield piece
            if left == 0:
                return

    def _joined(self, progress: Callable[[int], None]) -> Iterator[str]:
        done = 0
        for index, (name, chunks) in enumerate(self._documents()):
            if index:
                yield DOCUMENT_SEPARATOR
            decoder = Decoder(name, self.encoding, self.decode_errors)
            try:
                for data in chunks:
                    done += len(data)
                    progress(done)
                    yield decoder.decode(data)
                yield decoder.decode(b"", final=True)
            finally:
                self.undecodable += decoder.undecodable

    def _documents(self) -> Iterator[tuple[str, Iterable[bytes]]]:
        if self.source.kind == "bundled":
            yield from _archive_documents(self.source.path)
            return
        if self.source.kind == "file" and self.source.path.stat().st_size == 0:
            raise ValueError(
                f"{self.source.path} is empty (0 bytes); a training text needs some characters"
            )
        for path in self._paths():
            yield str(path), _file_chunks(path)

    def _paths(self) -> list[Path]:
        source = self.source
        if source.kind == "file":
            return [source.path]
        paths = []
        for path in list_text_files(source.path, source.extensions):
            if path.stat().st_size:
                paths.append(path)
            else:
                logger.info("skipping empty file %s", path)
        if not paths:
            raise ValueError(
                f"{source.path} holds no non-empty text files: looked for "
                f"{', '.join(source.extensions)} (hidden files skipped); name a file directly "
                "or put text files with one of those extensions in the directory"
            )
        return paths


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while data := handle.read(CHUNK_BYTES):
            yield data


def _archive_documents(path: Path) -> Iterator[tuple[str, Iterable[bytes]]]:
    with tarfile.open(path, "r:xz") as archive:
        for member in archive:
            yield member.name, [archive.extractfile(member).read()]
