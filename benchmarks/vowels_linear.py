"""Linear references for vowels, beside the run's own logistic regression: how much of the
task a linear model on the raw frames solves, and whether a random recurrent reservoir adds
to it. What docs/classify.md's "linear models on vowels" paragraph reports.

    python benchmarks/vowels_linear.py                 # split seeds 0-4, about 1 minute
    python benchmarks/vowels_linear.py --splits 0 --points 3,5,7

For each split seed S (the run's ``--split-seed S``: the same 243 training, 27 validation and
370 test utterances) and each of two fixed-length features of an utterance:

    summary   per-feature mean, std, first and last frame (48 numbers): the run's baseline
    points    the standardised frames at K evenly spaced steps, first and last included
              (12 K numbers: what ``--pooling points`` reads, here without a network)
    esn+points  the same K steps of a leaky echo-state reservoir's states driven by the
              standardised frames: 200 independent blocks of 4 tanh units, each block's
              recurrent matrix scaled to spectral radius 1, leak 0.2, input and bias weights
              N(0, 0.5^2), fixed (seeded), never trained (Jaeger et al. 2007's classifier of
              these vowels is an ensemble of such small reservoirs)

two linear readouts are fitted on the training split: the logistic regression exactly as the
run fits it (``rnnkit.baselines.classification``: C from 0.1, 1, 10 by validation accuracy)
and ridge regression to one-hot targets (scikit-learn's RidgeClassifierCV, alpha from
10^-2..10^3 by leave-one-out on the training split). Printed: test utterances right (of 370)
for each, and the means over the splits. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from rnnkit.baselines.classification import C_GRID, points_features, summary_features
from rnnkit.data.labelled import load_classification

ALPHAS = np.logspace(-2, 3, 11)


def reservoir_states(frames: np.ndarray, weights: dict, leak: float) -> np.ndarray:
    """(T, F) standardised frames -> (T, R) states of the leaky reservoir
    ``h_t = (1 - a) h_{t-1} + a tanh(W_in x_t + W h_{t-1} + b)``, ``h_0 = 0``."""
    h = np.zeros(weights["recurrent"].shape[0])
    states = []
    for x in frames:
        pre = weights["input"] @ x + weights["recurrent"] @ h + weights["bias"]
        h = (1 - leak) * h + leak * np.tanh(pre)
        states.append(h)
    return np.stack(states)


def make_reservoir(features: int, blocks: int, units: int, scale: float, seed: int) -> dict:
    """Block-diagonal recurrent weights (each block at spectral radius 1), dense input and
    bias weights: ``blocks`` independent small reservoirs side by side."""
    rng = np.random.default_rng(seed)
    size = blocks * units
    recurrent = np.zeros((size, size))
    for b in range(blocks):
        block = rng.normal(size=(units, units))
        block /= np.abs(np.linalg.eigvals(block)).max()
        recurrent[b * units : (b + 1) * units, b * units : (b + 1) * units] = block
    return {
        "recurrent": recurrent,
        "input": rng.normal(size=(size, features)) * scale,
        "bias": rng.normal(size=size) * scale,
    }


def logistic_right(train, val, test) -> int:
    """Test items right for the run's own baseline rule on these features: standardised,
    ``LogisticRegression(C)``, C from ``C_GRID`` by validation accuracy (the first best)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train[0])
    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(train[0]), train[1])
        score = (model.predict(scaler.transform(val[0])) == val[1]).mean()
        if best is None or score > best[0]:
            best = (score, model)
    return int((best[1].predict(scaler.transform(test[0])) == test[1]).sum())


def ridge_right(train, test) -> tuple[int, float]:
    """Test items right for ridge regression to one-hot targets on standardised features,
    alpha by leave-one-out on the training split; and that alpha."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train[0])
    model = RidgeClassifierCV(alphas=ALPHAS).fit(scaler.transform(train[0]), train[1])
    return int((model.predict(scaler.transform(test[0])) == test[1]).sum()), float(model.alpha_)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", default="0,1,2,3,4", help="split seeds, comma-separated")
    parser.add_argument("--points", default="5", help="K values for the points features")
    parser.add_argument("--reservoir-seed", type=int, default=0)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    splits = [int(s) for s in args.splits.split(",")]
    points = [int(k) for k in args.points.split(",")]
    rows: dict[str, list[int]] = {}
    for split in splits:
        data = load_classification("vowels", seed=split)
        classes = sorted(set(data.labels))
        y = np.array([classes.index(label) for label in data.labels])
        frames = [np.asarray(x, dtype=np.float64) for x in data.inputs]
        parts = {name: data.splits[name] for name in ("train", "val", "test")}
        train_frames = np.concatenate([frames[i] for i in parts["train"]])
        mean, std = train_frames.mean(0), train_frames.std(0)
        standard = [(f - mean) / std for f in frames]
        weights = make_reservoir(len(mean), 200, 4, 0.5, args.reservoir_seed)
        states = [reservoir_states(f, weights, 0.2) for f in standard]
        features = {"summary": summary_features(frames)}
        for k in points:
            features[f"points K={k}"] = points_features(standard, k)
            features[f"esn+points K={k}"] = points_features(states, k)
        print(f"split {split}:")
        for name, x in features.items():
            train, test = (
                (x[parts["train"]], y[parts["train"]]),
                (x[parts["test"]], y[parts["test"]]),
            )
            logistic = logistic_right(train, (x[parts["val"]], y[parts["val"]]), test)
            ridge, alpha = ridge_right(train, test)
            rows.setdefault(f"{name}: logistic", []).append(logistic)
            rows.setdefault(f"{name}: ridge", []).append(ridge)
            print(f"  {name:18s} logistic {logistic}  ridge {ridge} (alpha {alpha:g})")
    print(f"\ntest right of 370, split seeds {args.splits}:")
    for name, values in rows.items():
        print(f"  {name:28s} {' '.join(f'{v:3d}' for v in values)}   mean {np.mean(values):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
