"""The vocabulary: symbols (characters or words) to integer ids and back.

Layout of the ids::

    0          <unk>   stands for every symbol that was not in the training text
    1 .. V-1   the symbols of the training text, sorted by code point (Python's str order)

Sorting makes the vocabulary a function of the *set* of symbols only, so the same text always
gives the same ids whatever order it is read in. ``len(vocab)`` is ``V``, the number of ids,
and is the size of a language model's embedding and output layers.

Two levels:

- ``"char"`` (default): every Unicode character is a symbol.
- ``"word"``: the text is split by ``WORD_PATTERN`` into runs of word characters, single
  punctuation marks and runs of whitespace. Whitespace and punctuation stay tokens, so
  ``decode(encode(text)) == text`` whenever every token is known.

The vocabulary is saved as JSON in the run directory (``to_json``/``from_json``) so that
sampling never needs the corpus.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

UNK_TOKEN = "<unk>"
LEVELS = ("char", "word")
WORD_PATTERN = re.compile(r"\w+|[^\w\s]|\s+")
JSON_FORMAT = "rnnkit.vocab"
JSON_VERSION = 1


def split_words(text: str) -> list[str]:
    """Word-level tokens: word runs, single punctuation marks, whitespace runs."""
    return WORD_PATTERN.findall(text)


class Vocab:
    """A symbol <-> id mapping with ``<unk>`` at id 0 (see the module docstring).

    Build one from training text with ``Vocab.build(text)``; ``Vocab(symbols)`` keeps the
    order it is given, which is how ``from_json`` restores a saved vocabulary exactly.
    """

    unk_id = 0

    def __init__(self, symbols: Sequence[str], level: str = "char", unk_token: str = UNK_TOKEN):
        if level not in LEVELS:
            raise ValueError(f"unknown vocabulary level {level!r}; allowed: {', '.join(LEVELS)}")
        if not isinstance(unk_token, str) or not unk_token:
            raise ValueError(f"the unknown token must be a non-empty string, got {unk_token!r}")
        symbols = list(symbols)
        if len(set(symbols)) != len(symbols):
            raise ValueError("vocabulary symbols must be distinct")
        if unk_token in symbols:
            raise ValueError(f"the unknown token {unk_token!r} cannot also be a symbol")
        if level == "char" and any(len(symbol) != 1 for symbol in symbols):
            raise ValueError("a character vocabulary holds single characters only")
        if any(not symbol for symbol in symbols):
            raise ValueError("vocabulary symbols must be non-empty strings")
        self.level = level
        self.unk_token = unk_token
        self.itos = [unk_token, *symbols]
        self.stoi = {symbol: index for index, symbol in enumerate(self.itos)}
        self._lookup = _code_point_table(symbols) if level == "char" else None

    @classmethod
    def build(cls, text: str, level: str = "char", min_count: int = 1) -> Vocab:
        """The sorted symbols of ``text`` that occur at least ``min_count`` times."""
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        if level not in LEVELS:
            raise ValueError(f"unknown vocabulary level {level!r}; allowed: {', '.join(LEVELS)}")
        tokens = text if level == "char" else split_words(text)
        if min_count == 1:
            return cls(sorted(set(tokens)), level=level)
        counts = Counter(tokens)
        return cls(sorted(s for s, n in counts.items() if n >= min_count), level=level)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return (self.level, self.unk_token, self.itos) == (other.level, other.unk_token, other.itos)

    def __repr__(self) -> str:
        return f"Vocab(level={self.level!r}, size={len(self)})"

    @property
    def symbols(self) -> list[str]:
        """The known symbols, without ``<unk>``, in id order (ids 1 .. V-1)."""
        return self.itos[1:]

    def tokenize(self, text: str) -> list[str]:
        """Split ``text`` into symbols at this vocabulary's level."""
        return list(text) if self.level == "char" else split_words(text)

    def encode(self, text: str) -> list[int]:
        """Ids of the symbols of ``text``; unknown symbols become ``unk_id``."""
        return [self.stoi.get(token, self.unk_id) for token in self.tokenize(text)]

    def encode_array(self, text: str) -> np.ndarray:
        """``encode`` as an int64 NumPy array; vectorised at char level for large corpora."""
        if self.level == "word":
            return np.array(self.encode(text), dtype=np.int64)
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        return self._lookup[np.minimum(points, self._lookup.size - 1)]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``; ``unk_id`` decodes to the unknown token itself."""
        size = len(self.itos)
        pieces = []
        for index in ids:
            index = int(index)
            if not 0 <= index < size:
                raise ValueError(f"id {index} is outside this vocabulary (ids 0..{size - 1})")
            pieces.append(self.itos[index])
        return "".join(pieces)

    def unknown_symbols(self, text: str) -> list[str]:
        """The distinct symbols of ``text`` that are not in the vocabulary, sorted."""
        return sorted({token for token in self.tokenize(text) if token not in self.stoi})

    def to_json(self) -> str:
        """A JSON document that ``from_json`` turns back into an equal vocabulary."""
        document = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "level": self.level,
            "unk_token": self.unk_token,
            "symbols": self.symbols,
        }
        return json.dumps(document, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        """Inverse of ``to_json``; rejects documents that are not an rnnkit vocabulary."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"vocabulary JSON cannot be parsed: {error}") from None
        if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
            raise ValueError(f'not an rnnkit vocabulary: expected "format": "{JSON_FORMAT}"')
        if document.get("version") != JSON_VERSION:
            raise ValueError(
                f"vocabulary version {document.get('version')!r} is not supported "
                f"(this rnnkit reads version {JSON_VERSION})"
            )
        symbols = document.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise ValueError('vocabulary JSON: "symbols" must be a list of strings')
        return cls(symbols, level=document.get("level"), unk_token=document.get("unk_token"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _code_point_table(symbols: Sequence[str]) -> np.ndarray:
    """``table[ord(c)]`` is the id of character ``c``; every other slot, and the last one
    (where code points beyond the table are clipped to), holds ``unk_id``."""
    size = max((ord(symbol) for symbol in symbols), default=0) + 2
    table = np.full(size, Vocab.unk_id, dtype=np.int64)
    for index, symbol in enumerate(symbols, start=1):
        table[ord(symbol)] = index
    return table
