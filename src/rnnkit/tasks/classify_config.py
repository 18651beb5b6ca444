"""The configuration of a classification run (``rnnkit train classify``).

    config = resolve_config({"data.dataset": "names", "model.bidirectional": True})

Defaults (the dataclasses below; the model's are ``rnnkit.models.classifier.ClassifierConfig``),
then overrides with dotted keys (the CLI's flags, built from the ``option`` fields); the
resolved configuration is written to ``config.json`` in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.models.classifier import ClassifierConfig
from rnnkit.options import option
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    SelectionConfig,
    TrainerConfig,
    apply_overrides,
)

LEVELS = ("char", "word")
# loss: the mean cross-entropy, smooth even on a small validation split (vowels has 27
# utterances, where many checkpoints tie at 0 errors); error: 1 - accuracy (for a tagger with
# BIO tags, 1 - entity F1)
LabelledSelection = SelectionConfig.allowing("loss", "error")


@dataclass
class ClassifyDataConfig:
    """Which examples, and how text becomes tokens (``min_count``: a training-split token
    seen fewer times is ``<unk>``)."""

    dataset: str = option(
        "names",
        "names, sentiment, sentiment-tweets, vowels or a CSV file (text,label)",
        metavar="NAME|FILE",
        required=True,
    )
    split_seed: int = option(0, "seed of the train/val/test split (0: the published one)")
    level: str | None = option(None, "tokens of text", choices=LEVELS, none="by data set")
    min_count: int | None = option(
        None, "rarer tokens: <unk>", minimum=1, none="1 for characters, 2 for words"
    )
    max_length: int | None = option(None, "keep the first N tokens", minimum=1, none="all")
    batch_size: int = option(32, metavar="B", minimum=1)

    def validate(self) -> None:
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; allowed: {', '.join(LEVELS)}")


@dataclass
class BaselinesConfig:
    """Whether to fit the baselines before training (classify and tag)."""

    enabled: bool = option(True, "fit the baselines before training", name="baselines", group="run")


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=300.0, eval_every=200, log_every=50)


@dataclass
class ClassifyConfig(RunConfig):
    """Everything a classification run needs; ``config.json`` holds it, resolved."""

    data: ClassifyDataConfig = field(default_factory=ClassifyDataConfig)
    model: ClassifierConfig = field(default_factory=ClassifierConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    selection: LabelledSelection = field(default_factory=LabelledSelection)


def resolve_config(overrides: dict | None = None) -> ClassifyConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(ClassifyConfig(), overrides or {}).validate()
