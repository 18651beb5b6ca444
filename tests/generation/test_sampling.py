"""Sampling: filters against hand examples, frequencies against softmax, seeds, and generation
that reads the prime once and then one token per step."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.generation import filter_logits, generate, sample_next
from rnnkit.generation.sampling import race_noise
from tests.generation.helpers import CountingModel, tiny_language_model

INF = math.inf


def kept(logits: torch.Tensor) -> list[list[int]]:
    return [torch.isfinite(row).nonzero().flatten().tolist() for row in logits]


def test_top_k_keeps_exactly_k_highest():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [0.5, -1.0, 4.0, 2.5]])
    filtered = filter_logits(logits, top_k=2)
    expected = torch.tensor([[-INF, 3.0, 2.0, -INF], [-INF, -INF, 4.0, 2.5]])
    assert torch.equal(filtered, expected)
    assert kept(filter_logits(logits, top_k=1)) == [[1], [2]]
    assert torch.equal(filter_logits(logits, top_k=4), logits)
    assert torch.equal(filter_logits(logits, top_k=100), logits)
    assert torch.equal(filter_logits(logits), logits)


@pytest.mark.parametrize(
    "top_p, expected",
    [
        (0.01, [[2], [0]]),  # the top token always stays
        (0.5, [[2], [0]]),  # 0.5 reaches 0.5 on its own
        (0.6, [[2, 0], [0, 3]]),  # 0.5 < 0.6 <= 0.5 + 0.25
        (0.75, [[2, 0], [0, 3]]),
        (0.76, [[2, 0, 3], [0, 3, 1]]),
        (0.9, [[2, 0, 3], [0, 3, 1]]),
        (0.91, [[2, 0, 3, 1], [0, 3, 1, 2]]),
        (1.0, [[2, 0, 3, 1], [0, 3, 1, 2]]),
    ],
)
def test_top_p_keeps_the_smallest_nucleus(top_p, expected):
    probs = torch.tensor([[0.25, 0.1, 0.5, 0.15], [0.5, 0.15, 0.1, 0.25]])  # rows in other orders
    logits = probs.log() + 3.0  # logits are probabilities up to a constant
    filtered = filter_logits(logits, top_p=top_p)
    assert kept(filtered) == [sorted(row) for row in expected]
    mask = torch.isfinite(filtered)
    assert torch.equal(filtered[mask], logits[mask])  # kept entries unchanged


def test_a_top_p_too_small_for_float32_still_keeps_the_top_token():
    """1e-46 rounds to 0 in float32, where every token's mass before it is >= 0: the whole
    row was dropped, and the softmax of -inf everywhere drew token 0 (<unk> in a char model)."""
    logits = torch.tensor([[0.1, 2.0, 0.3]])
    for top_p in (1e-46, 1e-300):
        assert kept(filter_logits(logits, top_p=top_p)) == [[1]]
        assert sample_next(logits, 1.0, top_p=top_p).tolist() == [1]


def test_top_k_then_top_p():
    logits = torch.tensor([[0.3, 0.25, 0.2, 0.15, 0.1]]).log()
    # top-k 3 renormalises to 0.3/0.75 = 0.4, 0.33, 0.27; top-p 0.7 then needs the first two
    assert kept(filter_logits(logits, top_k=3, top_p=0.7)) == [[0, 1]]
    assert kept(filter_logits(logits, top_p=0.7)) == [[0, 1, 2]]


def test_temperature_zero_is_argmax():
    logits = torch.randn(50, 11, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sample_next(logits, 0.0), logits.argmax(-1))
    assert torch.equal(sample_next(logits, 0, top_k=3, top_p=0.2), logits.argmax(-1))


def _frequencies(probs: torch.Tensor, draws: int, **options) -> torch.Tensor:
    logits = probs.log().expand(draws, -1)  # (draws, V)
    generator = torch.Generator().manual_seed(1234)
    samples = sample_next(logits, generator=generator, **options)
    return torch.bincount(samples, minlength=probs.numel()).double()


def _chi_square(counts: torch.Tensor, expected_probs: torch.Tensor) -> float:
    expected = expected_probs.double() * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


# The 99.9 % point of chi-square with 3 degrees of freedom is 16.27: a correct sampler
# exceeds it one time in a thousand; a sampler off by a few percent exceeds it every time.
CHI2_3DF_999 = 16.27


def test_frequencies_match_softmax_at_temperature_one():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    counts = _frequencies(probs, 20_000, temperature=1.0)
    assert _chi_square(counts, probs) < CHI2_3DF_999
    assert _chi_square(counts, torch.tensor([0.47, 0.32, 0.16, 0.05])) > CHI2_3DF_999


def test_frequencies_follow_temperature_and_top_k():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    flat = probs.sqrt() / probs.sqrt().sum()  # softmax(log p / 2)
    assert _chi_square(_frequencies(probs, 20_000, temperature=2.0), flat) < CHI2_3DF_999
    counts = _frequencies(probs, 20_000, temperature=1.0, top_k=2)
    assert counts[2:].sum() == 0
    top_two = probs[:2] / probs[:2].sum()
    assert _chi_square(counts[:2], top_two) < 10.83  # 99.9 % point, 1 degree of freedom


def test_sampling_is_deterministic_under_a_seed():
    logits = torch.randn(200, 20, generator=torch.Generator().manual_seed(0))

    def draw(seed):
        return sample_next(logits, 1.0, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))


def test_a_seed_draws_what_torch_multinomial_draws():
    """The draw is the exponential race on ``race_noise`` (what an exported sample graph is
    fed), and it gives the tokens ``torch.multinomial`` gave rnnkit before, seed for seed."""
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(1))
    for seed in range(30):
        drawn = sample_next(logits, 0.8, generator=torch.Generator().manual_seed(seed))
        probs = torch.softmax(logits / 0.8, dim=-1)
        generator = torch.Generator().manual_seed(seed)
        expected = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        assert drawn.tolist() == expected.tolist()
        noise = race_noise(probs, torch.Generator().manual_seed(seed))
        assert drawn.tolist() == (probs / noise).argmax(-1).tolist()


def test_generate_reads_the_prime_once_then_one_token_per_step():
    model = CountingModel(tiny_language_model())
    model.train()
    streamed = []
    ids = generate(model, [1, 2, 3, 4], 6, seed=0, on_token=streamed.append)
    assert len(ids) == 6 and streamed == ids
    assert model.forward_shapes == [(4, 1)]  # the prime, once, as one (T, B) chunk
    assert model.step_shapes == [(1,)] * 5  # then single tokens: length - 1 steps
    assert not any(model.grad_enabled) and not any(model.modes)  # no_grad, eval mode
    assert model.training  # and the caller's mode is back


def test_greedy_generate_equals_rereading_the_whole_prefix():
    model = tiny_language_model(cell="gru")
    prime_ids = [0, 3, 1]
    ids = generate(model, prime_ids, 8, temperature=0)
    model.eval()
    expected = []
    for _ in range(8):  # the slow reference: read prime + everything so far, take the argmax
        logits, _, _ = model(torch.tensor(prime_ids + expected).unsqueeze(1))
        expected.append(int(logits[-1, 0].argmax()))
    assert ids == expected


def test_generate_seeds():
    model = tiny_language_model(vocab_size=20)
    first = generate(model, [1], 40, seed=3, temperature=1.5)
    assert first == generate(model, [1], 40, seed=3, temperature=1.5)
    assert first != generate(model, [1], 40, seed=4, temperature=1.5)
    assert all(0 <= i < 20 for i in first)
    torch.manual_seed(0)
    state_before = torch.get_rng_state()
    generate(model, [1], 5, seed=3)
    assert torch.equal(torch.get_rng_state(), state_before)  # a seed leaves the global RNG


def test_generate_restricted_by_top_k_one_is_greedy():
    model = tiny_language_model(vocab_size=9)
    greedy = generate(model, [2, 2], 12, temperature=0)
    assert generate(model, [2, 2], 12, temperature=1.0, top_k=1, seed=5) == greedy


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": -0.1}, r"temperature must be 0 \(greedy\) or a number from.*got -0.1"),
        ({"temperature": math.nan}, r"temperature must be 0 \(greedy\) or a number from 1e-30"),
        ({"temperature": 1e-45}, r"from 1e-30 to 1e\+30, got 1e-45"),
        ({"temperature": 1e39}, r"from 1e-30 to 1e\+30, got 1e\+39"),
        ({"top_k": 0}, r"top_k must be None or an integer >= 1, got 0"),
        ({"top_p": 0.0}, r"top_p must be None or a number in \(0, 1\], got 0.0"),
        ({"top_p": 1.5}, r"top_p must be None or a number in \(0, 1\], got 1.5"),
        ({"length": 0}, r"length must be an integer >= 1.*got 0"),
        ({"prime_ids": []}, r"prime_ids is empty"),
        ({"prime_ids": "abc"}, r"prime_ids must be a list of token ids, got str"),
    ],
)
def test_generate_errors(options, message):
    model = tiny_language_model()
    arguments = {"prime_ids": [1], "length": 3, **options}
    with pytest.raises(ValueError, match=message):
        generate(model, arguments.pop("prime_ids"), arguments.pop("length"), **arguments)


def test_filter_and_sample_errors():
    with pytest.raises(ValueError, match=r"logits must be a float tensor of shape \(B, V\)"):
        filter_logits(torch.zeros(3), top_k=1)
    with pytest.raises(ValueError, match=r"top_k must be None or an integer >= 1, got 0"):
        filter_logits(torch.zeros(2, 3), top_k=0)
    with pytest.raises(ValueError, match=r"temperature must be 0 \(greedy\) or a number"):
        sample_next(torch.zeros(2, 3), -1.0)


class _FavoursZero(torch.nn.Module):
    """A stand-in model whose every prediction puts almost all mass on token 0."""

    def __init__(self, vocab_size: int = 5) -> None:
        super().__init__()
        self.vocab_size = vocab_size

    def _logits(self, batch: int) -> torch.Tensor:
        logits = torch.zeros(batch, self.vocab_size)
        logits[:, 0] = 20.0
        logits[:, 3] = 1.0
        return logits

    def forward(self, idx, targets=None, state=None):
        return (
            self._logits(idx.shape[1]).expand(idx.shape[0], -1, -1),
            None,
            torch.zeros(1, idx.shape[1], 1),
        )

    def step(self, tokens, state):
        return self._logits(tokens.shape[0]), state


def test_suppressed_tokens_are_never_generated():
    from rnnkit.generation.beam_search import beam_search

    model = _FavoursZero()
    assert set(generate(model, [1], 30, temperature=1.0, seed=0)) == {0}
    sampled = generate(model, [1], 200, temperature=1.0, seed=0, suppress_ids=(0,))
    assert 0 not in sampled and 3 in sampled
    assert set(generate(model, [1], 10, temperature=0, suppress_ids=(0,))) == {3}
    assert set(beam_search(model, [1], 6, beam_size=3, suppress_ids=(0,)).ids) == {3}
    with pytest.raises(ValueError, match=r"suppress_ids must be token ids in \[0, 5\), got \[7\]"):
        generate(model, [1], 3, suppress_ids=(7,))


def test_evaluating_restores_every_submodules_own_mode():
    """A model in eval mode, wrapped in a new module (in training mode, as seq2seq's
    ``DecoderSteps`` is), stays in eval mode after generation: its dropout stays off."""
    from torch import nn

    from rnnkit.generation.sampling import evaluating

    inner = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).eval()
    wrapper = nn.Module()
    wrapper.inner = inner
    assert wrapper.training and not inner.training
    with evaluating(wrapper):
        assert not wrapper.training and not inner[1].training
        assert not torch.is_grad_enabled()
    assert wrapper.training and not inner.training and not inner[1].training
    x = torch.ones(1, 3)
    assert torch.equal(inner(x), inner(x))  # no dropout

    inner.train()
    with evaluating(inner):
        assert not inner[1].training
    assert inner.training and inner[1].training
