"""The adding problem's generator against its definition, recomputed one sequence at a time."""

from __future__ import annotations

import pytest
import torch

from rnnkit.experiments.adding import BASELINE_MSE, adding_batch


def seeded(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seq_len", [3, 10, 51])
def test_targets_are_the_sum_of_the_two_marked_values(seq_len):
    inputs, targets = adding_batch(64, seq_len, seeded(1))
    assert inputs.shape == (64, seq_len, 2) and targets.shape == (64,)
    for sequence, target in zip(inputs.tolist(), targets.tolist(), strict=True):
        values = [step[0] for step in sequence]
        marked = [t for t, step in enumerate(sequence) if step[1] == 1.0]
        assert all(step[1] in (0.0, 1.0) for step in sequence)
        assert len(marked) == 2
        first, second = marked
        assert first < seq_len // 2 <= second, (first, second)
        assert target == pytest.approx(values[first] + values[second], abs=1e-6)
        assert all(0.0 <= value < 1.0 for value in values)


def test_marker_positions_cover_both_halves():
    inputs, _ = adding_batch(4000, 10, seeded(2))
    positions = inputs[:, :, 1].nonzero()[:, 1]  # every marked step
    assert set(positions.tolist()) == set(range(10))


def test_the_same_seed_gives_the_same_batch_and_another_seed_does_not():
    a_inputs, a_targets = adding_batch(16, 20, seeded(5))
    b_inputs, b_targets = adding_batch(16, 20, seeded(5))
    c_inputs, _ = adding_batch(16, 20, seeded(6))
    assert torch.equal(a_inputs, b_inputs) and torch.equal(a_targets, b_targets)
    assert not torch.equal(a_inputs, c_inputs)


def test_always_answering_one_has_mse_one_sixth():
    _, targets = adding_batch(200_000, 4, seeded(3))
    mse = float(((targets - 1.0) ** 2).mean())
    assert BASELINE_MSE == pytest.approx(1 / 6)
    assert mse == pytest.approx(BASELINE_MSE, abs=0.003)  # the estimate's std is about 0.0005


def test_too_short_a_sequence_is_refused():
    with pytest.raises(ValueError, match="T >= 3"):
        adding_batch(4, 2, seeded(0))
