import math
from collections import Counter

import pytest

from rnnkit.evaluation.bleu import corpus_bleu, corpus_chrf, signatures


def _hand_bleu(hypothesis: list[str], reference: list[str]) -> float:
    """Papineni et al.'s BLEU of one sentence pair, every n-gram order present."""
    log_precision = 0.0
    for n in range(1, 5):
        hyp = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1))
        ref = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
        clipped = sum(min(count, ref[gram]) for gram, count in hyp.items())
        log_precision += math.log(clipped / sum(hyp.values())) / 4
    brevity = min(1.0, math.exp(1 - len(reference) / len(hypothesis)))
    return 100 * brevity * math.exp(log_precision)


def test_identical_output_scores_100():
    texts = ["In the beginning God created the heaven and the earth.", "grinning face"]
    assert corpus_bleu(texts, texts) == pytest.approx(100)
    assert corpus_chrf(texts, texts) == pytest.approx(100)


def test_a_corpus_without_4_grams_scores_0_in_bleu_and_100_in_chrf():
    """What corpus_bleu's docstring says: BLEU has no 4-gram precision without 4-grams."""
    texts = ["grinning face", "cat with wry smile"]
    assert corpus_bleu(texts[:1], texts[:1]) == 0
    assert corpus_chrf(texts[:1], texts[:1]) == pytest.approx(100)
    assert corpus_bleu(texts, texts) == pytest.approx(100)  # one hypothesis of four words


def test_bleu_matches_the_formula_by_hand():
    reference = "the cat sat on the mat today in the sun"
    hypothesis = "the cat sat on a mat today in the sun"
    expected = _hand_bleu(hypothesis.split(), reference.split())
    assert corpus_bleu([hypothesis], [reference]) == pytest.approx(expected, rel=1e-6)
    short = "the cat sat on the mat today"  # brevity penalty exp(1 - 10 / 7)
    assert corpus_bleu([short], [reference]) == pytest.approx(
        _hand_bleu(short.split(), reference.split()), rel=1e-6
    )


def test_unrelated_output_scores_near_zero():
    assert corpus_bleu(["x y z w"], ["a b c d"]) == pytest.approx(0)
    assert corpus_chrf(["xyz"], ["abc def"]) < 5


def test_bad_input():
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        corpus_bleu(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no hypotheses"):
        corpus_chrf([], [])
    with pytest.raises(ValueError, match="must be strings"):
        corpus_bleu([["a", "b"]], ["a b"])


def test_signatures_name_the_metrics():
    found = signatures()
    assert found["bleu"].startswith("nrefs:1|") and "tok:13a" in found["bleu"]
    assert found["chrf"].startswith("nrefs:1|") and "nc:6" in found["chrf"]
