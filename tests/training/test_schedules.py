"""Learning-rate schedules against their formulas."""

from __future__ import annotations

import math

import pytest

from rnnkit.training.config import ScheduleConfig
from rnnkit.training.schedules import LearningRateSchedule, cosine_factor, warmup_factor


def test_warmup_is_a_linear_ramp_to_one():
    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(0, 0) == 1.0


def test_cosine_goes_from_one_to_the_floor_through_the_midpoint():
    assert cosine_factor(0.0, 0.1) == pytest.approx(1.0)
    assert cosine_factor(0.5, 0.1) == pytest.approx(0.55)
    assert cosine_factor(1.0, 0.1) == pytest.approx(0.1)
    assert cosine_factor(1.7, 0.1) == pytest.approx(0.1)  # clamped past the end
    p = 0.3
    assert cosine_factor(p, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi * p)))


def test_cosine_schedule_multiplies_warmup_and_decay():
    schedule = LearningRateSchedule(ScheduleConfig("cosine", warmup_steps=10, min_lr_ratio=0.0))
    assert schedule.factor(4, 0.5) == pytest.approx(0.5 * 0.5)


def test_constant_schedule_ignores_progress_and_evaluations():
    schedule = LearningRateSchedule(ScheduleConfig("constant"))
    assert schedule.factor(100, 0.9) == 1.0
    assert not schedule.after_evaluation(1.0) and not schedule.after_evaluation(2.0)


def test_plateau_cuts_after_patience_evaluations_without_improvement():
    config = ScheduleConfig("plateau", plateau_factor=0.5, plateau_patience=2)
    schedule = LearningRateSchedule(config)
    cuts = [schedule.after_evaluation(m) for m in (3.0, 2.0, 2.5, 2.1, 2.2, 1.0, 1.5, 1.5, 1.5)]
    # the second evaluation in a row without a new best cuts (it was the third, one more than
    # the documented "a halving after 2 evaluations without a new best" and --early-stopping 2)
    assert cuts == [False, False, False, True, False, False, False, True, False]
    assert schedule.factor(1000, 0.0) == 0.25
    with pytest.raises(ValueError, match="plateau_patience"):
        ScheduleConfig("plateau", plateau_patience=0).validate()


def test_schedule_state_round_trip():
    config = ScheduleConfig("plateau", plateau_patience=1)
    schedule = LearningRateSchedule(config)
    for metric in (2.0, 2.5, 1.0, 1.2):
        schedule.after_evaluation(metric)
    again = LearningRateSchedule(config)
    again.load_state_dict(schedule.state_dict())
    assert again.state_dict() == schedule.state_dict()
    assert again.after_evaluation(1.1) == schedule.after_evaluation(1.1)
