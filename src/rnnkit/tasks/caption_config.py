"""The configuration of an image-captioning run (``rnnkit train caption``).

    config = resolve_config({"data.dataset": "emoji", "model.conditioning": "init"})

Defaults (the dataclasses below), then overrides with dotted keys (the CLI's flags); the
resolved configuration is written to ``config.json`` in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rnnkit.models.captioner import CELLS, CONDITIONINGS
from rnnkit.models.recurrent import check_cell
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)
from rnnkit.training.config import SelectionConfig as BaseSelectionConfig


@dataclass
class CaptionDataConfig:
    """Which images and captions, and how training sees them.

    ``dataset``: ``emoji`` or a folder with ``captions.tsv`` (see ``rnnkit.data.captions``).
    ``split_seed``: the seed of the split by emoji (0: the documented one). ``min_count``: a
    training-caption word seen fewer times is ``<unk>``. ``augment_shift``: each training
    image is moved by a random whole number of pixels in [-s, s] down and right, the uncovered
    border white (0: off). Images are never flipped: a mirrored "leftwards arrow", flag or
    letter no longer matches its name.
    """

    dataset: str = "emoji"
    split_seed: int = 0
    min_count: int = 1
    batch_size: int = 32
    augment_shift: int = 4

    def validate(self) -> None:
        for name in ("min_count", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.augment_shift < 0:
            raise ValueError(f"augment_shift must be >= 0 pixels, got {self.augment_shift}")


@dataclass
class CaptionModelConfig:
    """The fields of ``CaptionerConfig`` that do not depend on the data. The CNN
    average-pools the image by ``input_pool``, then has ``conv_blocks`` blocks of
    ``base_channels``, twice that, four times that ... channels, so the default feature map
    of a 64x64 image is 8x8 positions of 128 features."""

    conditioning: str = "attention"
    cell: str = "lstm"
    embedding_size: int = 64
    hidden_size: int = 256
    base_channels: int = 32
    conv_blocks: int = 3
    input_pool: int = 2
    attention_size: int = 128
    dropout: float = 0.2

    def validate(self) -> None:
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(
                f"unknown conditioning {self.conditioning!r}; allowed: {', '.join(CONDITIONINGS)}"
            )
        check_cell(self.cell, CELLS, "the captioner")
        for name in (
            "embedding_size",
            "hidden_size",
            "attention_size",
            "base_channels",
            "conv_blocks",
            "input_pool",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def channels(self) -> tuple[int, ...]:
        return tuple(self.base_channels * 2**block for block in range(self.conv_blocks))


@dataclass
class DecodingConfig:
    """How the test split is captioned at the end: greedy and beam search with ``beam_size``
    beams and GNMT's ``length_penalty`` (0: plain log-probability); at most ``max_length``
    words."""

    beam_size: int = 3
    length_penalty: float = 0.0
    max_length: int = 20

    def validate(self) -> None:
        for name in ("beam_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.length_penalty < 0:
            raise ValueError(f"length_penalty must be >= 0, got {self.length_penalty}")


SELECTIONS = ("loss", "bleu")


@dataclass
class SelectionConfig(BaseSelectionConfig):
    """Which validation figure picks the best checkpoint (the Trainer minimises it):
    ``loss``, the teacher-forced cross-entropy per word; or ``bleu``, ``100 - BLEU`` of greedy
    captions (``val_bleu_gap``). On the emoji the two disagree: names of unseen emoji are
    mostly unseen words, so the validation loss turns up early while BLEU still climbs."""

    ALLOWED: ClassVar[tuple[str, ...]] = SELECTIONS


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=600.0, eval_every=200, log_every=50)


@dataclass
class CaptionConfig(RunConfig):
    """Everything a captioning run needs; ``config.json`` holds it, resolved."""

    data: CaptionDataConfig = field(default_factory=CaptionDataConfig)
    model: CaptionModelConfig = field(default_factory=CaptionModelConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    selection: SelectionConfig = field(default_factory=SelectionConfig)


def resolve_config(overrides: dict | None = None) -> CaptionConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(CaptionConfig(), overrides or {}).validate()
