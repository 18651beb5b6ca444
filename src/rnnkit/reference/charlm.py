"""A character language model on the NumPy engine: min-char-rnn, batched over B streams.

The text is cut into B contiguous streams, one per column (as pytorch's word_language_model
``batchify``), so that each stream reads on where its last chunk stopped::

    text = "abcdefghijklmnopqrstuvwx", B = 4:

            stream 0  stream 1  stream 2  stream 3
    t = 0      a         g         m         s
    t = 1      b         h         n         t
    ...
    t = 5      f         l         r         x

Each step takes the next seq_len rows as inputs and the rows one further down as targets,
runs truncated BPTT from the state the previous chunk left (tbptt.py; k1 = seq_len,
k2 = backprop_steps), clips and updates (Adagrad by default, like min-char-rnn). When the
streams run out they start again from the top with a zero state, as min-char-rnn does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from rnnkit.reference.clipping import clip_by_global_norm, clip_by_value
from rnnkit.reference.losses import cross_entropy_forward, softmax
from rnnkit.reference.network import Network
from rnnkit.reference.optim import make_optimizer
from rnnkit.reference.tbptt import TruncatedBPTT

logger = logging.getLogger(__name__)


@dataclass
class History:
    """What a training run leaves besides its parameters."""

    vocab: list[str]
    network: Network
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # nats per character, batch mean
    chars_seen: int = 0
    seconds: float = 0.0

    @property
    def chars_per_second(self) -> float:
        return self.chars_seen / self.seconds if self.seconds > 0 else 0.0


def build_vocab(text: str) -> list[str]:
    """The sorted distinct characters of text."""
    return sorted(set(text))


def encode(text: str, vocab: list[str]) -> np.ndarray:
    index = {ch: i for i, ch in enumerate(vocab)}
    unknown = sorted(set(text) - index.keys())
    if unknown:
        raise ValueError(f"characters not in the vocabulary: {unknown!r}")
    return np.array([index[ch] for ch in text], dtype=np.int64)


def one_hot(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """ids (T, N) -> one-hot x (T, N, V). (The engine also takes the ids themselves.)"""
    return np.eye(vocab_size)[ids]


def make_streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut ids into batch_size contiguous streams, one per column: (len // B, B)."""
    length = len(ids) // batch_size
    return ids[: length * batch_size].reshape(batch_size, length).T  # (L, B)


def _check_train_args(text: str, seq_len: int, batch_size: int, steps: int) -> None:
    if seq_len < 1 or batch_size < 1 or steps < 0:
        raise ValueError(
            f"need seq_len >= 1, batch_size >= 1, steps >= 0; got {seq_len}, {batch_size}, {steps}"
        )
    if len(text) // batch_size < seq_len + 1:
        raise ValueError(
            f"text of {len(text)} characters is too short for {batch_size} streams of "
            f"seq_len + 1 = {seq_len + 1} characters; shorten them or give more text"
        )


def train(
    text: str,
    hidden_size: int = 100,
    seq_len: int = 25,
    batch_size: int = 32,
    steps: int = 1000,
    lr: float = 0.1,
    seed: int = 0,
    *,
    cell: str = "rnn",
    backprop_steps: int | None = None,
    optimizer: str = "adagrad",
    clip_value: float | None = 5.0,
    clip_norm: float | None = None,
    log_every: int = 100,
):
    """Train a character model on text; returns (params, history).

    hidden_size H; seq_len characters per stream and step (k1 of truncated BPTT); batch_size
    B parallel streams; steps updates; lr and seed (of the initial weights). cell: rnn, lstm
    or gru. backprop_steps: k2 >= seq_len (default seq_len). optimizer: sgd, momentum,
    adagrad or adam. clip_value clips each gradient element (min-char-rnn's ±5), clip_norm
    the global norm; None turns either off. A log line every log_every steps (0: none).
    """
    _check_train_args(text, seq_len, batch_size, steps)
    vocab = build_vocab(text)
    V = len(vocab)
    streams = make_streams(encode(text, vocab), batch_size)  # (L, B)
    network = Network(cell)
    params = network.init_params(V, hidden_size, V, np.random.default_rng(seed))
    opt = make_optimizer(optimizer, lr)
    tbptt = TruncatedBPTT(network, seq_len, backprop_steps)
    history = History(vocab, network)
    position = 0
    start = time.perf_counter()
    for step in range(steps):
        if position + seq_len + 1 > len(streams):  # the streams are used up: start again
            position = 0
            tbptt.reset()
        chunk = streams[position : position + seq_len + 1]  # (seq_len + 1, B)
        # The inputs go in as indexes: the engine reads them as one-hot rows (products.py).
        loss, grads = tbptt.step(params, chunk[:-1], chunk[1:])
        if clip_norm is not None:
            clip_by_global_norm(grads, clip_norm)
        if clip_value is not None:
            clip_by_value(grads, clip_value)
        opt.step(params, grads)
        position += seq_len
        history.steps.append(step)
        history.losses.append(loss / seq_len)  # the loss sums over seq_len steps
        if log_every and step % log_every == 0:
            logger.info("step %d: loss %.4f nats/char", step, loss / seq_len)
    history.seconds = time.perf_counter() - start
    history.chars_seen = steps * seq_len * batch_size
    return params, history


def sample(
    params: dict,
    vocab: list[str],
    prime: str = "",
    length: int = 200,
    temperature: float = 1.0,
    seed: int = 0,
    network: Network | None = None,
) -> str:
    """Feed prime one character at a time, then draw length more from softmax(o / temperature).

    Returns prime followed by the new characters. The state is carried one character at a
    time; the prefix is never read again. An empty prime starts from a character drawn
    uniformly (under the same seed).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    network = Network() if network is None else network
    rng = np.random.default_rng(seed)
    ids = list(encode(prime, vocab)) if prime else [int(rng.integers(len(vocab)))]
    state = network.initial_state(1, params)
    for i in ids[:-1]:  # read the prime, all but its last character
        _, state, _ = network.forward(params, np.array([[i]]), state)  # (T, N) = (1, 1)
    for _ in range(length):
        o, state, _ = network.forward(params, np.array([[ids[-1]]]), state)  # o (1, 1, V)
        p = softmax(o[0, 0] / temperature)  # (V,)
        ids.append(int(rng.choice(len(vocab), p=p)))
    return "".join(vocab[i] for i in ids)


def mean_loss(params: dict, history: History, text: str, seq_len: int, batch_size: int) -> float:
    """Mean nats per character of the trained network over ``text``, streams and carried
    state as in training (at most ``batch_size`` streams, fewer for a short text). Characters
    the training text lacks are left out (this engine has no <unk>)."""
    known = set(history.vocab)
    kept = "".join(ch for ch in text if ch in known)
    if len(kept) < len(text):
        logger.info("%d characters not in the vocabulary left out", len(text) - len(kept))
    ids = encode(kept, history.vocab)
    streams_count = max(1, min(batch_size, len(ids) // (seq_len + 1)))
    streams = make_streams(ids, streams_count)  # (L, B)
    if len(streams) < 2:
        raise ValueError("the validation text is too short to evaluate; give more text")
    total, count, state = 0.0, 0, None
    V = len(history.vocab)
    for start in range(0, len(streams) - 1, seq_len):
        chunk = streams[start : start + seq_len + 1]  # (T + 1, B)
        o, state, _ = history.network.forward(params, one_hot(chunk[:-1], V), state)
        loss, _ = cross_entropy_forward(o, chunk[1:])  # summed over time, mean over streams
        total += loss * streams_count
        count += chunk[1:].size
    return float(total / count)
