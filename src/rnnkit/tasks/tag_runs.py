"""Using a finished (or stopped) tagging run: load it, tag sentences, evaluate it.

    [sentence] = predict_run("runs/ner", ["I met Ann Smith in Oslo ."])
    sentence.pairs      # [("I", "O"), ("met", "O"), ("Ann", "B-PER"), ("Smith", "I-PER"), ...]
    sentence.entities   # [("PER", "Ann Smith"), ("LOC", "Oslo")]
    evaluate_run("runs/ner")      # test token accuracy, entity P/R/F1 per type

A sentence given as text is split at whitespace: write the tokens as the training file has
them (punctuation apart: ``Oslo .``). ``predict_run`` needs only the run directory;
``evaluate_run`` also reloads the run's data set and checks that it is the one trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.evaluation.entities import bio_spans, is_bio
from rnnkit.models.tagger import SequenceTagger
from rnnkit.tasks import labelled
from rnnkit.tasks.tag import TagTask, load_encoder, predict_tags, reload_data


def load_run(run_dir: str | Path, checkpoint: str = "best") -> labelled.LoadedRun:
    """The model of checkpoint ``best`` (``last`` when the run has no best yet) or ``last``."""
    return labelled.load_run(run_dir, checkpoint, "tag", SequenceTagger, load_encoder)


@dataclass
class TaggedSentence:
    """A sentence's ``(token, tag)`` pairs, and for a BIO tag set its entities as
    ``(type, text)`` (None for other tag sets, e.g. parts of speech).

    ``ranked`` holds, for each token, ``(tag, probability)`` pairs: first the predicted tag,
    then the other likeliest tags in falling order (``top`` in all). The probabilities are
    the softmax of each token's scores, or for a CRF tagger the marginal probability of the
    tag at that token over all tag sequences (the Viterbi tag need not be the token's most
    probable one, so the first pair is not always the largest)."""

    pairs: list[tuple[str, str]]
    entities: list[tuple[str, str]] | None
    ranked: list[list[tuple[str, float]]]


def predict_run(
    run_dir: str | Path, sentences: list, checkpoint: str = "best", top: int = 3
) -> list:
    """A ``TaggedSentence`` for each sentence (a string split at whitespace, or a list of
    tokens), with the ``top`` likeliest tags of each token."""
    labelled.check_top(top)
    return tag(load_run(run_dir, checkpoint), sentences, top)


def tag(run: labelled.LoadedRun, sentences: list, top: int = 3) -> list:
    """:func:`predict_run` on a loaded run."""
    tokens = [s.split() if isinstance(s, str) else list(s) for s in sentences]
    for words, given in zip(tokens, sentences, strict=True):
        if not words:
            raise ValueError(f"nothing to tag in {given!r}: give at least one token")
    predicted = predict_tags(run.model, [run.encoder.encode(w) for w in tokens], run.encoder)
    tag_set, bio = run.encoder.tag_set, is_bio(run.encoder.tag_set)
    tagged = []
    for words, (log_probs, ids) in zip(tokens, predicted, strict=True):
        tags = [tag_set[k] for k in ids]
        entities = None
        if bio:
            entities = [(kind, " ".join(words[a:b])) for kind, a, b in bio_spans(tags)]
        probabilities = np.exp(log_probs)  # (T, K)
        ranked = []
        for chosen, row in zip(ids, probabilities, strict=True):
            others = [int(k) for k in np.argsort(-row, kind="stable") if k != chosen]
            order = [int(chosen), *others][: min(top, len(tag_set))]
            ranked.append([(tag_set[k], float(row[k])) for k in order])
        tagged.append(TaggedSentence(list(zip(words, tags, strict=True)), entities, ranked))
    return tagged


def evaluate_run(run_dir: str | Path, split: str = "test", checkpoint: str = "best") -> dict:
    """Token accuracy, loss and (BIO tags) entity precision / recall / F1, overall and per
    entity type, on ``split``."""
    labelled.check_split(split)
    run = load_run(run_dir, checkpoint)
    data = reload_data(run.record["data"])
    task = TagTask(run.config, data, run.encoder)
    return {**run.head(data.name, split), **task.score(run.model, split)}
