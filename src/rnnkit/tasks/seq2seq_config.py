"""The configuration of a translation run (``rnnkit train seq2seq``).

    config = resolve_config({"data.dataset": "bible", "model.attention": "none"})

Defaults (the dataclasses below), then overrides with dotted keys (the CLI's flags); the
resolved configuration is written to ``config.json`` in the run directory. The model's own
config (``rnnkit.models.seq2seq.Seq2SeqConfig``) is the ``model`` section as it is; the
vocabularies' sizes go to the model when the data has been read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rnnkit.generation.decoding import DecodingConfig
from rnnkit.models.seq2seq import Seq2SeqConfig
from rnnkit.options import option
from rnnkit.tasks.encoder_decoder import BleuSelection
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)

TEACHER_FORCING_SCHEDULES = ("constant", "linear", "inverse_sigmoid")
FORCING = "teacher forcing (scheduled sampling)"


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

    dataset: str = option(
        "bible", "the Bible or a file of source<TAB>target lines", metavar="bible|FILE.tsv"
    )
    direction: str | None = option(
        None, "en-es or es-en; for a file src-tgt or tgt-src", metavar="D", none="the first"
    )
    max_words: int | None = option(20, "longest side, in words", metavar="N", minimum=1)
    split_seed: int = option(0, "seed of the split", metavar="S")
    val_size: int = option(1000, "validation pairs (at most 5%)", metavar="N", minimum=1)
    test_size: int = option(1000, "test pairs (at most 5%)", metavar="N", minimum=1)
    lowercase: bool = option(True, "lowercase the text (the scores too)")
    min_count: int = option(2, "rarer training words are <unk>", metavar="N", minimum=1)
    batch_size: int = option(32, metavar="B", minimum=1)


@dataclass
class TeacherForcingConfig:
    """The probability ``r`` of feeding the gold previous token, by training step ``i``
    (scheduled sampling, Bengio et al. 2015, section 2.4)::

        constant          r = start
        linear            r = start + (end - start) * min(1, i / steps)
        inverse_sigmoid   r = end + (start - end) * k / (k + exp(i / k)),  k = steps / ln(steps)
                          (so r is halfway from start to end near i = steps)
    """

    start: float = option(
        1.0, "ratio at the start", name="teacher-forcing", metavar="R", group=FORCING
    )
    end: float = option(
        1.0, "ratio at the end", name="teacher-forcing-end", metavar="R", group=FORCING
    )
    schedule: str = option(
        "constant",
        name="teacher-forcing-schedule",
        choices=TEACHER_FORCING_SCHEDULES,
        group=FORCING,
    )
    steps: int = option(
        5000,
        "steps of the schedule",
        name="teacher-forcing-steps",
        metavar="N",
        minimum=1,
        group=FORCING,
    )

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


def _decoding_defaults() -> DecodingConfig:
    """Beam 5, GNMT's alpha 0.6, at most ``10 + 2 * source tokens`` output tokens, three
    attention heatmaps."""
    return DecodingConfig(5, 0.6, max_length=10, max_length_ratio=2.0, heatmaps=3)


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=900.0, eval_every=250, log_every=50)


@dataclass
class Seq2SeqTaskConfig(RunConfig):
    """Everything a translation run needs; ``config.json`` holds it, resolved."""

    data: Seq2SeqDataConfig = field(default_factory=Seq2SeqDataConfig)
    model: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)
    teacher_forcing: TeacherForcingConfig = field(default_factory=TeacherForcingConfig)
    decoding: DecodingConfig = field(default_factory=_decoding_defaults)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    selection: BleuSelection = field(default_factory=BleuSelection)


def resolve_config(overrides: dict | None = None) -> Seq2SeqTaskConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(Seq2SeqTaskConfig(), overrides or {}).validate()
