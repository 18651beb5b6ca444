"""Classification baselines: the majority class, and logistic regression on n-gram or summary
features (scikit-learn), each scored on the same test split as the recurrent model.

Features, by the kind of input:

    chars    TF-IDF of character 1- to 3-grams inside word boundaries (``char_wb``: a name is
             padded with spaces, so " na" and "ra " mark its start and end), lowercased
    words    TF-IDF of word 1- and 2-grams, with the task's own tokeniser
    vectors  fixed-length summary of each sequence of F-dimensional frames: the per-feature
             mean, standard deviation, first frame and last frame (4F numbers), standardised
    points   the frames at K = 5 evenly spaced steps of each sequence, first and last included
             (step round(k (T - 1) / (K - 1)), as ``--pooling points`` picks them), side by side
             (K F numbers), standardised: a second, time-aligned reading of real-valued
             sequences (on vowels it is the stronger one; docs/classify.md)

The regularisation strength ``C`` of ``LogisticRegression`` is chosen from ``C_GRID`` by
accuracy on the validation split (as the recurrent model's checkpoint is), then the model is
scored once on the test split. Without a validation split, ``C = 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rnnkit.evaluation.classification import accuracy, macro_f1

C_GRID = (0.1, 1.0, 10.0)
CHAR_NGRAMS = (1, 3)
WORD_NGRAMS = (1, 2)
POINTS = 5
KINDS = ("chars", "words", "vectors", "points")


@dataclass
class BaselineResult:
    """A baseline's test accuracy and macro-F1, how it was made, and its test predictions
    (class indices, for comparing a model with it example by example)."""

    name: str
    accuracy: float
    macro_f1: float
    details: dict = field(default_factory=dict)
    predictions: np.ndarray | None = None


def majority_class(train_labels, test_labels, num_classes: int) -> BaselineResult:
    """Always the most frequent class of the training split (the lowest index on a tie)."""
    train_labels = np.asarray(train_labels, dtype=np.int64)
    majority = int(np.bincount(train_labels, minlength=num_classes).argmax())
    predicted = np.full(len(test_labels), majority)
    return BaselineResult(
        "majority",
        accuracy(test_labels, predicted),
        macro_f1(test_labels, predicted, num_classes),
        {"class": majority},
        predicted,
    )


def summary_features(sequences: Sequence[np.ndarray]) -> np.ndarray:
    """(n, 4F): per-feature mean, std, first frame and last frame of each (T_i, F) sequence."""
    rows = [
        np.concatenate([s.mean(axis=0), s.std(axis=0), s[0], s[-1]])
        for s in (np.asarray(seq, dtype=np.float64) for seq in sequences)
    ]
    return np.stack(rows)


def points_features(sequences: Sequence[np.ndarray], points: int = POINTS) -> np.ndarray:
    """(n, K F): the frames of each (T_i, F) sequence at ``points`` evenly spaced steps, from
    the first to the last (round half to even, as ``torch.round``), concatenated in order."""
    rows = []
    for seq in sequences:
        seq = np.asarray(seq, dtype=np.float64)
        steps = np.round(np.arange(points) * (len(seq) - 1) / (points - 1)).astype(np.int64)
        rows.append(seq[steps].ravel())
    return np.stack(rows)


def featurizer(kind: str, tokenizer: Callable[[str], list[str]] | None = None):
    """The scikit-learn transformer that turns raw inputs of ``kind`` into features."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    if kind == "chars":
        return TfidfVectorizer(
            analyzer="char_wb", ngram_range=CHAR_NGRAMS, lowercase=True, sublinear_tf=True
        )
    if kind == "words":
        if tokenizer is None:
            raise ValueError("word n-gram features need the task's tokenizer")
        return TfidfVectorizer(
            tokenizer=tokenizer,
            token_pattern=None,
            lowercase=False,
            ngram_range=WORD_NGRAMS,
            sublinear_tf=True,
        )
    if kind == "vectors":
        return make_pipeline(FunctionTransformer(summary_features), StandardScaler())
    if kind == "points":
        return make_pipeline(FunctionTransformer(points_features), StandardScaler())
    raise ValueError(f"unknown input kind {kind!r}; allowed: {', '.join(KINDS)}")


def describe_features(kind: str) -> str:
    if kind == "chars":
        return f"TF-IDF character {CHAR_NGRAMS[0]}-{CHAR_NGRAMS[1]}-grams (char_wb)"
    if kind == "words":
        return f"TF-IDF word {WORD_NGRAMS[0]}-{WORD_NGRAMS[1]}-grams"
    if kind == "points":
        return f"the frames at {POINTS} evenly spaced steps, standardised"
    return "per-feature mean, std, first and last frame, standardised"


def logistic_regression(
    kind: str,
    train: tuple[Sequence, Sequence[int]],
    val: tuple[Sequence, Sequence[int]],
    test: tuple[Sequence, Sequence[int]],
    num_classes: int,
    *,
    tokenizer: Callable[[str], list[str]] | None = None,
    c_grid: Sequence[float] = C_GRID,
) -> BaselineResult:
    """Logistic regression on ``kind``'s features (module docstring); each split is
    ``(inputs, integer labels)``."""
    from sklearn.linear_model import LogisticRegression

    features = featurizer(kind, tokenizer)
    train_x = features.fit_transform(list(train[0]))
    train_y = np.asarray(train[1], dtype=np.int64)
    if len(np.unique(train_y)) < 2:
        raise ValueError("the training split holds one class only; nothing to classify")
    candidates = list(c_grid) if len(val[0]) else [1.0]
    val_x = features.transform(list(val[0])) if len(val[0]) else None
    best = None
    for c in candidates:
        model = LogisticRegression(C=c, max_iter=2000).fit(train_x, train_y)
        score = accuracy(val[1], model.predict(val_x)) if val_x is not None else 0.0
        if best is None or score > best[0]:
            best = (score, c, model)
    val_accuracy, c, model = best
    predicted = model.predict(features.transform(list(test[0])))
    return BaselineResult(
        "logreg",
        accuracy(test[1], predicted),
        macro_f1(test[1], predicted, num_classes),
        {
            "features": describe_features(kind),
            "C": c,
            "val_accuracy": val_accuracy if val_x is not None else None,
            "feature_count": int(train_x.shape[1]),
        },
        np.asarray(predicted, dtype=np.int64),
    )
