"""The batched min-char-rnn: streams, learning, deterministic sampling, validation."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import charlm
from rnnkit.reference.network import Network

TEXT = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, "
    "it was the age of foolishness, it was the epoch of belief, it was the epoch of "
    "incredulity. "
) * 8


def test_streams_are_contiguous_columns():
    ids = np.arange(26)
    streams = charlm.make_streams(ids, 4)  # 26 // 4 = 6 rows; the last 2 ids are dropped
    assert streams.shape == (6, 4)
    np.testing.assert_array_equal(streams[:, 0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(streams[:, 3], [18, 19, 20, 21, 22, 23])


def test_vocab_and_encoding():
    vocab = charlm.build_vocab("hello")
    assert vocab == ["e", "h", "l", "o"]
    np.testing.assert_array_equal(charlm.encode("hole", vocab), [1, 3, 2, 0])
    np.testing.assert_array_equal(
        charlm.one_hot(np.array([[1, 3]]), 4), [[[0, 1, 0, 0], [0, 0, 0, 1]]]
    )
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: \['z'\]"):
        charlm.encode("hez", vocab)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_loss_falls(cell):
    _, history = charlm.train(
        TEXT, hidden_size=32, seq_len=10, batch_size=4, steps=200, seed=0, cell=cell
    )
    uniform = np.log(len(history.vocab))
    start, end = np.mean(history.losses[:5]), np.mean(history.losses[-20:])
    assert start > 0.9 * uniform  # it starts knowing nothing ...
    assert end < 0.5 * uniform  # ... and learns the text
    assert history.chars_seen == 200 * 10 * 4
    assert history.chars_per_second > 0


def test_training_and_sampling_are_deterministic_under_a_seed():
    run = lambda: charlm.train(TEXT, hidden_size=16, seq_len=8, batch_size=3, steps=30, seed=3)  # noqa: E731
    (params_a, history_a), (params_b, history_b) = run(), run()
    assert history_a.losses == history_b.losses
    for name in params_a:
        np.testing.assert_array_equal(params_a[name], params_b[name])
    vocab = history_a.vocab
    first = charlm.sample(params_a, vocab, prime="it was", length=40, temperature=0.8, seed=5)
    assert first == charlm.sample(
        params_b, vocab, prime="it was", length=40, temperature=0.8, seed=5
    )
    assert first.startswith("it was") and len(first) == 6 + 40
    assert set(first) <= set(vocab)
    others = {charlm.sample(params_a, vocab, "it was", 40, 0.8, seed=s) for s in range(6, 10)}
    assert len(others | {first}) > 1  # the seed matters


def test_trained_model_continues_the_text():
    params, history = charlm.train(TEXT, hidden_size=48, seq_len=16, batch_size=4, steps=300)
    text = charlm.sample(params, history.vocab, "it was the ", 30, temperature=0.1, seed=0)
    words = set(TEXT.replace(",", " ").replace(".", " ").split())
    produced = text.replace(",", " ").replace(".", " ").split()[3:-1]  # whole new words only
    assert produced and sum(w in words for w in produced) >= 0.75 * len(produced), text


def test_sampling_with_another_cell_and_an_empty_prime():
    params, history = charlm.train(
        TEXT, hidden_size=8, seq_len=5, batch_size=2, steps=3, cell="gru"
    )
    assert history.network == Network("gru")
    text = charlm.sample(params, history.vocab, "", 10, seed=1, network=history.network)
    assert len(text) == 11  # the drawn first character and 10 more


def test_bad_arguments():
    with pytest.raises(ValueError, match="too short for 8 streams of seq_len \\+ 1 = 26"):
        charlm.train("short text", batch_size=8)
    with pytest.raises(ValueError, match="need seq_len >= 1"):
        charlm.train(TEXT, seq_len=0)
    with pytest.raises(ValueError, match="unknown cell 'tcn'"):
        charlm.train(TEXT, cell="tcn", steps=1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        charlm.train(TEXT, optimizer="lbfgs", steps=1)
    params, history = charlm.train(TEXT, hidden_size=4, seq_len=5, batch_size=2, steps=1)
    with pytest.raises(ValueError, match="temperature must be positive, got 0"):
        charlm.sample(params, history.vocab, "it", 5, temperature=0)
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: \['Z'\]"):
        charlm.sample(params, history.vocab, "Zed", 5)
