"""The configuration of a classification run (``rnnkit train classify``).

    config = resolve_config({"data.dataset": "names", "model.bidirectional": True})

Defaults (the dataclasses below), then overrides with dotted keys (the CLI's flags); the
resolved configuration is written to ``config.json`` in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rnnkit.models.classifier import CELLS, EMBEDDINGS
from rnnkit.models.pooling import POOLINGS, check_points
from rnnkit.models.recurrent import check_cell
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)
from rnnkit.training.config import SelectionConfig as BaseSelectionConfig

LEVELS = ("char", "word")
SELECTIONS = ("loss", "error")


@dataclass
class ClassifyDataConfig:
    """Which examples, and how text becomes tokens.

    ``dataset``: names, sentiment, sentiment-tweets, vowels, or a CSV file (text,label).
    ``split_seed``: the seed of the data set's train/val/test split (0: the published one).
    ``level``: ``char`` or ``word`` tokens for text (None: characters for names, words for
    other text). ``min_count``: a training-split token seen fewer times is ``<unk>`` (None: 1
    for characters, 2 for words). ``max_length``: keep only the first tokens (None: all).
    """

    dataset: str = "names"
    split_seed: int = 0
    level: str | None = None
    min_count: int | None = None
    max_length: int | None = None
    batch_size: int = 32

    def validate(self) -> None:
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; allowed: {', '.join(LEVELS)}")
        for name in ("min_count", "max_length", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")


@dataclass
class ClassifyModelConfig:
    """The fields of ``ClassifierConfig`` that do not depend on the data."""

    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    pooling: str = "last"
    embedding: str = "learned"
    embedding_size: int = 64
    dropout: float = 0.0
    embedding_dropout: float = 0.0
    input_noise: float = 0.0
    random_crop: float = 0.0  # training windows cut away up to this share of a sequence
    input_shift: float = 0.0  # one Gaussian offset per sequence, vectors only
    conv_channels: int = 0  # a convolutional front end of this many channels (0: none)
    conv_width: int = 3  # odd: the steps each convolution reads
    conv_layers: int = 1
    time_warp: float = 0.0  # training sequences resampled to (1 +- w) x their length
    pool_points: int = 5  # K, the evenly spaced steps `points` pooling reads
    label_smoothing: float = 0.0  # share of the training target spread over all classes

    def validate(self) -> None:
        check_cell(self.cell, CELLS, "the classifier")
        for name, value, allowed in (
            ("pooling", self.pooling, POOLINGS),
            ("embedding", self.embedding, EMBEDDINGS[:2]),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
        for name in ("hidden_size", "num_layers", "embedding_size", "conv_width", "conv_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.conv_channels < 0:
            raise ValueError(
                f"conv_channels must be >= 0 (0: no convolution), got {self.conv_channels}"
            )
        if self.conv_width % 2 == 0:
            raise ValueError(f"conv_width must be odd (a centred window), got {self.conv_width}")
        check_points(self.pool_points)
        if self.pool_points != 5 and self.pooling != "points":
            raise ValueError(
                f"pool_points applies to pooling 'points' only (pooling is {self.pooling!r})"
            )
        for name in ("dropout", "embedding_dropout", "random_crop", "time_warp", "label_smoothing"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("input_noise", "input_shift"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass
class BaselinesConfig:
    """Whether to fit the baselines (majority, logistic regression) before training."""

    enabled: bool = True

    def validate(self) -> None:
        pass


@dataclass
class SelectionConfig(BaseSelectionConfig):
    """Which validation figure picks the best checkpoint (the Trainer's ``eval_metric``):
    ``loss``, the mean cross-entropy, smooth even on a small validation split (vowels has 27
    utterances, where many checkpoints tie at 0 errors); or ``error``, 1 - accuracy (for a
    tagger with BIO tags, 1 - entity F1)."""

    ALLOWED: ClassVar[tuple[str, ...]] = SELECTIONS


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=300.0, eval_every=200, log_every=50)


@dataclass
class ClassifyConfig(RunConfig):
    """Everything a classification run needs; ``config.json`` holds it, resolved."""

    data: ClassifyDataConfig = field(default_factory=ClassifyDataConfig)
    model: ClassifyModelConfig = field(default_factory=ClassifyModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)


def resolve_config(overrides: dict | None = None) -> ClassifyConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(ClassifyConfig(), overrides or {}).validate()
