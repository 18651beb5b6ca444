"""The character language model's configuration, and its presets.

    config = resolve_config("quick", {"model.hidden_size": 512})   # preset, then overrides

A preset is a partial configuration, section by section, laid over the defaults of the
dataclasses; explicit overrides (the CLI's flags) go on top. The resolved configuration is
written to ``config.json`` in the run directory.

Presets:

    quick      the README's first command: <= 10 minutes on 2 CPU cores, sample included;
               2x256, lngru on a CPU where rnnkit's compiled loops run, else lstm
               (:func:`quick_cell`)
    char-rnn   Karpathy's char-rnn defaults: 2x128 LSTM, one-hot input, seq 50, batch 50,
               RMSprop 2e-3 (decay 0.95), clip 5, evaluate every 1000 steps. Departure: a
               constant rate (char-rnn decays it by 0.97 per epoch after epoch 10) and a stop
               after 50 epochs' worth of steps on the bundled corpus
    large      hours: the best quality rnnkit reaches on 2 cores
    smoke      a few steps on a tiny slice of the corpus with a tiny model (tests, --dry-run)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.data.batching import DEFAULT_SPLIT
from rnnkit.data.corpora import DEFAULT_DATASET
from rnnkit.data.text_stream import DECODE_ERRORS, DEFAULT_ENCODING, check_decoding
from rnnkit.models.language_model import LanguageModelConfig
from rnnkit.nn import native
from rnnkit.options import option
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
    config_to_dict,
    merge_sections,
)
from rnnkit.training.devices import resolve_device

REPORTING = "stopping and reporting"  # the help group of the sample's and diagnostics' flags


@dataclass
class DataConfig:
    """Where the text comes from and how it is cut: ``source`` is a data set name or a path;
    ``split`` the (train, val, test) fractions; ``seq_len`` the TBPTT chunk length ``T``;
    ``batch_size`` the number of parallel streams ``B``; ``max_chars`` keeps only the first
    characters of the text (None: all); ``encoding`` and ``decode_errors`` say how its files
    are decoded (``rnnkit.data.text_stream``)."""

    source: str = option(
        DEFAULT_DATASET,
        "a data set name (shakespeare, c-code, abc-music) or a text file or directory",
        name="data",
        metavar="PATH|NAME",
    )
    split: tuple[float, float, float] = DEFAULT_SPLIT
    seq_len: int = option(100, "TBPTT chunk length", metavar="T", minimum=1)
    batch_size: int = option(64, "parallel streams", metavar="B", minimum=1)
    max_chars: int | None = option(None, "use the first N only", minimum=1, none="all")
    encoding: str = option(
        DEFAULT_ENCODING, "the text files' encoding (a Python codec name)", metavar="NAME"
    )
    decode_errors: str = option(
        "strict",
        "bytes that do not decode: stop (strict), put U+FFFD (replace) or drop them (skip)",
        choices=DECODE_ERRORS,
    )

    def validate(self) -> None:
        if self.max_chars is not None and self.max_chars < 3:
            raise ValueError(f"max_chars must be at least 3, got {self.max_chars}")
        check_decoding(self.encoding, self.decode_errors)


@dataclass
class SamplingConfig:
    """The sample written at each evaluation: ``prime`` ("" means a newline, or the first
    character of the vocabulary if the text has no newline), ``length`` new characters."""

    prime: str = option(
        "",
        'start of the sample written at each evaluation ("": a newline)',
        metavar="TEXT",
        group=REPORTING,
    )
    length: int = option(
        300, "characters in each sample", name="sample-length", minimum=1, group=REPORTING
    )
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    seed: int = 0

    def validate(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0 (0 = greedy), got {self.temperature}")


@dataclass
class DiagnosticsConfig:
    """Gradient diagnostics while training (``--diagnose-every N``, see rnnkit.diagnostics):
    every ``every`` steps (0: never), on ``batch_size`` streams of ``seq_len`` characters of the
    validation text, with the cross-entropy at the last step (``loss="last"``) or summed over
    every step (``"sum"``)."""

    every: int = option(
        0,
        "every N steps log gradient flow through time, W_hh spectra and gate saturation to "
        "metrics.jsonl and TensorBoard; 0: off (see docs/diagnostics.md)",
        name="diagnose-every",
        minimum=0,
        group=REPORTING,
    )
    seq_len: int = 200
    batch_size: int = 8
    loss: str = "last"

    def validate(self) -> None:
        if self.seq_len < 2 or self.batch_size < 1:
            raise ValueError(
                f"diagnostics need seq_len >= 2 and batch_size >= 1, got {self.seq_len} and "
                f"{self.batch_size}"
            )
        if self.loss not in ("last", "sum"):
            raise ValueError(f"unknown diagnostics loss {self.loss!r}; allowed: last, sum")


@dataclass
class CharLMConfig(RunConfig):
    """Everything a character-LM run needs; ``config.json`` holds it, resolved."""

    data: DataConfig = field(default_factory=DataConfig)
    model: LanguageModelConfig = field(default_factory=LanguageModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)


PRESETS: dict[str, dict] = {
    "quick": {  # the cell: lstm where quick_cell does not choose lngru
        "data": {"seq_len": 100, "batch_size": 32},
        "model": {"cell": "lstm", "hidden_size": 256, "num_layers": 2, "embedding": "learned"},
        "optimizer": {"name": "adam", "lr": 3e-3},
        "schedule": {"name": "cosine", "warmup_steps": 200, "min_lr_ratio": 0.05},
        "trainer": {
            "time_budget": 560.0,
            "eval_every": 500,
            "log_every": 50,
            "precision": "auto",
            "adapt_threads": True,
        },
    },
    "char-rnn": {
        "data": {"seq_len": 50, "batch_size": 50},
        "model": {"cell": "lstm", "hidden_size": 128, "num_layers": 2, "embedding": "onehot"},
        "optimizer": {"name": "rmsprop", "lr": 2e-3, "alpha": 0.95},
        "schedule": {"name": "constant"},
        "trainer": {"max_steps": 91_000, "time_budget": None, "eval_every": 1000},
    },
    "large": {
        "data": {"seq_len": 128, "batch_size": 64},
        "model": {"cell": "lstm", "hidden_size": 768, "num_layers": 2, "dropout": 0.2},
        "optimizer": {"name": "adamw", "lr": 2e-3, "weight_decay": 0.01},
        "schedule": {"name": "cosine", "warmup_steps": 500, "min_lr_ratio": 0.02},
        "trainer": {
            "time_budget": 4 * 3600.0,
            "eval_every": 2000,
            "early_stopping_patience": 6,
            "precision": "auto",
            "adapt_threads": True,
        },
    },
    "smoke": {
        "data": {"seq_len": 16, "batch_size": 4, "max_chars": 4000},
        "model": {"cell": "lstm", "hidden_size": 16, "num_layers": 1},
        "optimizer": {"name": "adam", "lr": 1e-2},
        "schedule": {"name": "constant"},
        "trainer": {
            "max_steps": 6,
            "time_budget": None,
            "eval_every": 3,
            "log_every": 1,
            "tensorboard": False,
        },
        "sampling": {"length": 40},
    },
}
DEFAULT_PRESET = "quick"


def resolve_config(preset: str | None = DEFAULT_PRESET, overrides: dict | None = None):
    """Defaults, then ``preset`` (None: none), then ``overrides`` (dotted keys); validated."""
    values = config_to_dict(CharLMConfig())
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; allowed: {', '.join(PRESETS)}")
        values = merge_sections(values, PRESETS[preset])
    config = apply_overrides(CharLMConfig.from_dict(values), overrides or {})
    if preset == "quick" and "model.cell" not in (overrides or {}):
        config = apply_overrides(config, {"model.cell": quick_cell(config.trainer.device)})
    return config.validate()


def quick_cell(device: str) -> str:
    """The ``quick`` preset's core on ``device`` (a ``--device`` name): ``lngru`` where the run
    trains on the CPU and rnnkit's compiled loops run there, else ``lstm``.

    In the preset's 10 minutes ``lngru`` ended 0.015-0.038 nats/char below ``lstm`` on every
    CPU measured, and under 1.45 on the AVX2-only EPYC where ``lstm`` was not (1.419 against
    1.457; docs/cells.md). Without the compiled loops (a GPU, no C++ compiler,
    ``RNNKIT_NATIVE=0``) it runs a Python loop several times slower than the fused ``lstm``."""
    on_cpu = resolve_device("auto").type == "cpu" if device == "auto" else device == "cpu"
    return "lngru" if on_cpu and native.expected() else "lstm"
