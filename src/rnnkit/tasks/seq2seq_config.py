"""The configuration of a translation run (``rnnkit train seq2seq``).

    config = resolve_config({"data.dataset": "bible", "model.attention": "none"})

Defaults (the dataclasses below), then overrides with dotted keys (the CLI's flags); the
resolved configuration is written to ``config.json`` in the run directory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from rnnkit.models.recurrent import check_cell
from rnnkit.models.seq2seq import CELLS
from rnnkit.nn.attention import ATTENTIONS
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)
from rnnkit.training.config import SelectionConfig as BaseSelectionConfig

TEACHER_FORCING_SCHEDULES = ("constant", "linear", "inverse_sigmoid")
SELECTIONS = ("loss", "bleu")


@dataclass
class Seq2SeqDataConfig:
    """Which sentence pairs, and how text becomes tokens (``rnnkit.data.parallel``).

    ``dataset``: ``bible`` or a file of ``source<TAB>target`` lines. ``direction``: ``en-es``
    or ``es-en`` for the Bible, ``src-tgt`` or ``tgt-src`` for a file (None: the first).
    ``max_words``: keep pairs whose sides both have at most this many words (None: all).
    ``val_size``, ``test_size``: pairs held out (each at most 5% of the pairs).
    ``min_count``: a training-split word seen fewer times is ``<unk>``. ``lowercase``: lower
    the text before tokenising (the scores are then on lowercased text too).
    """

    dataset: str = "bible"
    direction: str | None = None
    max_words: int | None = 20
    split_seed: int = 0
    val_size: int = 1000
    test_size: int = 1000
    lowercase: bool = True
    min_count: int = 2
    batch_size: int = 32

    def validate(self) -> None:
        for name in ("max_words", "val_size", "test_size", "min_count", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")


@dataclass
class Seq2SeqModelConfig:
    """The fields of ``Seq2SeqConfig`` that do not depend on the data."""

    attention: str = "multiplicative"
    cell: str = "lstm"
    embedding_size: int = 96
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.1

    def validate(self) -> None:
        if self.attention not in ATTENTIONS:
            raise ValueError(
                f"unknown attention {self.attention!r}; allowed: {', '.join(ATTENTIONS)}"
            )
        check_cell(self.cell, CELLS, "the seq2seq model")
        for name in ("embedding_size", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass
class TeacherForcingConfig:
    """The probability ``r`` of feeding the gold previous token, by training step ``i``
    (scheduled sampling, Bengio et al. 2015, section 2.4)::

        constant          r = start
        linear            r = start + (end - start) * min(1, i / steps)
        inverse_sigmoid   r = end + (start - end) * k / (k + exp(i / k)),  k = steps / ln(steps)
                          (so r is halfway from start to end near i = steps)
    """

    start: float = 1.0
    end: float = 1.0
    schedule: str = "constant"
    steps: int = 5000

    def validate(self) -> None:
        for name in ("start", "end"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(
                    f"teacher forcing {name} must be in [0, 1], got {getattr(self, name)}"
                )
        if self.schedule not in TEACHER_FORCING_SCHEDULES:
            raise ValueError(
                f"unknown teacher forcing schedule {self.schedule!r}; allowed: "
                f"{', '.join(TEACHER_FORCING_SCHEDULES)}"
            )
        if self.steps < 2:
            raise ValueError(f"teacher forcing steps must be at least 2, got {self.steps}")

    def ratio(self, step: int) -> float:
        if self.schedule == "constant":
            return self.start
        if self.schedule == "linear":
            return self.start + (self.end - self.start) * min(1.0, step / self.steps)
        k = self.steps / math.log(self.steps)
        exponent = min(step / k, 700.0)  # exp overflows past ~709
        return self.end + (self.start - self.end) * k / (k + math.exp(exponent))


@dataclass
class DecodingConfig:
    """How the test split is translated at the end: greedy, and beam search with
    ``beam_size`` and GNMT's ``length_penalty`` alpha. ``max_length``: at most
    ``max_length_ratio * source tokens + 10`` output tokens. ``heatmaps``: attention heatmaps
    drawn of the first test pairs' greedy translations."""

    beam_size: int = 5
    length_penalty: float = 0.6
    max_length_ratio: float = 2.0
    heatmaps: int = 3

    def validate(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be a positive integer, got {self.beam_size}")
        if self.length_penalty < 0:
            raise ValueError(f"length_penalty must be >= 0, got {self.length_penalty}")
        if self.heatmaps < 0:
            raise ValueError(f"heatmaps must be >= 0, got {self.heatmaps}")
        if self.max_length_ratio <= 0:
            raise ValueError(f"max_length_ratio must be > 0, got {self.max_length_ratio}")

    def max_length(self, source_tokens: int) -> int:
        return int(self.max_length_ratio * source_tokens) + 10


@dataclass
class SelectionConfig(BaseSelectionConfig):
    """Which validation figure picks the best checkpoint: ``loss`` (teacher-forced
    cross-entropy) or ``bleu`` (greedy BLEU on the validation split; minimised as 100 - BLEU)."""

    ALLOWED: ClassVar[tuple[str, ...]] = SELECTIONS


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=900.0, eval_every=250, log_every=50)


def _optimizer_defaults() -> OptimizerConfig:
    return OptimizerConfig(lr=2e-3)


@dataclass
class Seq2SeqTaskConfig(RunConfig):
    """Everything a translation run needs; ``config.json`` holds it, resolved."""

    data: Seq2SeqDataConfig = field(default_factory=Seq2SeqDataConfig)
    model: Seq2SeqModelConfig = field(default_factory=Seq2SeqModelConfig)
    teacher_forcing: TeacherForcingConfig = field(default_factory=TeacherForcingConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    optimizer: OptimizerConfig = field(default_factory=_optimizer_defaults)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    selection: SelectionConfig = field(default_factory=SelectionConfig)


def resolve_config(overrides: dict | None = None) -> Seq2SeqTaskConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(Seq2SeqTaskConfig(), overrides or {}).validate()
