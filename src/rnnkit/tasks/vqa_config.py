"""The configuration of a visual-question-answering run (``rnnkit train vqa``).

    config = resolve_config({"model.attention": "none", "trainer.max_steps": 500})

The scenes (``rnnkit.data.vqa_scenes``) are made from the ``digits`` images: fetched by
``rnnkit data fetch digits``, or the file ``--images`` names (a copy of ``digits.csv.gz``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.data.vqa_scenes import POSITIONS, SceneRules
from rnnkit.generation.decoding import DecodingConfig
from rnnkit.models.vqa import VQAModelConfig
from rnnkit.options import option
from rnnkit.tasks.classify_config import BaselinesConfig
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    SelectionConfig,
    TrainerConfig,
    apply_overrides,
)


@dataclass
class VQADataConfig:
    """Which digit images, and how many scenes of which grid (``rnnkit.data.vqa_scenes``)."""

    images: str | None = option(
        None, "a digits.csv.gz to read in place of the fetched one", metavar="FILE", none="fetched"
    )
    grid: int = option(3, "cells a side of a scene", choices=tuple(POSITIONS))
    train_scenes: int = option(4000, "training scenes (5 questions each)", metavar="N", minimum=1)
    eval_scenes: int = option(500, "scenes of val, test and novel, each", metavar="N", minimum=1)
    seed: int = option(0, "seed of the scenes and questions", name="data-seed")
    batch_size: int = option(64, "questions per training step", metavar="B", minimum=1)

    def rules(self) -> SceneRules:
        return SceneRules(self.grid, self.train_scenes, self.eval_scenes, self.seed)

    def validate(self) -> None:
        self.rules().validate()


# ``loss`` (answer cross-entropy + pointing) or ``error`` (1 - greedy accuracy) on val
VQASelection = SelectionConfig.allowing("loss", "error")


def _decoding_defaults() -> DecodingConfig:
    """Beam 3 at test, answers of at most 3 words, two attention maps."""
    return DecodingConfig(3, 0.0, max_length=3, heatmaps=2)


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(max_steps=3000, time_budget=None, eval_every=500, log_every=50)


@dataclass
class VQAConfig(RunConfig):
    """Everything a VQA run needs; ``config.json`` holds it, resolved."""

    data: VQADataConfig = field(default_factory=VQADataConfig)
    model: VQAModelConfig = field(default_factory=VQAModelConfig)
    decoding: DecodingConfig = field(default_factory=_decoding_defaults)
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=3e-3))
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    selection: VQASelection = field(default_factory=VQASelection)
    baselines: BaselinesConfig = field(default_factory=BaselinesConfig)


def resolve_config(overrides: dict | None = None) -> VQAConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(VQAConfig(), overrides or {}).validate()
