"""A training text and the record of where it came from, so that a run can read it again.

    text, record = read_corpus("shakespeare", max_chars=None)
    # record: {"source", "kind", "path", "chars", "sha256"}, kept in config.json's "data"
    text = read_recorded_corpus(record, max_chars=None)   # the same text, or a ValueError

The sha256 is of the text as read (after ``max_chars``), so a resumed or evaluated run splits
exactly the text it was trained on, or says that the text has changed.
"""

from __future__ import annotations

import hashlib

from rnnkit.data.corpora import resolve_text_source


def read_corpus(source_name: str, max_chars: int | None) -> tuple[str, dict]:
    """The training text of ``source_name`` (a data set name, a file or a directory,
    validated by ``resolve_text_source``), cut to ``max_chars``, and a record of where it came
    from: the source, its resolved path, its length and sha256."""
    source = resolve_text_source(source_name)
    text = source.read_text()
    if max_chars is not None:
        text = text[:max_chars]
    path = source.path if source.kind == "bundled" else source.path.resolve()
    record = {
        "source": source_name,
        "kind": source.kind,
        "path": str(path),
        "chars": len(text),
        "sha256": text_sha256(text),
    }
    return text, record


def read_recorded_corpus(record: dict, max_chars: int | None) -> str:
    """The text a run was trained on, from its ``config.json`` record, or a ValueError if it
    can no longer be read or has changed since."""
    location = record["path"] if record["kind"] in ("file", "directory") else record["source"]
    text = resolve_text_source(location).read_text()
    if max_chars is not None:
        text = text[:max_chars]
    if text_sha256(text) != record["sha256"]:
        raise ValueError(
            f"the training text at {location} has changed since this run started "
            f"({len(text)} characters now, {record['chars']} then); it cannot be split the same way"
        )
    return text


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
