"""The copy task's generator against its definition, and its baseline cross-entropy."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rnnkit.experiments.copy_memory import BLANK, DELIMITER, baseline_nats, copy_batch


def seeded(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("delay", [1, 5, 30])
def test_inputs_and_targets_follow_the_definition(delay):
    inputs, targets = copy_batch(32, delay, seeded(1))
    assert inputs.shape == targets.shape == (32, delay + 20)
    for x, y in zip(inputs.tolist(), targets.tolist(), strict=True):
        symbols = x[:10]
        assert all(1 <= s <= 8 for s in symbols)
        assert x[10 : delay + 9] == [BLANK] * (delay - 1)
        assert x[delay + 9] == DELIMITER
        assert x[delay + 10 :] == [BLANK] * 10
        assert y == [BLANK] * (delay + 10) + symbols


def test_every_symbol_of_the_alphabet_occurs():
    inputs, _ = copy_batch(200, 3, seeded(2))
    assert set(inputs[:, :10].flatten().tolist()) == set(range(1, 9))


def test_the_same_seed_gives_the_same_batch_and_another_seed_does_not():
    a, _ = copy_batch(8, 10, seeded(4))
    b, _ = copy_batch(8, 10, seeded(4))
    c, _ = copy_batch(8, 10, seeded(5))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("delay", [10, 100])
def test_baseline_is_the_memoryless_predictors_cross_entropy(delay):
    """Blanks with certainty for T + 10 steps, then uniform over the 8 symbols."""
    _, targets = copy_batch(64, delay, seeded(3))
    log_probs = torch.full((64, delay + 20, 10), -math.inf)
    log_probs[:, : delay + 10, BLANK] = 0.0
    log_probs[:, delay + 10 :, 1:9] = math.log(1 / 8)
    nats = F.nll_loss(log_probs.flatten(0, 1), targets.flatten())
    assert float(nats) == pytest.approx(baseline_nats(delay), rel=1e-6)
    assert baseline_nats(delay) == pytest.approx(10 * math.log(8) / (delay + 20))
