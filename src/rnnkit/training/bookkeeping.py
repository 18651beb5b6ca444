"""What the ``Trainer`` counts and reports: ``TrainerState`` (its counters, saved in every
checkpoint), ``StepWindow`` (sums over the steps since the last "train" record of
metrics.jsonl) and ``TrainResult`` (how a ``fit`` ended)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch


@dataclass
class TrainerState:
    """The trainer's counters, saved in every checkpoint."""

    step: int = 0
    tokens: int = 0
    elapsed: float = 0.0  # wall seconds of the run so far (evaluations included)
    train_seconds: float = 0.0  # seconds spent in training steps only
    best_metric: float | None = None
    best_step: int | None = None
    evaluations_without_improvement: int = 0
    clip_count: int = 0
    last_eval_step: int | None = None
    last_metrics: dict = field(default_factory=dict)
    spent_budget: float | None = None  # the time budget the run stopped for: resumed, it stops


@dataclass
class TrainResult:
    """How a ``fit`` ended."""

    run_dir: Path
    steps: int
    stop_reason: str
    tokens: int
    tokens_per_s: float
    train_seconds: float
    elapsed: float
    metrics: dict  # the last evaluation's
    best_metric: float | None
    best_step: int | None
    clip_count: int
    sample: str | None = None
    precision: str = "fp32"  # what the steps ran in (``auto`` resolved)

    @property
    def clip_fraction(self) -> float:
        return self.clip_count / self.steps if self.steps else 0.0


class StepWindow:
    """Sums over the steps since the last "train" record."""

    def __init__(self):
        self._recent: list[tuple[int, float]] = []  # (tokens, seconds) of the last steps
        self._reset()

    def _reset(self):
        self.steps = self.clipped = self.tokens = self.skipped = 0
        self.loss = self.grad_norm = self.seconds = 0.0

    SUMS = ("steps", "clipped", "tokens", "loss", "grad_norm", "seconds", "skipped")

    def sums(self) -> dict:
        """The sums so far, for a checkpoint: a run resumed between two records writes the
        next one over the same steps as a run that never stopped."""
        return {name: getattr(self, name) for name in self.SUMS}

    def load(self, sums: dict) -> None:
        """Go on from ``sums()`` (an empty dict, from a checkpoint older than it: from zero)."""
        self._reset()
        for name in self.SUMS:
            setattr(self, name, sums.get(name, getattr(self, name)))

    def add(self, loss: float, grad_norm: float, tokens: int, seconds: float, clipped: bool):
        self.steps += 1
        self.loss += loss
        if math.isfinite(grad_norm):
            self.grad_norm += grad_norm
            self.clipped += int(clipped)
        else:  # inf or NaN gradients: fp16's scaler skipped this update (and lowered its scale)
            self.skipped += 1
        self.tokens += tokens
        self.seconds += seconds
        self._recent = [*self._recent[-49:], (tokens, seconds)]

    def recent_seconds_per_step(self) -> float:
        return sum(s for _, s in self._recent) / len(self._recent) if self._recent else 0.0

    def recent_tokens_per_s(self) -> float:
        seconds = sum(s for _, s in self._recent)
        return sum(t for t, _ in self._recent) / seconds if seconds else 0.0

    def record(self, step: int, lr: float) -> dict:
        n, taken = max(1, self.steps), self.steps - self.skipped
        record = {
            "kind": "train",
            "step": step,
            "loss": self.loss / n,
            "lr": lr,
            # the mean over the steps taken: None where the scaler skipped them all
            "grad_norm": self.grad_norm / taken if taken else None,
            "clip_fraction": self.clipped / n,
            "tokens_per_s": self.tokens / self.seconds if self.seconds else 0.0,
        }
        if self.skipped:
            record["skipped_steps"] = self.skipped
        self._reset()
        return record


def gradient_norm(parameters: Iterable[torch.nn.Parameter]) -> float:
    norms = [p.grad.detach().norm() for p in parameters if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0
