"""Visual question answering data with no download of its own: scenes of handwritten digits.

    images = load_images("digits")                    # after `rnnkit data fetch digits`
    data = make_scenes(images, SceneRules())          # the fixed splits (seed 0)
    data.scenes.shape, data.questions[0]              # (S, 24, 24) float32 in [0, 1]; a Question

A **scene** is a ``grid x grid`` square of digit images (``digits``: 8x8 pixels each, so a
3x3 scene is 24x24 pixels); its **regions** are the cells, numbered row by row. Every scene
of a split is drawn by ``numpy.random.default_rng([seed, split, k])``: each cell gets a
digit class uniformly and then an image of that class from the split's own images (the
stratified split of ``rnnkit.data.images``: train scenes from training images only, val from
validation images, both test splits from test images). A val or test scene whose layout
(its tuple of classes) is one a training scene has is drawn again: **test scenes are new
combinations of new images**.

Each scene gets one question of each type (the type's argument drawn uniformly):

    what     "what is at the <position> ?"                 -> a digit word ("seven")
    count    "how many <sevens|even digits|odd digits> are there ?" -> a number ("0" .. "9")
    exists   "is there a <seven> ?"  (present half the time)        -> "yes" | "no"
    where    "where is the <seven> ?"  (a digit there once)         -> the position, and
             its region (pointing);  skipped when no digit is there exactly once
    compare  "is the <position> digit larger than the <position> digit ?" -> "yes" | "no"

Positions: 2x2 ``top left, top right, bottom left, bottom right``; 3x3 adds ``top``,
``left``, ``centre``, ``right``, ``bottom``. Answers follow from the scene's classes by
construction (:func:`answer`); the tests check them with a parser of their own.

**Held-out question/object combinations** (:data:`HELD_OUT`): train, val and test never
ask them; the split ``novel`` (test images) asks only them, so the language prior of the
training questions cannot answer it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from rnnkit.data.images import ImageData
from rnnkit.options import check_int

SPLITS = ("train", "val", "test", "novel")
IMAGE_PART = {"train": "train", "val": "val", "test": "test", "novel": "test"}
QUESTION_TYPES = ("what", "count", "exists", "where", "compare")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PLURALS = ("zeros", "ones", "twos", "threes", "fours", "fives", "sixes", "sevens", "eights")
PLURALS = (*PLURALS, "nines")
POSITIONS = {
    2: ("top left", "top right", "bottom left", "bottom right"),
    3: (
        *("top left", "top", "top right", "left", "centre"),
        *("right", "bottom left", "bottom", "bottom right"),
    ),
}
GROUPS = ("even", "odd")  # count's categories beside the ten digits
# (type, argument) never asked in train / val / test, and only asked in "novel"
HELD_OUT = frozenset(
    {
        ("what", "bottom left"),
        ("count", "threes"),
        ("count", "odd"),
        ("exists", "six"),
        ("exists", "one"),
        ("where", "five"),
        ("where", "zero"),
        ("compare", "top left|bottom right"),
    }
)
DRAWS = 50  # tries for a scene with a new layout, or a question outside / inside HELD_OUT


@dataclass(frozen=True)
class SceneRules:
    """How many scenes of each split, their grid, and the seed of everything."""

    grid: int = 3
    train_scenes: int = 4000
    eval_scenes: int = 500  # each of val, test and novel
    seed: int = 0

    def validate(self) -> None:
        if self.grid not in POSITIONS:
            raise ValueError(f"grid must be 2 or 3 (cells a side), got {self.grid}")
        for name in ("train_scenes", "eval_scenes"):
            check_int(name, getattr(self, name))

    def count(self, split: str) -> int:
        return self.train_scenes if split == "train" else self.eval_scenes


@dataclass(frozen=True)
class Question:
    """One question about scene ``scene``: its words, type, argument (the object or place it
    asks about), answer words, and the answer's region (-1: the answer is no region)."""

    scene: int
    text: str
    type: str
    argument: str
    answer: str
    region: int = -1


@dataclass
class SceneData:
    """The scenes (S, H, W) float32, their classes (S, R), the source image rows (S, R), each
    scene's split, the questions, and the question indices of each split."""

    name: str
    rules: SceneRules
    scenes: np.ndarray
    classes: np.ndarray
    rows: np.ndarray
    scene_split: list[str]
    questions: list[Question]
    splits: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def regions(self) -> int:
        return self.rules.grid**2

    def card(self) -> dict:
        """Counts per split, question type and answer: what the data card tabulates."""
        out = {}
        for split, indices in self.splits.items():
            chosen = [self.questions[i] for i in indices]
            types = Counter(q.type for q in chosen)
            answers = {
                t: dict(sorted(Counter(q.answer for q in chosen if q.type == t).items()))
                for t in QUESTION_TYPES
            }
            scenes = len({q.scene for q in chosen})
            out[split] = {"scenes": scenes, "questions": len(chosen), "types": dict(types)}
            out[split]["answers"] = answers
        return out


def answer(classes: list[int], grid: int, kind: str, argument: str) -> tuple[str, int]:
    """The answer words and region (-1: none) of question ``(kind, argument)`` about a scene
    of ``classes`` (row by row)."""
    places = POSITIONS[grid]
    if kind == "what":
        return DIGIT_WORDS[classes[places.index(argument)]], -1
    if kind == "count":
        if argument in GROUPS:
            parity = GROUPS.index(argument)
            return str(sum(1 for c in classes if c % 2 == parity)), -1
        return str(classes.count(PLURALS.index(argument))), -1
    if kind == "exists":
        return ("yes" if DIGIT_WORDS.index(argument) in classes else "no"), -1
    if kind == "where":
        region = classes.index(DIGIT_WORDS.index(argument))
        return places[region], region
    if kind == "compare":
        first, second = (places.index(p) for p in argument.split("|"))
        return ("yes" if classes[first] > classes[second] else "no"), -1
    raise ValueError(f"unknown question type {kind!r}; known: {', '.join(QUESTION_TYPES)}")


def question_text(kind: str, argument: str) -> str:
    """The question's words (lowercase, spaces between them and before ``?``)."""
    if kind == "what":
        return f"what is at the {argument} ?"
    if kind == "count":
        thing = f"{argument} digits" if argument in GROUPS else argument
        return f"how many {thing} are there ?"
    if kind == "exists":
        return f"is there a {argument} ?"
    if kind == "where":
        return f"where is the {argument} ?"
    first, second = argument.split("|")
    return f"is the {first} digit larger than the {second} digit ?"


def vocabulary(grid: int) -> list[str]:
    """Every word a question or an answer about a ``grid`` scene can have, sorted."""
    places = POSITIONS[grid]
    arguments = {
        "what": places,
        "count": (*PLURALS, *GROUPS),
        "exists": DIGIT_WORDS,
        "where": DIGIT_WORDS,
        "compare": [f"{a}|{b}" for a in places for b in places if a != b],
    }
    texts = [question_text(k, a) for k, values in arguments.items() for a in values]
    texts += [*DIGIT_WORDS, *places, "yes no", " ".join(str(n) for n in range(grid**2 + 1))]
    return sorted({word for text in texts for word in text.split()})


def draw_argument(rng: np.random.Generator, kind: str, classes: list[int], grid: int):
    """A random argument of question type ``kind`` for a scene (None: none fits)."""
    places = POSITIONS[grid]
    if kind == "what":
        return places[rng.integers(len(places))]
    if kind == "count":
        options = (*PLURALS, *GROUPS)
        return options[rng.integers(len(options))]
    if kind == "exists":
        present = sorted(set(classes))
        pool = present if rng.random() < 0.5 else [d for d in range(10) if d not in present]
        return DIGIT_WORDS[pool[rng.integers(len(pool))]] if pool else None
    if kind == "where":
        once = [d for d in range(10) if classes.count(d) == 1]
        return DIGIT_WORDS[once[rng.integers(len(once))]] if once else None
    first, second = rng.choice(len(places), size=2, replace=False)
    return f"{places[first]}|{places[second]}"


def scene_questions(rng, index: int, classes: list[int], grid: int, novel: bool):
    """One question of each type that has one: outside HELD_OUT, or (``novel``) inside it."""
    out = []
    for kind in QUESTION_TYPES:
        argument = held_out_argument(rng, kind, classes) if novel else None
        for _ in range(0 if novel else DRAWS):
            argument = draw_argument(rng, kind, classes, grid)
            if argument is not None and (kind, argument) not in HELD_OUT:
                break
            argument = None
        if argument is not None:
            words, region = answer(classes, grid, kind, argument)
            text = question_text(kind, argument)
            out.append(Question(index, text, kind, argument, words, region))
    return out


def held_out_argument(rng, kind: str, classes: list[int]) -> str | None:
    """A held-out argument of type ``kind`` that fits the scene (``where``: its digit there
    exactly once), or None."""
    fits = sorted(
        a
        for k, a in HELD_OUT
        if k == kind and (k != "where" or classes.count(DIGIT_WORDS.index(a)) == 1)
    )
    return fits[rng.integers(len(fits))] if fits else None


def make_scenes(images: ImageData, rules: SceneRules | None = None) -> SceneData:
    """Every split's scenes and questions (module docstring), the same on every machine."""
    rules = rules or SceneRules()
    rules.validate()
    pools = image_pools(images)
    layouts: set[tuple[int, ...]] = set()
    classes, rows, scene_split, questions = [], [], [], []
    splits: dict[str, list[int]] = {}
    for number, split in enumerate(SPLITS):
        splits[split] = []
        for k in range(rules.count(split)):
            rng = np.random.default_rng([rules.seed, number, k])
            layout = draw_layout(rng, rules.grid**2, None if split == "train" else layouts)
            if split == "train":
                layouts.add(tuple(layout))
            pool = pools[IMAGE_PART[split]]
            rows.append([int(pool[c][rng.integers(len(pool[c]))]) for c in layout])
            asked = scene_questions(rng, len(classes), layout, rules.grid, split == "novel")
            splits[split].extend(range(len(questions), len(questions) + len(asked)))
            questions.extend(asked)
            classes.append(layout)
            scene_split.append(split)
    rows_array = np.array(rows, dtype=np.int64)
    return SceneData(
        f"{images.name}-{rules.grid}x{rules.grid}",
        rules,
        compose(images.images[rows_array], rules.grid),  # (S, grid*h, grid*w)
        np.array(classes, dtype=np.int64),
        rows_array,
        scene_split,
        questions,
        {s: np.array(v, dtype=np.int64) for s, v in splits.items()},
    )


def image_pools(images: ImageData) -> dict[str, list[np.ndarray]]:
    """Each image part's rows of each digit class."""
    pools = {}
    for part in ("train", "val", "test"):
        indices = getattr(images, f"{part}_indices")
        pools[part] = [indices[images.labels[indices] == d] for d in range(10)]
        if any(len(p) == 0 for p in pools[part]):
            raise ValueError(
                f"{images.name}'s {part} part lacks a digit class; scenes need all ten"
            )
    return pools


def draw_layout(rng, regions: int, seen: set | None) -> list[int]:
    """A scene's classes, row by row; drawn again while it is one of ``seen``."""
    for _ in range(DRAWS):
        layout = rng.integers(0, 10, regions).tolist()
        if seen is None or tuple(layout) not in seen:
            return layout
    raise ValueError("cannot draw a scene layout unseen in training; ask for fewer scenes")


def compose(cells: np.ndarray, grid: int) -> np.ndarray:
    """``cells`` (S, R, h, w) -> scenes (S, grid*h, grid*w), cell ``r`` at row ``r // grid``,
    column ``r % grid``."""
    n, _, h, w = cells.shape
    tiled = cells.reshape(n, grid, grid, h, w).transpose(0, 1, 3, 2, 4)
    return np.ascontiguousarray(tiled.reshape(n, grid * h, grid * w))


def fingerprint(data: SceneData) -> str:
    """SHA-256 of the scenes' pixels, the questions and their answers."""
    digest = hashlib.sha256(np.ascontiguousarray(data.scenes).tobytes())
    for q in data.questions:
        digest.update(f"{q.scene}\t{q.text}\t{q.answer}\t{q.region}\n".encode())
    return digest.hexdigest()
