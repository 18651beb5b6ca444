r"""Classification scores from integer labels: accuracy, per-class and macro-averaged F1, and
the confusion matrix they all come from.

    C[i, j]        = number of examples of true class i predicted as class j      (K, K)
    precision_k    = C[k, k] / sum_i C[i, k]       (0 when class k is never predicted)
    recall_k       = C[k, k] / sum_j C[k, j]       (0 when class k never occurs)
    F1_k           = 2 P_k R_k / (P_k + R_k)       (0 when both are 0)
    macro-F1       = mean of F1_k over the classes that occur in the truth or the predictions

The conventions are scikit-learn's (``f1_score(average="macro", zero_division=0)``), and the
tests check every number against ``sklearn.metrics``.

Two classifiers scored on the same examples are compared pairwise (``paired_comparison``):
only the examples one gets right and the other wrong tell them apart, b = "A alone right",
c = "B alone right". Under the hypothesis that both are equally accurate each such example is a
fair coin, so McNemar's exact test gives

    p = min(1, 2 * P[Binomial(b + c, 1/2) <= min(b, c)])             two-sided

A small p (say below 0.05) says the difference in accuracy is more than the luck of which
examples landed in the test split; a difference of a few examples on a thousand rarely is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: rows are the true classes, columns the predicted ones."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.shape[0]} true labels but {y_pred.shape[0]} predictions")
    for name, labels in (("true", y_true), ("predicted", y_pred)):
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.size:
            raise ValueError(
                f"{name} labels must be in [0, {num_classes}), got {sorted(set(outside.tolist()))}"
            )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


@dataclass
class ClassScores:
    """Per-class precision, recall, F1 and support (K,), from a confusion matrix."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    present: np.ndarray  # bool (K,): the class occurs in the truth or the predictions

    @property
    def macro_f1(self) -> float:
        return float(self.f1[self.present].mean()) if self.present.any() else 0.0


def class_scores(matrix: np.ndarray) -> ClassScores:
    """Precision, recall and F1 of every class of the confusion matrix ``matrix``."""
    matrix = np.asarray(matrix, dtype=np.float64)
    right = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(right, predicted, out=np.zeros_like(right), where=predicted > 0)
    recall = np.divide(right, support, out=np.zeros_like(right), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(right), where=both > 0)
    return ClassScores(precision, recall, f1, support.astype(np.int64), (support + predicted) > 0)


def accuracy(y_true, y_pred) -> float:
    """The fraction of predictions equal to the truth (0 for no examples)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.shape[0]} true labels but {y_pred.shape[0]} predictions")
    return float((y_true == y_pred).mean()) if y_true.size else 0.0


def macro_f1(y_true, y_pred, num_classes: int) -> float:
    """The unweighted mean of the per-class F1 (see the module docstring)."""
    return class_scores(confusion_matrix(y_true, y_pred, num_classes)).macro_f1


def classification_report(y_true, y_pred, classes: list[str]) -> dict:
    """Accuracy, macro-F1 and every class's scores, as JSON-ready numbers."""
    matrix = confusion_matrix(y_true, y_pred, len(classes))
    scores = class_scores(matrix)
    per_class = {
        name: {
            "precision": float(scores.precision[k]),
            "recall": float(scores.recall[k]),
            "f1": float(scores.f1[k]),
            "support": int(scores.support[k]),
        }
        for k, name in enumerate(classes)
    }
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": scores.macro_f1,
        "examples": int(matrix.sum()),
        "per_class": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant examples (module
    docstring); 1.0 when there are none."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b} and {c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))  # exact integers
    return min(1.0, 2 * tail / 2**n)


def paired_comparison(y_true, pred_a, pred_b) -> dict:
    """How classifiers A and B differ on the same examples: each one's accuracy, the examples
    only A gets right (``a_only_right``) and only B gets right (``b_only_right``), and
    McNemar's exact two-sided p-value (``mcnemar_p``) for "A and B are equally accurate"."""
    y_true, pred_a, pred_b = (np.asarray(x) for x in (y_true, pred_a, pred_b))
    if not y_true.shape == pred_a.shape == pred_b.shape:
        raise ValueError(
            f"paired comparison needs as many predictions as labels: {y_true.shape[0]} labels, "
            f"{pred_a.shape[0]} and {pred_b.shape[0]} predictions"
        )
    right_a, right_b = pred_a == y_true, pred_b == y_true
    b, c = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    return {
        "examples": int(y_true.size),
        "accuracy_a": accuracy(y_true, pred_a),
        "accuracy_b": accuracy(y_true, pred_b),
        "a_only_right": b,
        "b_only_right": c,
        "mcnemar_p": mcnemar_exact_p(b, c),
    }
