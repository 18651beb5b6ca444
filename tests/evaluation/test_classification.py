"""Classification scores against sklearn.metrics."""

import math

import numpy as np
import pytest
from sklearn import metrics

from rnnkit.evaluation.classification import (
    accuracy,
    class_scores,
    classification_report,
    confusion_matrix,
    macro_f1,
    mcnemar_exact_p,
    paired_comparison,
)


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    classes = 6
    y_true = rng.integers(0, classes - 1, 60)  # class 5 never occurs in the truth
    y_pred = np.where(rng.random(60) < 0.6, y_true, rng.integers(0, classes, 60))
    y_pred[y_pred == 3] = 2  # class 3 is never predicted
    matrix = confusion_matrix(y_true, y_pred, classes)
    np.testing.assert_array_equal(matrix, metrics.confusion_matrix(y_true, y_pred, labels=range(6)))
    assert accuracy(y_true, y_pred) == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    expected = metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)
    assert macro_f1(y_true, y_pred, classes) == pytest.approx(expected)
    p, r, f, s = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(6), zero_division=0
    )
    scores = class_scores(matrix)
    np.testing.assert_allclose(scores.precision, p)
    np.testing.assert_allclose(scores.recall, r)
    np.testing.assert_allclose(scores.f1, f)
    np.testing.assert_array_equal(scores.support, s)


def test_macro_f1_by_hand():
    # class 0: P 1/2, R 1/1 -> F1 2/3; class 1: P 1/1, R 1/2 -> 2/3; class 2 absent everywhere
    assert macro_f1([0, 1, 1], [0, 1, 0], 3) == pytest.approx(2 / 3)


def test_report_and_errors():
    report = classification_report([0, 1, 1], [0, 1, 0], ["a", "b"])
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["per_class"]["b"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert report["confusion_matrix"] == [[1, 0], [1, 1]]
    with pytest.raises(ValueError, match="in \\[0, 2\\), got \\[2\\]"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(ValueError, match="predicted labels .* got \\[-2\\]"):
        confusion_matrix([0, 0], [0, -2], 3)  # it said "got 0": the largest, not the wrong one
    with pytest.raises(ValueError, match="3 true labels but 2"):
        accuracy([0, 1, 1], [0, 1])


@pytest.mark.parametrize("b, c", [(0, 0), (1, 0), (5, 5), (3, 12), (40, 25), (120, 95), (0, 9)])
def test_mcnemar_exact_p_is_scipys_two_sided_binomial_test(b, c):
    from scipy.stats import binomtest

    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert math.isclose(mcnemar_exact_p(b, c), expected, rel_tol=1e-9)
    assert mcnemar_exact_p(b, c) == mcnemar_exact_p(c, b)


def test_paired_comparison_counts_the_discordant_examples():
    truth = [0, 1, 2, 0, 1, 2, 0, 1]
    a = [0, 1, 2, 0, 0, 0, 1, 1]  # right on 0, 1, 2, 3, 7
    b = [0, 2, 2, 1, 1, 2, 1, 0]  # right on 0, 2, 4, 5
    result = paired_comparison(truth, a, b)
    assert result["a_only_right"] == 3  # examples 1, 3, 7
    assert result["b_only_right"] == 2  # examples 4, 5
    assert result["accuracy_a"] == 5 / 8 and result["accuracy_b"] == 4 / 8
    assert math.isclose(result["mcnemar_p"], 1.0)  # 3 against 2: nothing to tell them apart
    lopsided = paired_comparison([1] * 30, [1] * 30, [1] * 18 + [0] * 12)
    assert lopsided["a_only_right"] == 12 and lopsided["b_only_right"] == 0
    assert math.isclose(lopsided["mcnemar_p"], 2 / 2**12)
    with pytest.raises(ValueError, match="as many predictions as labels"):
        paired_comparison([0, 1], [0, 1, 1], [0, 1])
