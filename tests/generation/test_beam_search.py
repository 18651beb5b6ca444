"""Beam search: greedy at width 1, better than greedy where greedy is myopic, exact against
brute force when the beam holds every prefix, eos and the GNMT length penalty by hand."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.generation import beam_search, generate, length_normalizer, reorder_state
from tests.generation.helpers import (
    CountingModel,
    TableModel,
    all_sequences,
    random_table,
    sequence_log_probs,
    tiny_language_model,
)


def brute_force(model, prime_ids, length, vocab_size, eos_id=None, alpha=0.0):
    """Every admissible continuation, scored by reading prime + sequence whole, best first.
    With eos, a sequence is admissible if eos is its last id only, or it has no eos and the
    full length; without eos, every sequence of the full length."""
    lengths = range(1, length + 1) if eos_id is not None else [length]
    scored = []
    for n in lengths:
        sequences = [
            s
            for s in all_sequences(vocab_size, n)
            if eos_id not in s[:-1] and (s[-1] == eos_id or n == length)
        ]
        log_p = sequence_log_probs(model, prime_ids, sequences)
        normaliser = length_normalizer(n, alpha)
        scored += [(s, float(lp) / normaliser) for s, lp in zip(sequences, log_p, strict=True)]
    return sorted(scored, key=lambda item: -item[1])


@pytest.mark.parametrize("cell", ["lstm", "gru-lectures", "rnn"])
def test_beam_of_one_is_greedy(cell):
    model = tiny_language_model(vocab_size=7, cell=cell)
    greedy = generate(model, [1, 4], 15, temperature=0)
    result = beam_search(model, [1, 4], 15, beam_size=1)
    assert result.ids == greedy
    expected = sequence_log_probs(model.eval(), [1, 4], [greedy])
    assert result.score == pytest.approx(float(expected), abs=1e-4)
    assert result.candidates == [(result.ids, result.score)]


def test_beam_of_one_is_greedy_on_a_table():
    model = TableModel(random_table(4, seed=3))
    assert beam_search(model, [2], 12, beam_size=1).ids == generate(model, [2], 12, temperature=0)


def myopic_table() -> torch.Tensor:
    """Tokens 0 start, 1 A, 2 B, 3 C. After the start, A (0.55) beats B (0.45); but after A
    every token is equally likely (0.25) while B is almost surely followed by C (0.97)."""
    probs = torch.full((4, 4, 4), 0.25)
    probs[0, 0] = torch.tensor([0.0, 0.55, 0.45, 0.0]) + torch.tensor([1e-3, -1e-3, -1e-3, 1e-3])
    probs[0, 2] = torch.tensor([0.01, 0.01, 0.01, 0.97])
    return probs


def test_beam_finds_what_myopic_greedy_misses():
    model = TableModel(myopic_table())
    greedy = generate(model, [0], 2, temperature=0)
    assert greedy[0] == 1  # A first, then at best 0.25
    greedy_score = float(sequence_log_probs(model, [0], [greedy]))
    result = beam_search(model, [0], 2, beam_size=2)
    assert result.ids == [2, 3]
    assert result.score == pytest.approx(math.log(0.449) + math.log(0.97), abs=1e-6)
    assert result.score > greedy_score + 1.0  # log(0.435 / 0.137)


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_wide_beam_is_exact_on_a_markov_chain(alpha):
    """27 = 3^3 beams hold every prefix of 3 tokens, so the best of 4 is the true best."""
    model = TableModel(random_table(3, seed=1))
    result = beam_search(model, [1], 4, beam_size=27, length_penalty=alpha)
    expected = brute_force(model, [1], 4, 3, alpha=alpha)
    assert result.ids == expected[0][0]
    assert [ids for ids, _ in result.candidates] == [ids for ids, _ in expected[:27]]
    for (_, score), (_, reference) in zip(result.candidates, expected, strict=False):
        assert score == pytest.approx(reference, abs=1e-5)


def test_wide_beam_is_exact_on_a_language_model():
    """The LSTM's (h, c) state is reordered beam by beam; any slip changes the scores."""
    model = tiny_language_model(vocab_size=4, seed=2)
    result = beam_search(model, [3, 1], 3, beam_size=16)
    expected = brute_force(model.eval(), [3, 1], 3, 4)
    assert result.ids == expected[0][0]
    assert result.score == pytest.approx(expected[0][1], abs=1e-5)
    got = [score for _, score in result.candidates]
    assert got == pytest.approx([score for _, score in expected[:16]], abs=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.7, 2.0])
def test_wide_beam_with_eos_is_exact(alpha):
    model = TableModel(random_table(3, seed=4, sharpness=1.0))
    result = beam_search(model, [0], 3, beam_size=16, eos_id=2, length_penalty=alpha)
    expected = brute_force(model, [0], 3, 3, eos_id=2, alpha=alpha)
    assert (result.ids, result.score) == (expected[0][0], pytest.approx(expected[0][1]))
    assert [ids for ids, _ in result.candidates] == [ids for ids, _ in expected[:16]]


def test_no_candidate_holds_a_suppressed_token():
    """A beam wider than the tokens left to it kept impossible extensions (score -inf, a
    suppressed token inside) among its candidates."""
    model = TableModel(random_table(4, seed=1, sharpness=1.0))
    for eos_id in (None, 3):
        result = beam_search(model, [0], 3, beam_size=8, eos_id=eos_id, suppress_ids=[1, 2])
        assert result.candidates and all(math.isfinite(s) for _, s in result.candidates)
        assert all(not {1, 2} & set(ids) for ids, _ in result.candidates), result.candidates


def eos_table() -> torch.Tensor:
    """Tokens 0 start, 1 a, 2 b, 3 eos. After the start: eos 0.5, a 0.44; after a: a 0.95."""
    probs = torch.full((4, 4, 4), 0.25)
    probs[0, 0] = torch.tensor([0.01, 0.44, 0.05, 0.5])
    probs[:, 1] = torch.tensor([0.01, 0.95, 0.02, 0.02])
    return probs


def test_eos_ends_a_hypothesis_and_the_length_penalty_can_prefer_longer_ones():
    model = TableModel(eos_table())
    short = beam_search(model, [0], 3, beam_size=2, eos_id=3)
    assert short.ids == [3] and short.score == pytest.approx(math.log(0.5))
    for ids, _ in short.candidates:
        assert 3 not in ids[:-1] and (ids[-1] == 3 or len(ids) == 3)
    # log P(a a a) = log 0.44 + 2 log 0.95 = -0.924 < log 0.5, but divided by
    # lp(3) = (8 / 6)^2 = 1.78 it is -0.520, better than [eos]'s -0.693 / lp(1) = -0.693
    long = beam_search(model, [0], 3, beam_size=2, eos_id=3, length_penalty=2.0)
    raw = math.log(0.44) + 2 * math.log(0.95)
    assert long.ids == [1, 1, 1]
    assert long.score == pytest.approx(raw / (8 / 6) ** 2)
    assert ([3], pytest.approx(math.log(0.5))) in long.candidates
    # one beam: [eos] is finished after the first token, but a's bound log 0.44 / lp(3) =
    # -0.46 can still beat it, so the search must go on to find a a a
    one = beam_search(model, [0], 3, beam_size=1, eos_id=3, length_penalty=2.0)
    assert one.ids == [1, 1, 1]
    # without eos nothing ends early: every candidate has the full length
    assert all(len(ids) == 3 for ids, _ in beam_search(model, [0], 3, beam_size=2).candidates)


def test_search_stops_once_no_live_beam_can_win():
    probs = torch.tensor([0.03, 0.03, 0.04, 0.9]).expand(4, 4, 4).contiguous()
    model = CountingModel(TableModel(probs))
    result = beam_search(model, [0], 50, beam_size=2, eos_id=3)
    assert result.ids == [3] and result.score == pytest.approx(math.log(0.9))
    assert len(model.step_shapes) <= 2  # not 49


def test_beams_run_as_one_batch_from_one_prime_reading():
    model = CountingModel(tiny_language_model(vocab_size=6))
    model.train()
    beam_search(model, [1, 2, 3], 5, beam_size=3)
    assert model.forward_shapes == [(3, 1)]
    assert model.step_shapes == [(3,)] * 4
    assert not any(model.grad_enabled) and not any(model.modes)
    assert model.training


def test_reorder_state_selects_batch_rows_of_every_tensor():
    h = torch.arange(12.0).view(2, 3, 2)  # (L, B, H)
    c = -h
    index = torch.tensor([2, 2, 0])
    h_new, c_new = reorder_state((h, c), index)
    assert torch.equal(h_new, h[:, [2, 2, 0]]) and torch.equal(c_new, c[:, [2, 2, 0]])
    assert isinstance(reorder_state([h], index), list)
    assert reorder_state(None, index) is None
    with pytest.raises(ValueError, match="tensors .batch on dimension 1.*got dict"):
        reorder_state({"h": h}, index)


def test_reorder_state_lets_an_object_select_its_own_rows():
    from rnnkit.nn.attention import AdditiveAttention

    values = torch.arange(24.0).view(3, 4, 2)  # (N, S, K): batch on dimension 0
    memory = AdditiveAttention(2, 2).prepare(values)
    h = torch.arange(6.0).view(1, 3, 2)  # (L, N, H)
    index = torch.tensor([2, 2, 0])
    h_new, memory_new = reorder_state((h, memory), index)
    assert torch.equal(h_new, h[:, [2, 2, 0]])
    assert torch.equal(memory_new.values, values[[2, 2, 0]])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"beam_size": 0}, r"beam_size must be an integer >= 1, got 0"),
        ({"length": 0}, r"length must be an integer >= 1"),
        ({"length_penalty": -0.5}, r"length_penalty must be a finite number >= 0.*got -0.5"),
        ({"eos_id": 9}, r"eos_id must be in \[0, 4\), got 9"),
        ({"eos_id": "x"}, r"eos_id must be None or a token id"),
        ({"prime_ids": []}, r"prime_ids is empty"),
    ],
)
def test_beam_search_errors(options, message):
    model = TableModel(eos_table())
    arguments = {"prime_ids": [0], "length": 3, "beam_size": 2, **options}
    with pytest.raises(ValueError, match=message):
        beam_search(model, arguments.pop("prime_ids"), arguments.pop("length"), **arguments)
