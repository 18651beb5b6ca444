"""The configuration of a tagging run (``rnnkit train tag``).

    config = resolve_config({"data.dataset": "ner", "model.char_features": True})

Defaults (the dataclasses below; the model's are ``rnnkit.models.tagger.TaggerConfig``), then
overrides with dotted keys (the CLI's flags, built from the ``option`` fields); the resolved
configuration is written to ``config.json`` in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.models.tagger import TaggerConfig
from rnnkit.options import option
from rnnkit.tasks.classify_config import BaselinesConfig, LabelledSelection
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)


@dataclass
class TagDataConfig:
    """Which sentences, and how words become ids. ``lowercase`` folds words before the word
    vocabulary (the character features always see the word as written)."""

    dataset: str = option(
        "ner", "pos, pos-oanc, ner or a CoNLL file", metavar="NAME|FILE", required=True
    )
    split_seed: int = option(0, "seed of the train/val/test split (0: the published one)")
    lowercase: bool = option(False, "fold words to lowercase for the word vocabulary")
    min_count: int = option(2, "rarer training words: <unk>", minimum=1)
    max_word_chars: int = option(20, "the character features read a word's first N", minimum=1)
    batch_size: int = option(16, metavar="B", minimum=1)


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=300.0, eval_every=200, log_every=50)


@dataclass
class TagConfig(RunConfig):
    """Everything a tagging run needs; ``config.json`` holds it, resolved."""

    data: TagDataConfig = field(default_factory=TagDataConfig)
    model: TaggerConfig = field(default_factory=TaggerConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    selection: LabelledSelection = field(default_factory=lambda: LabelledSelection("error"))


def resolve_config(overrides: dict | None = None) -> TagConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(TagConfig(), overrides or {}).validate()
