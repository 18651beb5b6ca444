"""The configuration of an image-captioning run (``rnnkit train caption``).

    config = resolve_config({"data.dataset": "emoji", "model.conditioning": "init"})

Defaults (the dataclasses below), then overrides with dotted keys (the CLI's flags); the
resolved configuration is written to ``config.json`` in the run directory. The model's own
config (``rnnkit.models.captioner.CaptionerConfig``) is the ``model`` section as it is; the
vocabulary's size and the images' go to the model when the data has been read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.generation.decoding import DecodingConfig
from rnnkit.models.captioner import CaptionerConfig
from rnnkit.options import option
from rnnkit.tasks.encoder_decoder import BleuSelection
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)


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

    dataset: str = option(
        "emoji", "FOLDER: images + captions.tsv", metavar="emoji|FOLDER", required=True
    )
    split_seed: int = option(0, "seed of the split", metavar="S")
    min_count: int = option(1, "rarer training words are <unk>", metavar="N", minimum=1)
    batch_size: int = option(32, metavar="B", minimum=1)
    augment_shift: int = option(
        4,
        "move training images by up to PX pixels (0: off); never flipped",
        metavar="PX",
        minimum=0,
    )


def _decoding_defaults() -> DecodingConfig:
    """Beam 3, no length penalty, at most 20 words, four attention maps."""
    return DecodingConfig(3, 0.0, max_length=20, heatmaps=4)


def _trainer_defaults() -> TrainerConfig:
    return TrainerConfig(time_budget=600.0, eval_every=200, log_every=50)


@dataclass
class CaptionConfig(RunConfig):
    """Everything a captioning run needs; ``config.json`` holds it, resolved."""

    data: CaptionDataConfig = field(default_factory=CaptionDataConfig)
    model: CaptionerConfig = field(default_factory=CaptionerConfig)
    decoding: DecodingConfig = field(default_factory=_decoding_defaults)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=_trainer_defaults)
    selection: BleuSelection = field(default_factory=BleuSelection)


def resolve_config(overrides: dict | None = None) -> CaptionConfig:
    """The defaults with ``overrides`` (dotted keys) applied, validated."""
    return apply_overrides(CaptionConfig(), overrides or {}).validate()
