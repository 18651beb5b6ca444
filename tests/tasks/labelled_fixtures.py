"""Tiny in-memory labelled data, shaped like ``rnnkit.data.labelled``'s classes (duck-typed,
so the task tests do not depend on fetched data sets)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STEMS = [
    "ander", "kow", "ber", "nak", "ols", "lew", "mur", "tan", "pet", "sam",
    "vin", "dor", "hal", "rig", "fen", "lom", "gar", "tis", "bel", "cor",
]  # fmt: skip
ENDINGS = {"Nordic": "son", "Polish": "ski", "Japanese": "moto"}


@dataclass
class Data:
    name: str
    kind: str
    inputs: list
    labels: list[str]
    classes: list[str]
    splits: dict[str, np.ndarray]
    card: dict = field(default_factory=dict)


@dataclass
class Tagged:
    name: str
    sentences: list[list[str]]
    tags: list[list[str]]
    tag_set: list[str]
    splits: dict[str, np.ndarray]
    card: dict = field(default_factory=dict)


def every_tenth(n: int) -> dict[str, np.ndarray]:
    """Item i: test if i % 10 == 0, val if i % 10 == 5, else train."""
    index = np.arange(n, dtype=np.int64)
    return {"train": index[index % 10 % 5 != 0], "val": index[index % 10 == 5],
            "test": index[index % 10 == 0]}  # fmt: skip


def names() -> Data:
    """60 surnames whose origin is their ending."""
    pairs = [(s.title() + e, origin) for s in STEMS for origin, e in ENDINGS.items()]
    inputs, labels = map(list, zip(*pairs, strict=True))
    return Data("tiny-names", "chars", inputs, labels, sorted(ENDINGS), every_tenth(len(pairs)))


def reviews() -> Data:
    """60 reviews whose sentiment is the word they use."""
    words = {"pos": ["good", "great", "fine"], "neg": ["bad", "awful", "dull"]}
    inputs, labels = [], []
    for k, stem in enumerate(STEMS):
        for label, chosen in words.items():
            inputs.append(f"The {stem} film was {chosen[k % 3]}!")
            labels.append(label)
    return Data("tiny-reviews", "words", inputs, labels, ["neg", "pos"], every_tenth(len(inputs)))


def vectors() -> Data:
    """60 sequences of 3 features whose class is the sign of their mean."""
    rng = np.random.default_rng(0)
    inputs, labels = [], []
    for k in range(60):
        label = ["down", "up"][k % 2]
        shift = 1.5 if label == "up" else -1.5
        inputs.append((rng.normal(shift, 1, (rng.integers(2, 8), 3))).astype(np.float32))
        labels.append(label)
    return Data("tiny-vectors", "vectors", inputs, labels, ["down", "up"], every_tenth(60))


def tagged() -> Tagged:
    """40 sentences: capitalised words after 'in' are places, after 'met' people."""
    people, places = ["Ann", "Bob", "Cem", "Dua"], ["Oslo", "Rome", "Lima", "Kyiv"]
    sentences, tags = [], []
    for k in range(40):
        person, place = people[k % 4], places[(k // 4) % 4]
        sentences.append(["I", "met", person, "in", place, "."])
        tags.append(["O", "O", "B-PER", "O", "B-LOC", "O"])
        if k % 3 == 0:
            sentences[-1][2:3] = [person, "Smith"]
            tags[-1][2:3] = ["B-PER", "I-PER"]
    tag_set = sorted({t for s in tags for t in s})
    return Tagged("tiny-ner", sentences, tags, tag_set, every_tenth(40))


def write_csv(path, data: Data) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(data.inputs, data.labels, strict=True))


def write_conll(path, data: Tagged) -> None:
    blocks = [
        "\n".join(f"{w} {t}" for w, t in zip(s, g, strict=True))
        for s, g in zip(data.sentences, data.tags, strict=True)
    ]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
