"""Read a user's training text: one UTF-8 file, or a directory of text files.

Every check happens here, at the boundary, so that the rest of rnnkit can trust a ``str``:

- the path exists and is a regular file or a directory;
- a single file is not empty;
- no file contains a NUL byte (a sure sign of a binary file);
- every file is valid UTF-8 (a leading byte-order mark is dropped).

A directory is read recursively. Files are kept when their suffix is one of ``extensions``
(case-insensitive); hidden files and folders (names starting with ``.``) are skipped, and so
are empty files. The files are read in sorted order of their path relative to the directory,
so the same directory always gives the same text. Text is kept exactly as stored: no newline
translation, no Unicode normalisation.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Suffixes a directory is searched for unless the caller names others.
TEXT_EXTENSIONS = (".txt", ".text", ".md", ".rst", ".c", ".h", ".py", ".abc")

# Put between documents when several are joined into one training text, so that each document
# starts after a blank line (after two when the previous one already ends with a newline).
DOCUMENT_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Document:
    """One text file: ``name`` is its path relative to the corpus root, in POSIX form."""

    name: str
    text: str


def decode_text(data: bytes, source: str) -> str:
    """Decode ``data`` read from ``source`` (a name used in error messages) as UTF-8 text.

    Raises ``ValueError`` for a NUL byte or an invalid UTF-8 sequence, naming the byte offset
    and line. Empty input decodes to ``""``; callers decide whether that is allowed.
    """
    nul = data.find(b"\0")
    if nul >= 0:
        raise ValueError(
            f"{source} looks like a binary file (NUL byte at byte offset {nul}); "
            "rnnkit trains on UTF-8 text files only"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{source} is not UTF-8 text: byte 0x{data[error.start]:02x} at byte offset "
            f"{error.start} (line {line}) cannot be decoded; rnnkit reads text as UTF-8, "
            "so convert the file first, e.g. `iconv -f latin1 -t utf-8 IN > OUT`"
        ) from None
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    """The lines of ``text``, split at ``\n`` only (a ``\r`` before it, as in CRLF files, is
    dropped too); a final line break ends the last line rather than starting an empty one.

    Unlike ``str.splitlines``, form feeds, ``\x0b``, ``\x1c``-``\x1e``, ``\x85``, ``\u2028``
    and ``\u2029`` stay inside their line, so line numbers match what an editor shows.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the text ends with a line break, or is empty
    return [line.removesuffix("\r") for line in lines]


# The most ``csv.field_size_limit`` takes on every platform (a C long may be 32 bits).
_CSV_FIELD_LIMIT = 2**31 - 1


@contextmanager
def csv_field_limit(text: str) -> Iterator[None]:
    """Let the ``csv`` module read a field as long as ``text`` (its default limit is 131,072
    characters, but a long quoted field is valid CSV); the old limit is restored after."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, min(len(text) + 1, _CSV_FIELD_LIMIT)))
    try:
        yield
    finally:
        csv.field_size_limit(old)


class CsvReader:
    """``csv.reader`` over a CSV ``text`` (rows end at \\n, \\r\\n or \\r only), ``line_num``
    included, that stops at a quote never closed with a ValueError naming ``source`` and the
    line the quote opened on. Python's reader (not strict) would give the rest of the file as
    that one field, which then reads as a row of too few fields.

    Only an open quote lets the text run out inside a row (a line's end closes anything
    else), so a row given after the last line was read is one.
    """

    def __init__(self, text: str, source: str):
        self.source, self.ended = source, False
        self.reader = csv.reader(self._lines(text))

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        row = next(self.reader)
        if self.ended and row:
            spanned = len(io.StringIO(row[-1], newline="").readlines()) or 1  # the open field's
            raise ValueError(
                f"{self.source}: the quote opened on line {self.line_num - spanned + 1} is "
                'never closed; end a quoted field with a quote ("like, this"), and write a '
                'quote inside one as two ("")'
            )
        return row

    def _lines(self, text: str) -> Iterator[str]:
        yield from io.StringIO(text, newline="")
        self.ended = True


def read_text_file(path: str | Path) -> str:
    """Read one UTF-8 text file, rejecting a missing, empty, binary or non-UTF-8 file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(_not_found_message(path))
    data = path.read_bytes()
    if not data:
        raise ValueError(f"{path} is empty (0 bytes); a training text needs some characters")
    text = decode_text(data, str(path))
    if not text:
        raise ValueError(f"{path} holds only a byte-order mark; a text needs some characters")
    return text


def list_text_files(
    directory: str | Path, extensions: Sequence[str] = TEXT_EXTENSIONS
) -> list[Path]:
    """The files under ``directory`` whose suffix is in ``extensions``, in sorted order.

    Suffixes match case-insensitively, with or without their dot (``".txt"`` or ``"txt"``).
    """
    directory = Path(directory)
    wanted = {"." + suffix.lower().lstrip(".") for suffix in extensions}
    found = []
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in wanted and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def read_text_directory(
    directory: str | Path, extensions: Sequence[str] = TEXT_EXTENSIONS
) -> list[Document]:
    """Read every text file under ``directory`` (see the module docstring for the rules)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(_not_found_message(directory))
    documents = []
    for path in list_text_files(directory, extensions):
        data = path.read_bytes()
        if not data:
            logger.info("skipping empty file %s", path)
            continue
        name = path.relative_to(directory).as_posix()
        documents.append(Document(name, decode_text(data, str(path))))
    if not documents:
        raise ValueError(
            f"{directory} holds no non-empty text files: looked for {', '.join(extensions)} "
            "(hidden files skipped); name a file directly or put text files with one of "
            "those extensions in the directory"
        )
    return documents


def read_documents(path: str | Path, extensions: Sequence[str] = TEXT_EXTENSIONS) -> list[Document]:
    """Read a text file (one document) or a directory of text files (one document each)."""
    path = Path(path)
    if path.is_dir():
        return read_text_directory(path, extensions)
    return [Document(path.name, read_text_file(path))]


def join_documents(documents: Iterable[Document]) -> str:
    """Concatenate documents in the given order, with ``DOCUMENT_SEPARATOR`` between them."""
    return DOCUMENT_SEPARATOR.join(document.text for document in documents)


def _not_found_message(path: Path) -> str:
    allowed = "expected a UTF-8 text file or a directory of text files"
    if path.exists():
        return f"{path} is neither a regular file nor a directory; {allowed}"
    return f"no such file or directory: {path}; {allowed}"
