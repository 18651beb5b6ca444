"""Learning-rate schedules: the rate at each step is ``lr * factor``.

    warmup(s) = min(1, (s + 1) / warmup_steps)        a linear ramp over the first steps
    cosine(p) = m + (1 - m) * (1 + cos(pi * p)) / 2   p: progress in [0, 1], m: min_lr_ratio
    plateau   = factor ** (cuts so far)               one cut after `patience` evaluations
                                                      without a new best validation loss

    factor = warmup(s) * {1 | cosine(p) | plateau}

``progress`` is how far the run is towards its stopping point: ``step / max_steps``, or the
elapsed fraction of the time budget, whichever is further (see ``Trainer``). So a cosine schedule
reaches its floor exactly when a time-budgeted run ends, whatever the machine's speed.

The schedule's own state (the plateau's best value, patience counter and cuts) is plain JSON,
saved in every checkpoint.
"""

from __future__ import annotations

import math

from rnnkit.training.config import ScheduleConfig


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warmup: 1/W, 2/W, ..., 1 over the first W steps (step counts from 0)."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


def cosine_factor(progress: float, min_ratio: float) -> float:
    """Half a cosine from 1 (progress 0) down to ``min_ratio`` (progress 1)."""
    p = min(max(progress, 0.0), 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))


class LearningRateSchedule:
    """The factor on the base learning rate, from the step, the progress and evaluations."""

    def __init__(self, config: ScheduleConfig):
        self.config = config
        self.plateau_scale = 1.0
        self.plateau_best: float | None = None
        self.plateau_bad_evaluations = 0

    def factor(self, step: int, progress: float) -> float:
        warmup = warmup_factor(step, self.config.warmup_steps)
        if self.config.name == "cosine":
            return warmup * cosine_factor(progress, self.config.min_lr_ratio)
        if self.config.name == "plateau":
            return warmup * self.plateau_scale
        return warmup

    def after_evaluation(self, metric: float) -> bool:
        """Record a validation loss (lower is better); True when the rate was just cut."""
        if self.config.name != "plateau":
            return False
        if self.plateau_best is None or metric < self.plateau_best:
            self.plateau_best = metric
            self.plateau_bad_evaluations = 0
            return False
        self.plateau_bad_evaluations += 1
        if self.plateau_bad_evaluations < self.config.plateau_patience:
            return False  # the cut comes at the patience-th, as early stopping's stop does
        self.plateau_scale *= self.config.plateau_factor
        self.plateau_bad_evaluations = 0
        return True

    def state_dict(self) -> dict:
        return {
            "plateau_scale": self.plateau_scale,
            "plateau_best": self.plateau_best,
            "plateau_bad_evaluations": self.plateau_bad_evaluations,
        }

    def load_state_dict(self, state: dict) -> None:
        self.plateau_scale = float(state["plateau_scale"])
        best = state["plateau_best"]
        self.plateau_best = None if best is None else float(best)
        self.plateau_bad_evaluations = int(state["plateau_bad_evaluations"])
