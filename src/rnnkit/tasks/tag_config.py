"""The configuration of a tagging run (``rnnkit train tag``).

    config = resolve_config({"data.dataset": "ner", "model.char_features": True})

Defaults (the dataclasses below), then overrides with dotted keys (the CLI's flags); the
resolved configuration is written to ``config.json`` in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.models.recurrent import check_cell
from rnnkit.models.tagger import CELLS
from rnnkit.tasks.classify_config import BaselinesConfig, SelectionConfig
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)


@dataclass
class TagDataConfig:
    """Which sentences, and how words become ids.

    ``dataset``: pos, pos-oanc, ner, or a CoNLL file. ``split_seed``: the seed of the split.
    ``lowercase``: fold words to lowercase before the word vocabulary (the character
    features always see the word as written). ``min_count``: a training-split word seen fewer
    times is ``<unk>``. ``max_word_chars``: the character features read at most this many
    characters of a word (its first ones).
    """

    dataset: str = "ner"
    split_seed: int = 0
    lowercase: bool = False
    min_count: int = 2
    max_word_chars: int = 20
    batch_size: int = 16

    def validate(self) -> None:
        for name in ("min_count", "max_word_chars", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")


@dataclass
class TagModelConfig:
    """The fields of ``TaggerConfig`` that do not depend on the data."""

    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    embedding_size: int = 64
    char_features: bool = False
    char_embedding_size: int = 16
    char_hidden_size: int = 25
    dropout: float = 0.0
    crf: bool = False  # a linear-chain CRF output layer (BIO tags: constrained)

    def validate(self) -> None:
        check_cell(self.cell, CELLS, "the tagger")
        for name in (
            "hidden_size",
            "num_layers",
            "embedding_size",
            "char_embedding_size",
            "char_hidden_size",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=300.0, eval_every=200, log_every=50)


@dataclass
class TagConfig(RunConfig):
    """Everything a tagging run needs; ``config.json`` holds it, resolved."""

    data: TagDataConfig = field(default_factory=TagDataConfig)
    model: TagModelConfig = field(default_factory=TagModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)
    selection: SelectionConfig = field(default_factory=lambda: SelectionConfig("error"))


def resolve_config(overrides: dict | None = None) -> TagConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(TagConfig(), overrides or {}).validate()
