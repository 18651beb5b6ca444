"""The encoder-decoder's batched greedy decoding against a hand loop over one source at a
time: each row stops at its own length limit, and suppressed ids are never chosen."""

import math

import pytest
import torch

from rnnkit.models.seq2seq import Seq2Seq
from tests.models.test_seq2seq import BOS, EOS, PAD, VARIANTS, make_model, padded_batch

UNK = 0
SPECIALS = (UNK, PAD, BOS)


@torch.no_grad()
def greedy_by_hand(model: Seq2Seq, source: torch.Tensor, limit: int, blocked=()) -> list[int]:
    """Reference: one unpadded source (S,) decoded alone, one ``model.step`` at a time, the
    ``blocked`` ids set to -inf by hand, until ``<eos>`` or ``limit`` tokens."""
    state = model.encode(source.unsqueeze(0), torch.tensor([len(source)]))
    token, ids = torch.tensor([model.bos_id]), []
    for _ in range(limit):
        logits, state, _ = model.step(token, state)
        logits = logits.clone()
        logits[:, list(blocked)] = -math.inf
        token = logits.argmax(-1)  # (1,)
        if int(token) == model.eos_id:
            break
        ids.append(int(token))
    return ids


def favour_specials(model: Seq2Seq, by: float = 20.0) -> Seq2Seq:
    """The model with ``<unk>``, ``<pad>`` and ``<bos>`` far the likeliest at every step."""
    with torch.no_grad():
        model.output.bias[list(SPECIALS)] += by
    return model


@pytest.mark.parametrize(("attention", "cell", "bidirectional"), VARIANTS)
@pytest.mark.parametrize("ends", [True, False])
def test_batched_greedy_gives_each_row_what_it_gets_alone_with_its_own_limit(
    attention, cell, bidirectional, ends
):
    model = make_model(attention, cell, bidirectional)
    if not ends:  # <eos> made unlikely: every row runs to its limit
        with torch.no_grad():
            model.output.bias[EOS] -= 20.0
    src, lengths, _ = padded_batch()
    limits = [2, 7, 4]
    batched = model.greedy(src, lengths, limits)
    for row, (length, limit) in enumerate(zip(lengths.tolist(), limits, strict=True)):
        assert batched[row] == greedy_by_hand(model, src[row, :length], limit)
    if not ends:
        assert [len(row) for row in batched] == limits
    assert model.greedy(src, lengths, torch.tensor(limits)) == batched
    one_limit = model.greedy(src, lengths, 5)
    for row, length in enumerate(lengths.tolist()):
        assert one_limit[row] == greedy_by_hand(model, src[row, :length], 5)


@pytest.mark.parametrize("attention", ["none", "additive", "multiplicative"])
def test_greedy_never_chooses_a_suppressed_id(attention):
    model = favour_specials(make_model(attention))
    src, lengths, _ = padded_batch()
    plain = model.greedy(src, lengths, 6)
    assert all(set(row) <= set(SPECIALS) for row in plain)  # what they would be
    got = model.greedy(src, lengths, 6, suppress_ids=SPECIALS)
    for row, length in enumerate(lengths.tolist()):
        assert got[row] == greedy_by_hand(model, src[row, :length], 6, SPECIALS)
        assert not set(got[row]) & set(SPECIALS)


def test_greedy_refuses_a_limit_below_one():
    model = make_model("none")
    src, lengths, _ = padded_batch()
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        model.greedy(src, lengths, [3, 0, 2])
