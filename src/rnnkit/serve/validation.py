"""The Neurons view's "from the validation split": a piece of the run's own validation split,
as text the view can trace.

    split = open_split(run, "charlm")        # the run's val part, rebuilt as training cut it
    split.take(start=120, length=300)        # characters 120..419 of the val part
    split.take(seed=7)                       # a start drawn at random (the answer says where)
    open_split(run, "tag").take(start=2)     # the third validation sentence

Everything comes from the run directory: ``config.json`` records the data the run was trained
on, and each task's own function rebuilds its split from it exactly as training did (the char
model's ``SPEC.reopen``: the recorded text, checked by its sha256, cut by the run's split
fractions; the labelled sets' and the pairs' ``reload_data``: the recorded data set and split
seed, checked by their fingerprint). A char model's slice is ``start``..``start + length`` of
the val part; a classifier's, tagger's or translation's is one validation example by index
(a classifier of vectors': its frames, one a line, as the Neurons view reads them).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnkit.serve.neurons import MAX_TEXT
from rnnkit.serve.reading import frames_text
from rnnkit.serve.write import check_seed

MAX_LENGTH = MAX_TEXT  # characters: as many as the Neurons view traces
DEFAULT_LENGTH = 500
STAND_INS = ("\ufffd", "\u2047", "\u25a1")  # shown for a character the model never saw


@dataclass
class ValidationSplit:
    """``size`` characters (``unit`` "character") or examples (``unit`` "example");
    ``piece(start, length)`` the text there and what the data says about it."""

    task: str
    unit: str
    size: int
    piece: Callable[[int, int], dict]

    def take(self, start: int | None = None, length: int | None = None, seed=None) -> dict:
        """The piece at ``start`` (None: drawn at random with ``seed``, itself drawn when
        None); ``length`` characters for a char model (default 500), nothing for the others.
        A ValueError for a start or length out of range."""
        if self.unit == "example" and length is not None:
            raise ValueError("length is for a char model's slice; give an example's index")
        length = _check_length(length, self.size) if self.unit == "character" else 1
        check_seed(seed)
        if start is None:
            seed = secrets.randbelow(2**31) if seed is None else seed
            start = int(np.random.default_rng(seed).integers(self.size - length + 1))
        elif seed is not None:
            raise ValueError("give a start or a seed to draw one, not both")
        elif not 0 <= start <= self.size - length:
            last = self.size - length
            what = f"a start for {length} characters" if self.unit == "character" else "index"
            raise ValueError(
                f"the validation split has {self.size} {self.unit}s: {what} must be in "
                f"0..{last}, got {start}"
            )
        answer = {"task": self.task, "split": "val", "unit": self.unit, "size": self.size}
        answer |= {"start": start, "seed": seed}
        if self.unit == "character":
            answer["length"] = length
        return {**answer, **self.piece(start, length)}


def _check_length(length: int | None, size: int) -> int:
    length = min(DEFAULT_LENGTH, size) if length is None else length
    if not 1 <= length <= min(MAX_LENGTH, size):
        raise ValueError(
            f"length must be 1 to {min(MAX_LENGTH, size)} characters (the validation split has "
            f"{size}), got {length}"
        )
    return length


def _charlm(run) -> ValidationSplit:
    """The val part of the recorded text, as the vocabulary's characters; a character the
    model never saw (read as ``<unk>``) is shown as a stand-in it reads as ``<unk>`` too."""
    from rnnkit.tasks.charlm import SPEC

    corpus = SPEC.reopen(run.run_dir, run.record, run.config).corpus
    vocab, ids, offset = run.vocab, corpus.val, len(corpus.train)
    shown = next((s for s in STAND_INS if s not in vocab.stoi), STAND_INS[0])
    symbols = np.array([shown, *vocab.itos[1:]], dtype=object)  # unk_id is 0

    def piece(start: int, length: int) -> dict:
        chunk = np.asarray(ids[start : start + length])
        unknown = int(np.count_nonzero(chunk == vocab.unk_id))
        return {"text": "".join(symbols[chunk]), "offset": offset + start, "unknown": unknown}

    return ValidationSplit("charlm", "character", int(len(ids)), piece)


def _examples(task: str, indices, describe: Callable[[int], dict]) -> ValidationSplit:
    indices = np.asarray(indices, dtype=np.int64)

    def piece(start: int, _length: int) -> dict:
        example = int(indices[start])
        return {"example": example, **describe(example)}

    return ValidationSplit(task, "example", len(indices), piece)


def _classify(run) -> ValidationSplit:
    from rnnkit.tasks.classify import reload_data

    data = reload_data(run.record["data"])
    if run.encoder.kind == "vectors":  # the frames as the Neurons view reads them
        return _examples(
            "classify",
            data.splits["val"],
            lambda i: {"text": frames_text(data.inputs[i]), "label": data.labels[i]},
        )
    return _examples(
        "classify",
        data.splits["val"],
        lambda i: {"text": data.inputs[i], "label": data.labels[i]},
    )


def _tag(run) -> ValidationSplit:
    from rnnkit.tasks.tag import reload_data

    data = reload_data(run.record["data"])
    return _examples(
        "tag",
        data.splits["val"],
        lambda i: {"text": " ".join(data.sentences[i]), "tags": list(data.tags[i])},
    )


def _seq2seq(run) -> ValidationSplit:
    from rnnkit.tasks.seq2seq import reload_data

    data = reload_data(run.record, copy.deepcopy(run.config))  # it sets the config's dataset
    return _examples(
        "seq2seq",
        data.splits["val"],
        lambda i: {"text": data.pairs[i][0], "target": data.pairs[i][1], "origin": data.origins[i]},
    )


OPENERS = {"charlm": _charlm, "classify": _classify, "tag": _tag, "seq2seq": _seq2seq}


def open_split(run, task: str) -> ValidationSplit:
    """The validation split of ``run`` (loaded by its task's ``load_run``), rebuilt from the
    data its ``config.json`` records; a ValueError when that data is gone or has changed."""
    try:
        split = OPENERS[task](run)
    except (ValueError, OSError) as error:
        raise ValueError(
            f"the validation split cannot be rebuilt from the data config.json records: {error}"
        ) from None
    if split.size == 0:
        raise ValueError("this run's validation split is empty")
    return split
