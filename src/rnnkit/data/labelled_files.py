"""Parsers for the files behind the classification sets: ``(inputs, labels)`` from each.

    read_labelled_csv(path)          a user's CSV with a header and columns text,label
    read_sentiment_ground_truth(p)   VADER's ``*_GroundTruth.txt``: id <TAB> score <TAB> text
    read_ts(path)                    sktime's ``.ts`` format (multivariate, variable length)

Each checks what it reads and raises ``ValueError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

import numpy as np

from rnnkit.data.text_files import (
    CsvReader,
    csv_field_limit,
    decode_text,
    read_text_file,
    split_lines,
)

CSV_COLUMNS = ("text", "label")

# VADER's ratings are means of about 20 raters on -4..+4; snippets rated within half a point
# of neutral are dropped rather than forced into a class.
SENTIMENT_THRESHOLD = 0.5


def read_labelled_csv(path: str | Path) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` of a UTF-8 CSV file whose header names a ``text`` and a ``label``
    column (in any order; other columns are ignored).

    Text is kept as written; a label loses surrounding whitespace. Errors: not UTF-8, no
    header, a column missing, a quote never closed, a row with a different number of fields
    from the header, an empty text or label (naming the line), no rows, fewer than two
    distinct labels.
    """
    path = Path(path)
    text = read_text_file(path)
    reader = CsvReader(text, str(path))
    with csv_field_limit(text):
        try:
            texts, labels = _read_labelled_rows(path, reader)
        except csv.Error as error:
            raise ValueError(
                f"{path}: line {max(reader.line_num, 1)} cannot be read as CSV ({error})"
            ) from None
    if not texts:
        raise ValueError(f"{path} has a header but no rows")
    if len(set(labels)) < 2:
        raise ValueError(
            f"{path}: every row has the label {labels[0]!r}; a classifier needs at least two "
            "classes"
        )
    return texts, labels


def _read_labelled_rows(path: Path, reader) -> tuple[list[str], list[str]]:
    """The texts and labels of the rows after the header (checked, not yet counted)."""
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} has no header line; expected columns text,label")
    columns = [name.strip() for name in header]
    missing = [name for name in CSV_COLUMNS if name not in columns]
    if missing:
        raise ValueError(
            f"{path}: the header (line 1) has columns {', '.join(map(repr, columns))}, but no "
            f"{' and no '.join(map(repr, missing))}; a labelled CSV needs a header with the "
            "columns text and label (other columns are ignored)"
        )
    text_column, label_column = columns.index("text"), columns.index("label")
    texts, labels, line = [], [], reader.line_num + 1  # line: where the next row starts
    for row in reader:
        if row:  # csv gives [] for a blank line
            _check_csv_row(path, line, row, len(columns), text_column, label_column)
            texts.append(row[text_column])
            labels.append(row[label_column].strip())
        line = reader.line_num + 1
    return texts, labels


def _check_csv_row(
    path: Path, line: int, row: list[str], width: int, text_column: int, label_column: int
) -> None:
    if len(row) != width:
        raise ValueError(
            f"{path}: line {line} has {len(row)} fields, but the header has {width}; quote "
            'a text that holds commas ("like, this")'
        )
    for column, what in ((text_column, "text"), (label_column, "label")):
        if not row[column].strip():
            raise ValueError(f"{path}: line {line} has an empty {what}")


def sentiment_label(score: float) -> str | None:
    """``"positive"`` for a mean rating >= 0.5, ``"negative"`` for <= -0.5, else None."""
    if score >= SENTIMENT_THRESHOLD:
        return "positive"
    if score <= -SENTIMENT_THRESHOLD:
        return "negative"
    return None


def read_sentiment_ground_truth(path: str | Path) -> tuple[list[str], list[str], int]:
    """``(texts, labels, dropped)`` of a VADER ground-truth file.

    One snippet a line (UTF-8, CRLF line ends): ``id <TAB> mean rating <TAB> text``. HTML
    entities in the text (``&amp;``, ``&lt;``, ``&gt;``) are decoded; ``dropped`` counts the
    near-neutral snippets (|rating| < 0.5) left out.
    """
    path = Path(path)
    texts, labels, dropped = [], [], 0
    for number, line in enumerate(split_lines(read_text_file(path)), start=1):
        if not line.strip():
            continue
        fields = line.split("\t", 2)
        try:
            score = float(fields[1]) if len(fields) == 3 else None
        except ValueError:
            score = None
        if score is None:
            raise ValueError(f"{path}: line {number} is not 'id<TAB>rating<TAB>text': {line!r}")
        label = sentiment_label(score)
        if label is None:
            dropped += 1
            continue
        texts.append(html.unescape(fields[2].strip()))
        labels.append(label)
    return texts, labels, dropped


def read_ts(path: str | Path) -> tuple[list[np.ndarray], list[str]]:
    """``(sequences, labels)`` of a file in sktime's ``.ts`` format.

    The format, as far as this parser reads it::

        # a comment                           (any number of lines starting with '#')
        @problemName JapaneseVowels           (header lines: '@key value ...')
        @dimensions 12
        @classLabel true 1 2 3 4 5 6 7 8 9    (the allowed labels)
        @data
        1.86,1.89,...:-0.21,-0.19,...: ... :1 (one series a line: each dimension's values,
                                               comma-separated, dimensions and then the
                                               label separated by ':')

    Every dimension of one series has the same length; lengths differ between series. Each
    series becomes a float32 array ``(T, F)``: one row per time step, one column per
    dimension. Time stamps and missing values ('?') are not supported.
    """
    path = Path(path)
    header, sequences, labels = {}, [], []
    lines = split_lines(decode_text(path.read_bytes(), str(path)))
    data_start = _read_ts_header(path, lines, header)
    dimensions = int(header.get("dimensions", "0")) or None
    allowed = header.get("classlabel", "").split()
    if not allowed or allowed[0] != "true":
        raise ValueError(f"{path}: '@classLabel true LABELS...' is missing; no labels to read")
    for number, line in enumerate(lines[data_start:], start=data_start + 1):
        if line.strip():
            series, label = _parse_ts_series(path, number, line, dimensions, allowed[1:])
            sequences.append(series)
            labels.append(label)
    if not sequences:
        raise ValueError(f"{path} holds no series after @data")
    return sequences, labels


def _read_ts_header(path: Path, lines: list[str], header: dict) -> int:
    """Fill ``header`` from the '@' lines; return the index of the first line after @data."""
    for index, line in enumerate(lines):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise ValueError(f"{path}: line {index + 1} comes before @data: {line[:40]!r}")
        key, _, value = line[1:].partition(" ")
        key = key.lower()
        if key == "data":
            if header.get("timestamps", "false") != "false":
                raise ValueError(f"{path}: @timeStamps true is not supported")
            return index + 1
        header[key] = value.strip()
    raise ValueError(f"{path} has no @data line")


def _parse_ts_series(
    path: Path, number: int, line: str, dimensions: int | None, allowed: list[str]
) -> tuple[np.ndarray, str]:
    *fields, label = line.strip().split(":")
    label = label.strip()
    if dimensions is not None and len(fields) != dimensions:
        raise ValueError(
            f"{path}: line {number} has {len(fields)} dimensions; @dimensions says {dimensions}"
        )
    if allowed and label not in allowed:
        raise ValueError(f"{path}: line {number} has label {label!r}; @classLabel allows {allowed}")
    if "?" in line:
        raise ValueError(f"{path}: line {number} has a missing value '?'; not supported")
    try:
        columns = [np.array(field.split(","), dtype=np.float32) for field in fields]
    except ValueError as error:
        raise ValueError(f"{path}: line {number}: {error}") from None
    if len({len(column) for column in columns}) != 1:
        lengths = sorted({len(column) for column in columns})
        raise ValueError(f"{path}: line {number}: its dimensions differ in length {lengths}")
    return np.stack(columns, axis=1), label  # (T, F)
