"""The lectures' worked example: a character RNN on the vocabulary [h, e, l, o].

One-hot inputs (D = 4), three hidden units (H = 3), four scores (C = 4). With the lecture's
weights::

    W_xh x     the input term of a_t = W h_{t-1} + U x_t + b  (U = W_xh = weight_ih, (3, 4))
    y_t = W_hy h_t                                          (V = W_hy = weight_hy, (4, 3), c = 0)
    softmax(y_t)                                            the predicted distribution

The lecture gives h_t itself (its W_hh and h_{t-1} are not printed), so the example takes it
as given. ``train_hello`` then trains the same shapes on "hello" with the full engine.

Run:  python -m rnnkit.reference.worked_example
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.losses import softmax
from rnnkit.reference.network import Network, output_forward
from rnnkit.reference.optim import Adagrad

VOCAB = ["h", "e", "l", "o"]

# The lecture's numbers.
W_XH = np.array(  # U, weight_ih (H, D) = (3, 4)
    [
        [0.287027, 0.84606, 0.572392, 0.486813],
        [0.902874, 0.871522, 0.691079, 0.18998],
        [0.537524, 0.09224, 0.558159, 0.491528],
    ]
)
W_HY = np.array(  # V, weight_hy (C, H) = (4, 3)
    [
        [0.37168, 0.974829459, 0.830034886],
        [0.39141, 0.282585823, 0.659835709],
        [0.64985, 0.09821557, 0.334287084],
        [0.91266, 0.32581642, 0.144630018],
    ]
)
H_T = np.array([0.936534, 0.949104, 0.762341])  # h_t as the lecture gives it


def one_hot(char: str) -> np.ndarray:
    """x for one character: 1 at its place in VOCAB, 0 elsewhere.  (D,)"""
    x = np.zeros(len(VOCAB))
    x[VOCAB.index(char)] = 1.0
    return x


def input_term(char: str) -> np.ndarray:
    """W_xh x: with a one-hot x this is the column of W_xh for that character.  (H,)"""
    x = one_hot(char)[None, :]  # (1, D): a batch of one, rows as in rnn.step_forward
    return (x @ W_XH.T)[0]  # (H,)


def output_scores(h: np.ndarray) -> np.ndarray:
    """y_t = W_hy h_t (+ c, here 0), through the engine's output layer.  (C,)"""
    params = {"weight_hy": W_HY, "bias_y": np.zeros(len(VOCAB))}
    o, _ = output_forward(h[None, None, :], params)  # (T, N, C) = (1, 1, 4)
    return o[0, 0]


def lecture_step() -> dict:
    """The numbers of the lecture's slide, computed."""
    y = output_scores(H_T)
    p = softmax(y)
    return {
        "x": one_hot("h"),
        "W_xh x": input_term("h"),
        "y": y,
        "softmax": p,
        "prediction": VOCAB[int(np.argmax(p))],
    }


def train_hello(steps: int = 300, lr: float = 0.1, seed: int = 0) -> dict:
    """Train the same shapes (D = 4, H = 3, C = 4) on "hell" -> "ello" with full BPTT."""
    network = Network("rnn")
    params = network.init_params(4, 3, 4, np.random.default_rng(seed))
    xs = np.stack([one_hot(ch) for ch in "hell"])[:, None, :]  # (T, N, D) = (4, 1, 4)
    targets = np.array([[VOCAB.index(ch)] for ch in "ello"])  # (T, N) = (4, 1)
    optimizer = Adagrad(lr)
    first_loss = loss = network.loss(params, xs, targets)
    for _ in range(steps):
        loss, grads, _ = network.loss_and_gradients(params, xs, targets)
        optimizer.step(params, grads)
    o, _, _ = network.forward(params, xs)
    predicted = "".join(VOCAB[i] for i in o[:, 0].argmax(axis=-1))
    return {"first_loss": first_loss, "loss": loss, "predicted": predicted}


def main() -> None:
    np.set_printoptions(precision=8, suppress=True)
    for name, value in lecture_step().items():
        print(f"{name:>10}: {value}")
    result = train_hello()
    print(
        f"\ntrain_hello(): loss {result['first_loss']:.4f} -> {result['loss']:.4f}, "
        f"'hell' -> {result['predicted']!r}"
    )


if __name__ == "__main__":
    main()
