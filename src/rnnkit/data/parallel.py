r"""Sentence pairs for translation: the fetched ``bible`` verses or a user's TSV, filtered by
length and split once, with a seed.

    data = load_parallel("bible", direction="en-es", max_words=25)    # ParallelData
    data.pairs[0]          # ("In the beginning God created ...", "EN el principio crió ...")
    data.splits["test"]    # indices into data.pairs

Sources:

- ``bible``: ``<cache>/bible/files/bible.tsv`` (``rnnkit data fetch bible``; see
  ``rnnkit.data.bible``), English and Spanish columns; ``direction`` ``en-es`` (default)
  or ``es-en``;
- a path: a UTF-8 file of ``source<TAB>target`` lines (blank lines skipped); ``direction``
  ``src-tgt`` (as written) or ``tgt-src``. A malformed line is a ValueError naming its number.

Filtering keeps a pair when both sides have between 1 and ``max_words`` words (whitespace-
separated, punctuation attached). The split is a seeded permutation of the kept pairs: the
first ``val_size`` are the validation split, the next ``test_size`` the test split, the rest
training; each of val and test is at most 5% of the pairs (at least one), so a small file
still trains. For the Bible a pair is one verse, so no verse is in two splits.

Tokens are words: ``tokenize`` splits words (with inner apostrophes: ``child's``) from single
punctuation marks, lowercased by default; ``detokenize`` joins them back with the spacing of
ordinary English and Spanish text, which is what BLEU and chrF score.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.bible import BIBLE_FILE, BIBLE_HEADER
from rnnkit.data.corpora import dataset_path, read_marker
from rnnkit.data.text_files import decode_text, split_lines
from rnnkit.data.vocab import Vocab

BIBLE = "bible"
BIBLE_DIRECTIONS = ("en-es", "es-en")
FILE_DIRECTIONS = ("src-tgt", "tgt-src")
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIALS = (PAD, BOS, EOS)  # ids 1, 2, 3 after <unk> = 0
SPLITS = ("train", "val", "test")
WORD_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([,.;:!?)\]}\u2019%])")
_NO_SPACE_AFTER = re.compile(r"([(\[{\u00bf\u00a1]) ")


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Word and punctuation tokens of ``text``."""
    return WORD_TOKEN.findall(text.lower() if lowercase else text)


def detokenize(tokens: Iterable[str]) -> str:
    """Tokens joined by spaces, without the space before ``, . ; : ! ? )`` or after ``¿ ¡ (``."""
    text = " ".join(tokens)
    return _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))


def build_vocab(token_lists: Iterable[Sequence[str]], min_count: int = 1) -> Vocab:
    """``<unk>`` (0), ``<pad>``, ``<bos>``, ``<eos>`` (1-3), then the words seen at least
    ``min_count`` times, sorted."""
    counts = Counter(token for tokens in token_lists for token in tokens)
    words = sorted(w for w, n in counts.items() if n >= min_count and w not in SPECIALS)
    return Vocab([*SPECIALS, *(w for w in words if w != "<unk>")], level="word")


@dataclass
class ParallelData:
    """Kept sentence pairs (source, target), where each came from, and the split."""

    name: str
    direction: str
    pairs: list[tuple[str, str]]
    origins: list[str]  # "Genesis 1:1" or "line 12"
    splits: dict[str, np.ndarray]
    card: dict

    def fingerprint(self) -> str:
        """sha256 of every pair and the split, to check a reload against a run."""
        digest = hashlib.sha256()
        for source, target in self.pairs:
            digest.update(f"{source}\t{target}\n".encode("utf-8", "surrogatepass"))
        for name in SPLITS:
            digest.update(name.encode() + self.splits[name].astype(np.int64).tobytes())
        return digest.hexdigest()


def read_pairs_tsv(path: str | Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The ``(source, target)`` pairs of a ``source<TAB>target`` file and their line names."""
    path = Path(path)
    text = decode_text(path.read_bytes(), str(path))  # an empty file holds no pairs, below
    pairs, origins = [], []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise ValueError(
                f"{path}, line {number}: expected source<TAB>target (2 fields), got "
                f"{len(fields)} field(s): {line[:60]!r}"
            )
        source, target = (field.strip() for field in fields)
        if not source or not target:
            side = "source" if not source else "target"
            raise ValueError(f"{path}, line {number}: the {side} sentence is empty")
        pairs.append((source, target))
        origins.append(f"line {number}")
    if not pairs:
        raise ValueError(f"{path} holds no sentence pairs (source<TAB>target lines)")
    return pairs, origins


def read_bible_tsv(path: str | Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The (English, Spanish) verse pairs of ``bible.tsv`` and their references."""
    lines = split_lines(decode_text(Path(path).read_bytes(), str(path)))
    if not lines or tuple(lines[0].split("\t")) != BIBLE_HEADER:
        raise ValueError(f"{path} is not rnnkit's bible.tsv (header {'<TAB>'.join(BIBLE_HEADER)})")
    pairs, origins = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(BIBLE_HEADER):
            raise ValueError(f"{path}, line {number}: expected 5 fields, got {len(fields)}")
        book, chapter, verse, english, spanish = fields
        pairs.append((english, spanish))
        origins.append(f"{book} {chapter}:{verse}")
    return pairs, origins


def split_indices(count: int, seed: int, val_size: int, test_size: int) -> dict[str, np.ndarray]:
    """A seeded permutation of ``range(count)`` cut into val, test and train (see above)."""
    cap = max(1, count // 20)
    val_size, test_size = min(val_size, cap), min(test_size, cap)
    if count < val_size + test_size + 1:
        raise ValueError(f"{count} pair(s) are too few to split into train, val and test")
    order = np.random.default_rng(seed).permutation(count)
    return {
        "val": np.sort(order[:val_size]),
        "test": np.sort(order[val_size : val_size + test_size]),
        "train": np.sort(order[val_size + test_size :]),
    }


def load_parallel(
    dataset: str,
    direction: str | None = None,
    max_words: int | None = 25,
    split_seed: int = 0,
    val_size: int = 1000,
    test_size: int = 1000,
) -> ParallelData:
    """Read, orient, filter and split a data set (see the module docstring)."""
    if dataset == BIBLE:
        direction = direction or BIBLE_DIRECTIONS[0]
        _check_choice("direction", direction, BIBLE_DIRECTIONS)
        folder = dataset_path(BIBLE)
        pairs, origins = read_bible_tsv(folder / BIBLE_FILE)
        marker = read_marker(BIBLE) or {}
        card = {
            "source": "rnnkit data fetch bible",
            "packages": "sword-text-kjv + sword-text-sparv (Debian)",
            "package_version": marker.get("package_version"),
            "file_sha256": marker.get("file_sha256", {}).get(BIBLE_FILE),
            "licence": "public domain",
        }
        reverse = direction == "es-en"
    else:
        direction = direction or FILE_DIRECTIONS[0]
        _check_choice("direction", direction, FILE_DIRECTIONS)
        path = Path(dataset).expanduser()
        if not path.is_file():
            raise ValueError(
                f"no data set or file named {dataset!r}; --dataset takes bible or the path of a "
                "UTF-8 file of source<TAB>target lines"
            )
        pairs, origins = read_pairs_tsv(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        card = {"source": "user file", "file": str(path.resolve()), "file_sha256": digest}
        reverse = direction == "tgt-src"
    if reverse:
        pairs = [(target, source) for source, target in pairs]
    if max_words is not None:
        kept = [
            i
            for i, (s, t) in enumerate(pairs)
            if len(s.split()) <= max_words and len(t.split()) <= max_words
        ]
        card["filtered_out"] = len(pairs) - len(kept)
        pairs, origins = [pairs[i] for i in kept], [origins[i] for i in kept]
    splits = split_indices(len(pairs), split_seed, val_size, test_size)
    card["counts"] = {name: int(len(splits[name])) for name in SPLITS}
    name = BIBLE if dataset == BIBLE else Path(dataset).name
    return ParallelData(name, direction, pairs, origins, splits, card)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
