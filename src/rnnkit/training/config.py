"""Typed configuration for training: dataclasses with defaults, overridden by presets and flags.

A run's configuration is a tree of dataclasses. It is resolved in three layers::

    defaults (the dataclasses below)  <-  a preset (a dict of sections)  <-  explicit CLI flags

``apply_overrides(config, {"optimizer.lr": 1e-3, ...})`` applies the last two layers;
``config_to_dict`` / ``config_from_dict`` turn the tree into JSON and back, so the resolved
configuration is written into the run directory and read again on ``--resume``.

This module holds the sections every task shares (optimizer, schedule, trainer); a task adds
its own (data, model, sampling) in the same style.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

import torch

from rnnkit.options import config_fields, option, validate_section
from rnnkit.training.devices import DEVICE_CHOICES, check_device_name

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine", "plateau")
PRECISIONS = ("fp32", "bf16", "fp16", "auto")


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AVX512-BF16 or AMX). Without
    it, torch emulates bf16 and an autocast step runs several times slower than fp32 (a
    quick-preset step here: 7k tokens/s in bf16 on an AVX-512 Xeon without BF16, against
    25-29k on one with it)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    for name in checks:
        check = getattr(torch.cpu, name, None)
        try:
            if check is not None and check():
                return True
        except RuntimeError:  # pragma: no cover - a build without the CPU probe
            continue
    return False


def bf16_kernels() -> bool:
    """Whether torch's oneDNN kernels can compute in bf16 on this CPU at all (natively or
    emulated: AVX-512 or newer). On an AVX2-only processor they cannot, and under bf16 autocast
    ``torch.nn.LSTM`` fails with "could not create a primitive descriptor for the LSTM forward
    propagation primitive"."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - a build without the probe
        return True


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """``fp32``, ``bf16`` or ``fp16`` on a device of type ``device`` (cpu, cuda, mps).

    CPU: ``auto`` is bf16 where the CPU has native bf16 (see :func:`native_bf16`), else fp32;
    ``bf16`` on a CPU whose kernels cannot run it (:func:`bf16_kernels`) and ``fp16`` are a
    ValueError that says so. CUDA: ``auto`` is bf16 where the GPU supports it, else fp16 (with
    a gradient scaler). MPS: fp32 only."""
    _check_choice("precision", precision, PRECISIONS)
    if device == "cuda":
        if precision == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if precision == "bf16" and not torch.cuda.is_bf16_supported():
            raise ValueError("precision bf16 needs a GPU that supports it; use fp16 or auto")
        return precision
    if device != "cpu":
        if precision in ("bf16", "fp16"):
            raise ValueError(f"precision {precision} is not supported on {device}; use fp32")
        return "fp32"
    if precision == "auto":
        return "bf16" if native_bf16() else "fp32"
    if precision == "fp16":
        choices = "fp32, bf16 or auto" if bf16_kernels() else "fp32 or auto"
        raise ValueError(f"precision fp16 needs a CUDA device; on the CPU use {choices}")
    if precision == "bf16" and not bf16_kernels():
        raise ValueError(
            "precision bf16 needs a CPU on which torch's oneDNN kernels run bf16 (AVX-512 or "
            "newer); this one has none, and torch's LSTM fails there under bf16. Use fp32, or "
            "auto (bf16 only where the CPU has it natively)"
        )
    return precision


@dataclass
class OptimizerConfig:
    """Which optimizer and its hyperparameters (``betas`` for Adam/AdamW, ``alpha`` for RMSprop,
    ``momentum`` for SGD and RMSprop)."""

    name: str = option("adam", name="optimizer", choices=OPTIMIZERS)
    lr: float = option(2e-3, "learning rate", metavar="LR")
    weight_decay: float = option(0.0, "decoupled for adamw, L2 for the others", metavar="W")
    betas: tuple[float, float] = (0.9, 0.999)
    alpha: float = 0.95
    momentum: float = 0.0
    eps: float = 1e-8

    def validate(self) -> None:
        _check_choice("optimizer", self.name, OPTIMIZERS)
        _check_positive("lr", self.lr)
        _check_non_negative("weight_decay", self.weight_decay)
        _check_non_negative("momentum", self.momentum)
        _check_positive("eps", self.eps)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas}")
        if not 0 <= self.alpha < 1:
            raise ValueError(f"alpha (RMSprop's smoothing) must be in [0, 1), got {self.alpha}")


@dataclass
class ScheduleConfig:
    """The learning-rate schedule (see ``schedules.py``): a linear warmup over
    ``warmup_steps``, then constant, cosine decay to ``min_lr_ratio * lr`` at the end of the
    run, or a cut by ``plateau_factor`` after ``plateau_patience`` evaluations without a new
    best validation loss."""

    name: str = option("cosine", name="schedule", choices=SCHEDULES)
    warmup_steps: int = option(0, "linear warmup steps", metavar="N", minimum=0)
    min_lr_ratio: float = 0.1
    plateau_factor: float = 0.5
    plateau_patience: int = 2

    def validate(self) -> None:
        _check_choice("schedule", self.name, SCHEDULES)
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if not 0 < self.plateau_factor < 1:
            raise ValueError(f"plateau_factor must be in (0, 1), got {self.plateau_factor}")
        _check_positive("plateau_patience", self.plateau_patience)


@dataclass
class TrainerConfig:
    """How long to train, how often to evaluate, log and save, and in which precision.

    Training stops at ``max_steps`` optimizer steps or after ``time_budget`` seconds of wall
    time (evaluations included), whichever comes first; at least one must be set.
    ``early_stopping_patience`` counts evaluations without a new best (None: never stop
    early). ``clip_norm`` clips the global gradient norm (None: no clipping).
    """

    max_steps: int | None = None
    time_budget: float | None = 600.0
    eval_every: int = option(500, "evaluate every N steps", metavar="N", minimum=1)
    log_every: int = option(50, "log the training loss every N steps", metavar="N", minimum=1)
    clip_norm: float | None = 5.0
    early_stopping_patience: int | None = option(
        None,
        "stop after this many evaluations without a new best",
        name="early-stopping",
        metavar="EVALS",
        minimum=1,
        none="never",
    )
    precision: str = option(
        "fp32",
        "autocast; fp16 (CUDA) with a gradient scaler; auto: on CUDA bf16 where the GPU has "
        "it, else fp16; on the CPU bf16 where it is native, else fp32",
        choices=PRECISIONS,
        group="optimisation",
    )
    seed: int = option(0, "seed of the weights, batches and dropout", group="optimisation")
    device: str = option(
        "auto",
        "where to train: auto is cuda if available, else mps, else cpu",
        metavar=DEVICE_CHOICES,
        group="run",
    )
    tensorboard: bool = True
    threads: int | None = None
    adapt_threads: bool = False
    flush_denormal: bool = True  # on the CPU (training.devices.flushed_denormals)
    keep_freed_memory: bool = True  # on the CPU (training.devices.keep_freed_memory)

    def validate(self) -> None:
        if self.max_steps is None and self.time_budget is None:
            raise ValueError("set a stopping point: a maximum number of steps or a time budget")
        if self.max_steps is not None:
            _check_positive("max_steps", self.max_steps)
        if self.time_budget is not None:
            _check_positive("time_budget", self.time_budget)
        if self.clip_norm is not None:
            _check_positive("clip norm", self.clip_norm)
        _check_choice("precision", self.precision, PRECISIONS)
        check_device_name(self.device)
        if self.threads is not None:
            _check_positive("threads", self.threads)


_DURATION = re.compile(r"(?:(\d+(?:\.\d*)?)h)?(?:(\d+(?:\.\d*)?)m)?(?:(\d+(?:\.\d*)?)s)?")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``90s``, ``10m``, ``1h30m``, ``1.5h`` or ``600`` (seconds).

    Units are ``h``, ``m`` and ``s``, each at most once and in that order.
    """
    cleaned = str(text).strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        match = _DURATION.fullmatch(cleaned)
        if not cleaned or match is None:
            raise ValueError(
                f"cannot read {text!r} as a duration; write e.g. 90s, 10m, 1h30m, 1.5h "
                "or a plain number of seconds"
            ) from None
        hours, minutes, secs = (float(part) if part else 0.0 for part in match.groups())
        seconds = 3600 * hours + 60 * minutes + secs
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be finite, got {text!r}; leave it out for none")
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """``3725.0`` -> ``1:02:05``; ``65`` -> ``1:05``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class SelectionConfig:
    """Which validation figure picks the best checkpoint (the Trainer minimises it). A task
    subclasses it with the figures it computes as ``ALLOWED`` and says what they mean."""

    ALLOWED: typing.ClassVar[tuple[str, ...]] = ("loss",)
    metric: str = option(
        "loss",
        "the validation figure that picks the best checkpoint",
        name="select",
        choices="ALLOWED",
        group="stopping and reporting",
    )

    def validate(self) -> None:
        _check_choice("selection metric", self.metric, self.ALLOWED)

    @classmethod
    @functools.cache
    def allowing(cls, *metrics: str) -> type[SelectionConfig]:
        """The selection of a task whose validation figures are ``metrics``: a subclass
        with them as ``ALLOWED`` (one per tuple of metrics, so that config.json reads back)."""
        return type(f"SelectionConfig_{'_'.join(metrics)}", (cls,), {"ALLOWED": metrics})


class RunConfig:
    """What a task's whole configuration (a dataclass whose fields are its sections) does:
    validate every section in field order (the bounds its ``option`` fields declare, then its
    own ``validate()`` where it has one), and go to and from the plain dicts of
    ``config.json``."""

    def validate(self):
        for field in dataclasses.fields(self):
            validate_section(getattr(self, field.name))
        return self

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict):
        return config_from_dict(cls, values)


def config_to_dict(config: Any) -> dict:
    """A dataclass tree as plain JSON-able dicts (tuples become lists)."""
    return dataclasses.asdict(config)


def config_from_dict(cls: type, values: dict, where: str = "") -> Any:
    """Build dataclass ``cls`` from ``values``, recursing into nested dataclass fields.

    Missing keys keep their defaults; an unknown key is an error that lists the known ones.
    """
    if not isinstance(values, dict):
        raise ValueError(f"config section {where or cls.__name__} must be a mapping")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in config_fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"unknown config key(s) {', '.join(where + k for k in unknown)}; "
            f"known in {where.rstrip('.') or 'the top level'}: {', '.join(known)}"
        )
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = config_from_dict(hint, value, f"{where}{name}.")
        else:
            kwargs[name] = _coerce(value, hint, where + name)
    return cls(**kwargs)


def apply_overrides(config: Any, overrides: dict[str, Any]) -> Any:
    """A copy of ``config`` with dotted keys replaced: ``{"model.hidden_size": 512}``."""
    values = config_to_dict(config)
    for key, value in overrides.items():
        section = values
        *parents, leaf = key.split(".")
        for part in parents:
            if not isinstance(section.get(part), dict):
                raise ValueError(f"unknown config key {key!r}")
            section = section[part]
        if leaf not in section:
            raise ValueError(f"unknown config key {key!r}")
        section[leaf] = value
    return config_from_dict(type(config), values)


def merge_sections(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged in, section by section (for presets)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_sections(merged[key], value)
        else:
            merged[key] = value
    return merged


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check ``value`` against a simple type hint (int, float, str, bool, tuples, Optional)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], name)
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ValueError(f"{name} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, name) for v, a in zip(value, args, strict=True))
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return value
    return value


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")


__all__ = [
    "OPTIMIZERS",
    "PRECISIONS",
    "SelectionConfig",
    "bf16_kernels",
    "native_bf16",
    "resolve_precision",
    "SCHEDULES",
    "OptimizerConfig",
    "ScheduleConfig",
    "TrainerConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "format_duration",
    "merge_sections",
    "parse_duration",
]
