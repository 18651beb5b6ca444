"""Baselines on tiny data whose answers are known."""

import numpy as np
import pytest

from rnnkit.baselines.classification import (
    logistic_regression,
    majority_class,
    points_features,
    summary_features,
)
from rnnkit.baselines.tagging import MostFrequentTag
from rnnkit.data.encoders import tokenize_words


def test_majority_class_by_hand():
    result = majority_class([0, 0, 1], [0, 1, 1], 2)
    assert result.details["class"] == 0
    assert result.accuracy == pytest.approx(1 / 3)
    # class 0: precision 1/3, recall 1 -> F1 1/2; class 1: never predicted -> F1 0
    assert result.macro_f1 == pytest.approx(0.25)


def test_summary_features_by_hand():
    sequence = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0]])
    features = summary_features([sequence])
    expected = [3.0, 20.0, np.std([1, 3, 5]), np.std([10, 10, 40]), 1.0, 10.0, 5.0, 40.0]
    np.testing.assert_allclose(features[0], expected)


def test_points_features_by_hand():
    nine = np.arange(18, dtype=np.float64).reshape(9, 2)  # frame t is (2t, 2t + 1)
    two = np.array([[1.0, 2.0], [3.0, 4.0]])
    features = points_features([nine, two])
    np.testing.assert_allclose(features[0], nine[[0, 2, 4, 6, 8]].ravel())
    # two frames: steps round(k / 4) = 0, 0, 0 (0.5 rounds to even), 1, 1
    np.testing.assert_allclose(features[1], two[[0, 0, 0, 1, 1]].ravel())
    np.testing.assert_allclose(points_features([nine], points=3)[0], nine[[0, 4, 8]].ravel())


def test_points_read_when_a_bump_comes_which_the_summary_cannot():
    """A bump a quarter of the way in (class 0) or three quarters (class 1): the same mean,
    spread, first and last frame, so the summary regression is near chance; the points
    regression reads it off."""
    rng = np.random.default_rng(1)
    sequences, labels = [], []
    for k in range(80):
        length = 4 * int(rng.integers(3, 6)) + 1  # 13, 17 or 21: steps at quarters exist
        sequence = np.zeros((length, 1))
        sequence[(length - 1) // 4 if k % 2 == 0 else 3 * (length - 1) // 4] = 1.0
        sequences.append(sequence + rng.normal(0, 0.05, (length, 1)))
        labels.append(k % 2)
    train, val, test = ((sequences[a:b], labels[a:b]) for a, b in ((0, 50), (50, 60), (60, 80)))
    assert logistic_regression("points", train, val, test, 2).accuracy == 1.0
    assert logistic_regression("vectors", train, val, test, 2).accuracy <= 0.75


def _split(pairs):
    inputs, labels = zip(*pairs, strict=True)
    return list(inputs), list(labels)


def test_logistic_regression_on_character_ngrams():
    endings = {0: "son", 1: "ski", 2: "ato"}
    stems = ["ander", "kow", "ber", "nak", "ols", "lew", "mur", "tan", "pet", "sam", "vin", "dor"]
    pairs = [(stem.title() + endings[k], k) for stem in stems for k in endings]
    train, val, test = _split(pairs[:24]), _split(pairs[24:30]), _split(pairs[30:])
    result = logistic_regression("chars", train, val, test, 3)
    assert result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert result.details["C"] in (0.1, 1.0, 10.0)


def test_logistic_regression_on_word_ngrams_uses_the_tokeniser():
    good = ["Good film!", "A great, good story.", "Great acting", "good fun", "GREAT!"]
    bad = ["Bad film.", "An awful, bad story", "Awful acting", "bad fun", "AWFUL"]
    train = _split([(t, 1) for t in good[:4]] + [(t, 0) for t in bad[:4]])
    test = _split([(good[4], 1), (bad[4], 0)])
    result = logistic_regression("words", train, ([], []), test, 2, tokenizer=tokenize_words)
    assert result.accuracy == 1.0
    assert result.details["C"] == 1.0 and result.details["val_accuracy"] is None


def test_logistic_regression_on_sequence_summaries():
    rng = np.random.default_rng(0)
    sequences = [rng.normal(0, 1, (rng.integers(3, 9), 2)) + 3 * (k % 2) for k in range(40)]
    labels = [k % 2 for k in range(40)]
    train, test = (sequences[:30], labels[:30]), (sequences[30:], labels[30:])
    result = logistic_regression("vectors", train, (sequences[:4], labels[:4]), test, 2)
    assert result.accuracy == 1.0


def test_logistic_regression_errors():
    with pytest.raises(ValueError, match="one class only"):
        logistic_regression("chars", (["ab", "cd"], [0, 0]), ([], []), (["ab"], [0]), 2)
    with pytest.raises(ValueError, match="unknown input kind"):
        logistic_regression("pixels", (["ab", "cd"], [0, 1]), ([], []), (["ab"], [0]), 2)


def test_most_frequent_tag_by_hand():
    sentences = [["the", "dog", "runs"], ["the", "runs"], ["a", "dog", "runs"]]
    tags = [["DT", "NN", "VBZ"], ["DT", "NNS"], ["DT", "NN", "NNS"]]
    tagger = MostFrequentTag(sentences, tags)
    assert tagger.default == "DT"  # 3 DT, 2 NN, 2 NNS, 1 VBZ
    # "runs": VBZ 1, NNS 2 -> NNS; an unseen word -> DT; case is kept
    assert tagger.tag(["the", "runs", "cat", "The"]) == ["DT", "NNS", "DT", "DT"]


def test_most_frequent_tag_breaks_ties_by_overall_frequency():
    tagger = MostFrequentTag([["x", "y", "y", "z"]], [["A", "B", "A", "B"]])
    # overall A 2, B 2 -> alphabetical: A; "y" is A once and B once -> A
    assert tagger.tag(["y", "z", "?"]) == ["A", "B", "A"]
    tagger = MostFrequentTag([["x", "y", "y", "z", "w"]], [["A", "B", "A", "B", "B"]])
    assert tagger.tag(["y", "?"]) == ["B", "B"]  # B is now more frequent overall
