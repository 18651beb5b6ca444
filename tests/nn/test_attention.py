import math
import re

import pytest
import torch

from rnnkit.nn.attention import (
    AdditiveAttention,
    MultiplicativeAttention,
    build_attention,
    length_mask,
)


def _memory(seed=0, batch=3, length=5, key_size=4):
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(batch, length, key_size, generator=generator, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 1])[:batch]
    return values, lengths, length_mask(lengths, length)


def _hand_context(scores, values, length):
    """softmax over the first ``length`` scores, weighted sum of those values."""
    exps = [math.exp(s) for s in scores[:length]]
    total = sum(exps)
    weights = [e / total for e in exps] + [0.0] * (len(scores) - length)
    context = sum(w * v for w, v in zip(weights, values, strict=True))
    return torch.tensor(weights, dtype=torch.float64), context


def test_length_mask():
    mask = length_mask(torch.tensor([3, 1]), 4)
    assert mask.tolist() == [[True, True, True, False], [True, False, False, False]]


def test_additive_matches_bahdanau_by_hand():
    torch.manual_seed(1)
    attention = AdditiveAttention(query_size=3, key_size=4, attention_size=6).double()
    values, lengths, mask = _memory()
    query = torch.randn(3, 3, dtype=torch.float64)
    context, weights = attention(query, attention.prepare(values, mask))
    attention.requires_grad_(False)
    w_q, w_k = attention.query_proj.weight, attention.key_proj.weight
    b, v = attention.key_proj.bias, attention.score.weight[0]
    for n in range(3):
        scores = [float(v @ torch.tanh(w_q @ query[n] + w_k @ values[n, i] + b)) for i in range(5)]
        hand_weights, hand_context = _hand_context(scores, values[n], int(lengths[n]))
        torch.testing.assert_close(weights[n], hand_weights)
        torch.testing.assert_close(context[n], hand_context)


@pytest.mark.parametrize("score", ["general", "dot"])
@pytest.mark.parametrize("scaled", [False, True])
def test_multiplicative_matches_luong_by_hand(score, scaled):
    torch.manual_seed(2)
    attention = MultiplicativeAttention(4, 4, score=score, scaled=scaled).double()
    values, lengths, mask = _memory(seed=3)
    query = torch.randn(3, 4, dtype=torch.float64)
    context, weights = attention(query, attention.prepare(values, mask))
    attention.requires_grad_(False)
    matrix = attention.key_proj.weight if score == "general" else torch.eye(4).double()
    scale = 0.5 if scaled else 1.0
    for n in range(3):
        scores = [float(query[n] @ matrix @ values[n, i]) * scale for i in range(5)]
        hand_weights, hand_context = _hand_context(scores, values[n], int(lengths[n]))
        torch.testing.assert_close(weights[n], hand_weights)
        torch.testing.assert_close(context[n], hand_context)


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_weights_sum_to_one_and_padding_gets_nothing(kind):
    torch.manual_seed(4)
    attention = build_attention(kind, 4, 4)
    values, lengths, mask = _memory(seed=5)
    values = values.float()
    garbage = values.clone()
    garbage[~mask] = 1e6  # what lies in the padding must not matter
    query = torch.randn(3, 4)
    context, weights = attention(query, attention.prepare(values, mask))
    context_g, weights_g = attention(query, attention.prepare(garbage, mask))
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    assert bool((weights[~mask] == 0).all())
    torch.testing.assert_close(context, context_g)
    torch.testing.assert_close(weights, weights_g)


def test_gradients_reach_query_and_memory():
    attention = AdditiveAttention(3, 4)
    values = torch.randn(2, 5, 4, requires_grad=True)
    query = torch.randn(2, 3, requires_grad=True)
    context, _ = attention(query, attention.prepare(values))
    context.sum().backward()
    assert query.grad.abs().sum() > 0 and values.grad.abs().sum() > 0


def test_memory_index_select_repeats_rows():
    attention = AdditiveAttention(3, 4)
    values, _, mask = _memory()
    memory = attention.prepare(values.float(), mask).index_select(torch.tensor([2, 2, 0]))
    assert memory.values.shape == (3, 5, 4)
    assert memory.mask[:2].sum(dim=1).tolist() == [1, 1]


def test_bad_input_says_what_is_allowed():
    attention = AdditiveAttention(3, 4)
    with pytest.raises(ValueError, match=r"\(N, S, 4\)"):
        attention.prepare(torch.randn(5, 4))
    with pytest.raises(ValueError, match="at least one real element"):
        attention.prepare(torch.randn(2, 5, 4), torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be bool"):
        attention.prepare(torch.randn(2, 5, 4), torch.ones(2, 5))
    with pytest.raises(ValueError, match="general"):
        MultiplicativeAttention(3, 4, score="dot")
    with pytest.raises(ValueError, match="attention must be one of none, additive"):
        build_attention("luong", 3, 4)
    assert build_attention("none", 3, 4) is None


@pytest.mark.parametrize("kind", ["additive", "multiplicative"])
def test_a_query_must_be_one_row_of_q_per_memory(kind):
    """(N, Q) with the memory's N: a wrong width, batch (1 included: no broadcasting) or rank
    is refused with both shapes, before any matmul."""
    attention = build_attention(kind, 3, 4)
    memory = attention.prepare(torch.randn(2, 5, 4))
    attention(torch.randn(2, 3), memory)
    for query in (torch.randn(2, 7), torch.randn(1, 3), torch.randn(3), torch.randn(2, 1, 3)):
        expected = r"expected a query of shape \(N, Q\) = \(2, 3\), one per row of the memory "
        expected += rf"\(N=2\), got {re.escape(str(tuple(query.shape)))}$"
        with pytest.raises(ValueError, match=expected):
            attention(query, memory)


def test_sizes_are_positive_integers():
    assert AdditiveAttention(3, 4).attention_size == 4  # left out: the key size
    for make, name in [
        (lambda: AdditiveAttention(3, 4, attention_size=0), "attention_size"),
        (lambda: AdditiveAttention(0, 4), "query_size"),
        (lambda: AdditiveAttention(3, 0), "key_size"),
        (lambda: MultiplicativeAttention(0, 4), "query_size"),
        (lambda: MultiplicativeAttention(3, 2.5), "key_size"),
    ]:
        with pytest.raises(ValueError, match=rf"{name} must be a positive integer, got"):
            make()
