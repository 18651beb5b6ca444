"""TBPTT batching: the stream layout of the docstring, shifted targets, coverage, resume."""

import string
from collections import namedtuple

import numpy as np
import pytest
import torch

from rnnkit.data.batching import DEFAULT_SPLIT, TokenStreams, detach_state, split_contiguous

ALPHABET = string.ascii_lowercase


def letters(tensor):
    """Rows of a (T, B) tensor of alphabet indices as strings, e.g. ['agms', 'bhnt']."""
    return ["".join(ALPHABET[i] for i in row) for row in tensor.tolist()]


def alphabet_streams(**options):
    return TokenStreams(list(range(26)), batch_size=4, truncate_steps=2, **options)


def test_layout_matches_the_docstring_picture():
    streams = alphabet_streams()
    assert streams.stream_length == 6
    assert letters(streams.data) == ["agms", "bhnt", "ciou", "djpv", "ekqw", "flrx"]
    assert len(streams) == 3
    chunks = [(letters(x), letters(y)) for x, y in streams]
    assert chunks == [
        (["agms", "bhnt"], ["bhnt", "ciou"]),
        (["ciou", "djpv"], ["djpv", "ekqw"]),
        (["ekqw"], ["flrx"]),
    ]
    # The docstring draws this very layout; keep the two in step.
    for row in ["agms", "bhnt", "ciou", "djpv", "ekqw", "flrx"]:
        assert "[ " + "  ".join(row) + " ]" in TokenStreams.__doc__
    assert "chunk 2   inputs  [ e  k  q  w ]    targets  [ f  l  r  x ]" in TokenStreams.__doc__


def test_chunks_are_time_major_int64_or_batch_first():
    x, y = alphabet_streams().chunk(0)
    assert x.shape == y.shape == (2, 4) and x.dtype == y.dtype == torch.int64
    xb, yb = alphabet_streams(batch_first=True).chunk(0)
    assert xb.shape == (4, 2) and xb.is_contiguous()
    assert torch.equal(xb, x.t()) and torch.equal(yb, y.t())


def test_targets_are_inputs_shifted_by_one_in_every_stream():
    tokens = np.random.default_rng(0).integers(0, 50, size=1003)
    streams = TokenStreams(tokens, batch_size=7, truncate_steps=10)
    length = streams.stream_length
    for index, (x, y) in enumerate(streams):
        start = index * 10
        for b in range(7):
            stream = tokens[b * length : (b + 1) * length]
            assert x[:, b].tolist() == stream[start : start + len(x)].tolist()
            assert y[:, b].tolist() == stream[start + 1 : start + 1 + len(x)].tolist()


@pytest.mark.parametrize("steps", [1, 3, 7, 35, 142])
def test_chunks_tile_each_stream_without_gap_or_overlap(steps):
    tokens = torch.arange(1000)
    streams = TokenStreams(tokens, batch_size=7, truncate_steps=steps)
    inputs = torch.cat([x for x, _ in streams])  # (L-1, B)
    targets = torch.cat([y for _, y in streams])
    assert torch.equal(inputs, streams.data[:-1])
    assert torch.equal(targets, streams.data[1:])
    assert streams.tokens_per_epoch == inputs.numel() == 7 * (142 - 1)
    # Stream b is the contiguous range b*L .. (b+1)*L-1 of the input: column-major layout.
    assert torch.equal(streams.data.t().reshape(-1), tokens[: 7 * 142])


def test_drop_last_keeps_only_full_chunks():
    streams = alphabet_streams(drop_last=True)
    assert len(streams) == 2
    assert all(x.shape[0] == 2 for x, _ in streams)
    assert streams.tokens_per_epoch == 16


def test_resume_at_a_chunk_equals_continuing():
    streams = TokenStreams(torch.arange(500), batch_size=3, truncate_steps=8)
    straight = [batch for _, batch in zip(range(50), streams.batches(), strict=False)]
    resumed = [batch for _, batch in zip(range(30), streams.batches(20), strict=False)]
    for a, b in zip(straight[20:], resumed, strict=True):
        assert (a.step, a.epoch, a.index) == (b.step, b.epoch, b.index)
        assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    within = list(streams.chunks(start=5))
    assert len(within) == len(streams) - 5
    assert torch.equal(within[0][0], streams.chunk(5)[0])


def test_batches_count_epochs_and_restart_streams():
    streams = alphabet_streams()  # 3 chunks per epoch
    seen = [(b.step, b.epoch, b.index) for _, b in zip(range(7), streams.batches(), strict=False)]
    assert seen == [(0, 0, 0), (1, 0, 1), (2, 0, 2), (3, 1, 0), (4, 1, 1), (5, 1, 2), (6, 2, 0)]
    assert streams.position(7) == (2, 1)
    first, again = streams.chunk(0), next(streams.batches(3))
    assert torch.equal(first[0], again.inputs)


def test_bad_arguments_are_rejected_with_a_reason():
    with pytest.raises(ValueError, match="at least 8 tokens"):
        TokenStreams(list(range(7)), batch_size=4, truncate_steps=2)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        TokenStreams(list(range(10)), batch_size=0, truncate_steps=2)
    with pytest.raises(ValueError, match="truncate_steps"):
        TokenStreams(list(range(10)), batch_size=2, truncate_steps=2.5)
    with pytest.raises(ValueError, match="1-D"):
        TokenStreams(torch.zeros(4, 4, dtype=torch.long), batch_size=2, truncate_steps=2)
    with pytest.raises(ValueError, match="no full chunk"):
        TokenStreams(list(range(8)), batch_size=2, truncate_steps=5, drop_last=True)
    with pytest.raises(IndexError):
        alphabet_streams().chunk(3)
    with pytest.raises(ValueError, match="start chunk"):
        next(alphabet_streams().chunks(start=4))


def test_split_is_contiguous_and_covers_everything():
    text = "".join(chr(65 + i % 26) for i in range(1000))
    parts = split_contiguous(text)
    assert (len(parts.train), len(parts.val), len(parts.test)) == (900, 50, 50)
    assert parts.train + parts.val + parts.test == text
    ids = np.arange(1001)
    train, val, test = split_contiguous(ids, (0.8, 0.1, 0.1))
    assert train[-1] + 1 == val[0] and val[-1] + 1 == test[0]
    assert len(train) + len(val) + len(test) == 1001
    assert set(train) & set(val) == set() and set(val) & set(test) == set()


def test_split_with_empty_parts_and_bad_fractions():
    assert DEFAULT_SPLIT == (0.9, 0.05, 0.05)
    train, val, test = split_contiguous("abcdefghij", (0.7, 0.3, 0.0))
    assert (train, val, test) == ("abcdefg", "hij", "")
    assert split_contiguous("abcdefghij", (1, 0, 0)) == ("abcdefghij", "", "")
    for fractions in [(0.9, 0.1), (0.5, 0.5, 0.5), (0, 0.5, 0.5), (1.2, -0.1, -0.1)]:
        with pytest.raises(ValueError, match="split fractions"):
            split_contiguous("abcdefghij", fractions)
    with pytest.raises(ValueError, match="too short.*val part would be empty"):
        split_contiguous("abcdefghij", (0.9, 0.01, 0.09))


def test_detach_state_cuts_the_graph_and_keeps_the_structure():
    weight = torch.ones(3, requires_grad=True)
    h, c = weight * 2, weight * 3
    assert detach_state(None) is None
    assert detach_state(h).grad_fn is None and torch.equal(detach_state(h), h)
    pair = detach_state((h, c))
    assert isinstance(pair, tuple) and all(t.grad_fn is None for t in pair)
    assert isinstance(detach_state([h, [c]]), list)
    State = namedtuple("State", "h c")
    named = detach_state(State(h, c))
    assert isinstance(named, State) and named.c.grad_fn is None and torch.equal(named.c, c)
    with pytest.raises(TypeError, match="tensor or a tuple"):
        detach_state({"h": h})


def test_detached_state_stops_gradient_at_the_chunk_boundary():
    weight = torch.tensor(0.5, requires_grad=True)
    state = torch.ones(2)
    for _ in range(3):
        state = detach_state(state)
        state = weight * state  # one "chunk" of one step
    state.sum().backward()
    # Only the last step is differentiated: d(w * s_prev)/dw = s_prev = 0.25 * [1, 1].
    assert weight.grad.item() == pytest.approx(0.5)
