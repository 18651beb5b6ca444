"""BIO decoding and entity scores on hand-computed cases, and against seqeval's decoding."""

import random

import pytest
from seqeval.metrics.sequence_labeling import get_entities

from rnnkit.evaluation.entities import bio_spans, entity_scores, is_bio, token_accuracy


@pytest.mark.parametrize(
    "tags, spans",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["I-PER", "I-PER", "O"], [("PER", 0, 2)]),  # I- without B- begins an entity
        (["O", "I-LOC", "B-LOC", "I-LOC"], [("LOC", 1, 2), ("LOC", 2, 4)]),
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),  # a type change
        (["B-ORG", "B-ORG", "I-ORG"], [("ORG", 0, 1), ("ORG", 1, 3)]),  # B- after B-
        (["O", "O"], []),
        ([], []),
        (["B-MISC"], [("MISC", 0, 1)]),
    ],
)
def test_bio_spans_by_hand(tags, spans):
    assert bio_spans(tags) == spans


def test_bio_spans_agree_with_seqeval_on_random_sequences():
    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(300):
        sequence = [rng.choice(tags) for _ in range(rng.randint(0, 12))]
        expected = [(kind, start, end + 1) for kind, start, end in get_entities(sequence)]
        assert bio_spans(sequence) == expected, sequence


def test_not_bio_is_a_clear_error():
    with pytest.raises(ValueError, match="'NN' is not a BIO tag"):
        bio_spans(["B-PER", "NN"])
    with pytest.raises(ValueError, match="not a BIO tag"):
        entity_scores([["X-PER"]], [["O"]])


def test_is_bio():
    assert is_bio(["O", "B-PER", "I-PER"])
    assert not is_bio(["NN", "VB", "O"])
    assert not is_bio(["O"])


def test_entity_scores_by_hand():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "I-LOC"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "I-ORG", "I-LOC"]]
    # true entities: PER[0:2] LOC[3:4] | ORG[0:1] LOC[2:3]          -> 4
    # predicted:     PER[0:2]          | ORG[0:2] LOC[2:3]          -> 3
    # right: PER, LOC[2:3] (ORG's span differs)                     -> 2
    scores = entity_scores(true, pred)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 4)
    assert scores["f1"] == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    assert (scores["entities"], scores["predicted"]) == (4, 3)
    assert scores["per_type"]["LOC"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert scores["per_type"]["ORG"]["f1"] == 0.0
    assert token_accuracy(true, pred) == pytest.approx(5 / 7)


def test_nothing_found_scores_zero():
    scores = entity_scores([["B-PER", "O"]], [["O", "O"]])
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.0, 0.0, 0.0)


def test_misaligned_is_an_error():
    with pytest.raises(ValueError, match="sentence 0 has 2 true tags but 1"):
        token_accuracy([["O", "O"]], [["O"]])
