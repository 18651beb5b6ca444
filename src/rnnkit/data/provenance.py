"""A training text and the record of where it came from, so that a run can read it again.

    stream, scan, record = scan_corpus("shakespeare", max_chars=None)
    # record: {"source", "kind", "path", "chars", "sha256"}, kept in config.json's "data"
    stream, scan = scan_recorded_corpus(record, max_chars=None)   # the same text, or an error
    text, record = read_corpus("shakespeare", max_chars=None)     # the text as one str

The sha256 is of the text as read (after ``max_chars``), so a resumed or evaluated run splits
exactly the text it was trained on, or says that the text has changed. A text read with
another encoding than UTF-8, or with ``decode_errors`` other than ``strict``, records both and
the count of characters that did not decode (``undecodable``), and is read again the same
way; a record without them (every run made before they existed) means UTF-8, strict.
"""

from __future__ import annotations

import hashlib

from rnnkit.data.corpora import resolve_text_source
from rnnkit.data.text_scan import TextScan, scan_text
from rnnkit.data.text_stream import DEFAULT_ENCODING, TextStream


def scan_corpus(
    source_name: str,
    max_chars: int | None,
    encoding: str = DEFAULT_ENCODING,
    decode_errors: str = "strict",
) -> tuple[TextStream, TextScan, dict]:
    """The training text of ``source_name`` (a data set name, a file or a directory,
    validated by ``resolve_text_source``) cut to ``max_chars``, as a stream, read once; and a
    record of where it came from: the source, its resolved path, its length and sha256."""
    source = resolve_text_source(source_name)
    stream = TextStream(source, max_chars, encoding, decode_errors)
    scan = scan_text(stream)
    if scan.chars == 0:  # a byte-order mark alone, or only bytes --decode-errors skip dropped
        raise ValueError(f"{source_name} holds no characters; a training text needs some")
    path = source.path if source.kind == "bundled" else source.path.resolve()
    record = {
        "source": source_name,
        "kind": source.kind,
        "path": str(path),
        "chars": scan.chars,
        "sha256": scan.sha256,
    }
    if (encoding, decode_errors) != (DEFAULT_ENCODING, "strict"):
        record.update(encoding=encoding, decode_errors=decode_errors)
        record["undecodable"] = scan.undecodable
    return stream, scan, record


def scan_recorded_corpus(record: dict, max_chars: int | None) -> tuple[TextStream, TextScan]:
    """The text a run was trained on, from its ``config.json`` record, read once, or a
    ValueError if it can no longer be read or has changed since."""
    location = record["path"] if record["kind"] in ("file", "directory") else record["source"]
    encoding = record.get("encoding", DEFAULT_ENCODING)
    stream = TextStream(
        resolve_text_source(location), max_chars, encoding, record.get("decode_errors", "strict")
    )
    scan = scan_text(stream)
    if scan.sha256 != record["sha256"]:
        raise ValueError(
            f"the training text at {location} has changed since this run started "
            f"({scan.chars} characters now, {record['chars']} then); it cannot be split the "
            "same way"
        )
    return stream, scan


def read_corpus(
    source_name: str,
    max_chars: int | None,
    encoding: str = DEFAULT_ENCODING,
    decode_errors: str = "strict",
) -> tuple[str, dict]:
    """``scan_corpus``'s text as one ``str`` (for the small corpora of the NumPy engine)."""
    stream, _, record = scan_corpus(source_name, max_chars, encoding, decode_errors)
    return "".join(stream.pieces()), record


def read_recorded_corpus(record: dict, max_chars: int | None) -> str:
    """``scan_recorded_corpus``'s text as one ``str``."""
    stream, _ = scan_recorded_corpus(record, max_chars)
    return "".join(stream.pieces())


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
