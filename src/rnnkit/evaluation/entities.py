"""Tagging scores: token accuracy, BIO decoding into entity spans, entity-level P / R / F1.

BIO tags mark entities: ``B-PER`` begins a person, ``I-PER`` continues it, ``O`` is outside
every entity. Decoding follows the CoNLL evaluation script (conlleval), which ``seqeval``
reproduces in its default mode:

    B-X                  begins an entity of type X (ending any open entity)
    I-X after B-X / I-X  continues the open entity of type X
    I-X otherwise        (after O, at the start, or after another type) begins a new X entity
    O                    ends any open entity

    B-PER I-PER O I-LOC B-ORG I-LOC  ->  PER[0:2]  LOC[3:4]  ORG[4:5]  LOC[5:6]

An entity counts as found only if the prediction has the same type and exactly the same span.
``entity_scores`` uses ``seqeval`` (its ``classification_report``) for the numbers; the tests
check ``bio_spans`` against ``seqeval``'s decoding and both against hand-computed cases.
"""

from __future__ import annotations

from collections.abc import Sequence


def is_bio(tag_set: Sequence[str]) -> bool:
    """Whether every tag is ``O`` or ``B-``/``I-`` with a type: a tag set with entities."""
    return any(t != "O" for t in tag_set) and all(
        t == "O" or (t[:2] in ("B-", "I-") and len(t) > 2) for t in tag_set
    )


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one tagged sentence as ``(type, start, end)``, ``end`` exclusive.

    A tag that is neither ``O`` nor ``B-``/``I-`` is a ValueError.
    """
    spans: list[tuple[str, int, int]] = []
    open_type, start = None, 0
    for position, tag in enumerate(tags):
        prefix, kind = _split_tag(tag)
        continues = prefix == "I" and kind == open_type
        if open_type is not None and not continues:
            spans.append((open_type, start, position))
            open_type = None
        if prefix in ("B", "I") and not continues:
            open_type, start = kind, position
    if open_type is not None:
        spans.append((open_type, start, len(tags)))
    return spans


def _split_tag(tag: str) -> tuple[str, str | None]:
    if tag == "O":
        return "O", None
    if tag[:2] in ("B-", "I-") and len(tag) > 2:
        return tag[0], tag[2:]
    raise ValueError(f"{tag!r} is not a BIO tag (expected O, B-TYPE or I-TYPE)")


def token_accuracy(true: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """The fraction of tokens whose predicted tag is the true one."""
    _check_aligned(true, predicted)
    total = sum(len(sentence) for sentence in true)
    right = sum(
        t == p
        for sentence, guess in zip(true, predicted, strict=True)
        for t, p in zip(sentence, guess, strict=True)
    )
    return right / total if total else 0.0


def entity_scores(true: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Entity-level precision, recall and F1 for every type and micro-averaged over all::

    {"precision": P, "recall": R, "f1": F1, "entities": n_true, "predicted": n_pred,
     "per_type": {"PER": {"precision": ..., "recall": ..., "f1": ..., "support": ...}}}
    """
    from seqeval.metrics import classification_report

    _check_aligned(true, predicted)
    true, predicted = [list(s) for s in true], [list(s) for s in predicted]
    for sentence in (*true, *predicted):
        for tag in sentence:
            _split_tag(tag)  # seqeval accepts anything; say clearly what is not BIO
    found = sum(len(bio_spans(sentence)) for sentence in predicted)
    report = classification_report(true, predicted, output_dict=True, zero_division=0)
    summary = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    per_type = {
        kind: {
            "precision": float(values["precision"]),
            "recall": float(values["recall"]),
            "f1": float(values["f1-score"]),
            "support": int(values["support"]),
        }
        for kind, values in report.items()
        if not kind.endswith(" avg")
    }
    return {
        "precision": float(summary["precision"]),
        "recall": float(summary["recall"]),
        "f1": float(summary["f1-score"]),
        "entities": sum(len(bio_spans(sentence)) for sentence in true),
        "predicted": found,
        "per_type": per_type,
    }


def _check_aligned(true: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    if len(true) != len(predicted):
        raise ValueError(f"{len(true)} true sentences but {len(predicted)} predicted")
    for index, (t, p) in enumerate(zip(true, predicted, strict=True)):
        if len(t) != len(p):
            raise ValueError(f"sentence {index} has {len(t)} true tags but {len(p)} predicted")
