"""Characters per second of the batched NumPy character trainer against a single-stream loop
in the style of min-char-rnn (B = 1, column vectors, the same hidden size), in one run.

    python benchmarks/bench_numpy_charlm.py [--json] [--text PATH]

Both train the same model, a tanh RNN with H = 100 and seq_len = 25, with Adagrad (lr 0.1) and
clipping at ±5, on the same text (by default the first million characters of the bundled
Shakespeare). The min-char-rnn loop multiplies one-hot column vectors step by step, as the
original does. The batched trainer (``rnnkit.reference.charlm``) reads B streams at once, so
B matrix-vector products become one matrix-matrix product; keeps only the recursion inside the
time loop; and looks one-hot inputs up instead of multiplying them. ``engine_B1`` is the same
trainer with B = 1.

Runs take turns and each keeps its best: other load on the machine only slows a run down.

OpenBLAS picks its kernels by CPU unless OPENBLAS_CORETYPE says otherwise; an old forced
core type can make NumPy several times slower. Unset it when benchmarking.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from rnnkit.reference import charlm

HIDDEN_SIZE = 100
SEQ_LEN = 25
LR = 0.1
ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_")


def min_char_rnn_step(ids_in, ids_out, h_prev, params, V):
    """One chunk of min-char-rnn: forward, loss, BPTT, one stream, column vectors."""
    Wxh, Whh, Why, bh, by = (params[k] for k in ("Wxh", "Whh", "Why", "bh", "by"))
    xs, hs, ps = {}, {-1: h_prev}, {}
    loss = 0.0
    for t, i in enumerate(ids_in):
        xs[t] = np.zeros((V, 1))
        xs[t][i] = 1.0  # one-hot x_t
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)  # h_t = tanh(U x_t + W h_{t-1} + b)
        y = Why @ hs[t] + by  # o_t = V h_t + c
        ps[t] = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
        loss -= np.log(ps[t][ids_out[t], 0])
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros_like(h_prev)
    for t in reversed(range(len(ids_in))):
        dy = ps[t].copy()
        dy[ids_out[t]] -= 1.0  # dL/do_t = y_hat_t - y_t
        grads["Why"] += dy @ hs[t].T
        grads["by"] += dy
        dh = Why.T @ dy + dh_next  # dL/dh_t
        da = (1.0 - hs[t] ** 2) * dh  # diag(1 - h_t^2) dL/dh_t
        grads["bh"] += da
        grads["Wxh"] += da @ xs[t].T
        grads["Whh"] += da @ hs[t - 1].T
        dh_next = Whh.T @ da
    return loss, grads, hs[len(ids_in) - 1]


def bench_min_char_rnn(ids: np.ndarray, V: int, steps: int, seed: int = 0) -> float:
    """chars/s of the single-stream loop, Adagrad and clipping as min-char-rnn."""
    rng = np.random.default_rng(seed)
    H = HIDDEN_SIZE
    params = {
        "Wxh": rng.normal(size=(H, V)) * 0.01,
        "Whh": rng.normal(size=(H, H)) * 0.01,
        "Why": rng.normal(size=(V, H)) * 0.01,
        "bh": np.zeros((H, 1)),
        "by": np.zeros((V, 1)),
    }
    memory = {k: np.zeros_like(v) for k, v in params.items()}
    h, p = np.zeros((H, 1)), 0
    start = time.perf_counter()
    for _ in range(steps):
        if p + SEQ_LEN + 1 > len(ids):
            h, p = np.zeros((H, 1)), 0
        _, grads, h = min_char_rnn_step(
            ids[p : p + SEQ_LEN], ids[p + 1 : p + SEQ_LEN + 1], h, params, V
        )
        for k, g in grads.items():
            np.clip(g, -5, 5, out=g)
            memory[k] += g * g
            params[k] -= LR * g / np.sqrt(memory[k] + 1e-8)
        p += SEQ_LEN
    return steps * SEQ_LEN / (time.perf_counter() - start)


def bench_batched(text: str, batch_size: int, steps: int) -> float:
    _, history = charlm.train(
        text,
        hidden_size=HIDDEN_SIZE,
        seq_len=SEQ_LEN,
        batch_size=batch_size,
        steps=steps,
        lr=LR,
        log_every=0,
    )
    return history.chars_per_second


def load_default_text() -> str:
    from rnnkit.data.corpora import load_text  # the bundled Shakespeare

    return load_text("shakespeare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", help="a UTF-8 text file (default: the bundled Shakespeare)")
    parser.add_argument("--chars", type=int, default=1_000_000, help="use the first CHARS")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--steps", type=int, default=50, help="steps of each batched run")
    parser.add_argument("--single-steps", type=int, default=200, help="steps of B = 1 runs")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs; best kept")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    text = open(args.text, encoding="utf-8").read() if args.text else load_default_text()
    text = text[: args.chars]
    vocab = charlm.build_vocab(text)
    ids = charlm.encode(text, vocab)
    runs = {
        "min_char_rnn_B1": lambda: bench_min_char_rnn(ids, len(vocab), args.single_steps),
        "engine_B1": lambda: bench_batched(text, 1, args.single_steps),
    }
    for batch_size in args.batch_sizes:
        runs[f"engine_B{batch_size}"] = lambda b=batch_size: bench_batched(text, b, args.steps)
    results = dict.fromkeys(runs, 0.0)
    for _ in range(args.repeats):
        for name, run in runs.items():
            results[name] = max(results[name], run())
    baseline = results["min_char_rnn_B1"]
    report = {
        "chars_per_second": results,
        "speedup_vs_min_char_rnn": {k: v / baseline for k, v in results.items()},
        "hidden_size": HIDDEN_SIZE,
        "seq_len": SEQ_LEN,
        "vocab_size": len(vocab),
        "repeats": args.repeats,
        "environment": {k: os.environ.get(k) for k in ENVIRONMENT},
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(f"warning: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set; unset it")
    print(
        f"H = {HIDDEN_SIZE}, seq_len = {SEQ_LEN}, V = {len(vocab)}, numpy {np.__version__}, "
        f"best of {args.repeats}"
    )
    print(f"{'run':<18} {'chars/s':>12} {'x min-char-rnn':>15}")
    for name, value in results.items():
        print(f"{name:<18} {value:>12,.0f} {value / baseline:>15.1f}")


if __name__ == "__main__":
    main()
