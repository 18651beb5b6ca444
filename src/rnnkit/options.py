"""Config fields that are also command-line flags: ``option()`` and its ``Flag``.

The bottom layer of rnnkit, so that a model's own config (``rnnkit.models``) can declare its
flags where its fields are, and a task's config can hold that config as it is:

    hidden_size: int = option(128, "units per layer", metavar="H", minimum=1)

``rnnkit.cli.flags`` turns the fields of a run's config into argparse flags; the help shows
the task's default, read from the config, so the two cannot drift apart. A field named
``seed`` or ``..._seed`` is a seed: its flag takes an integer in [0, ``SEED_MAX``].
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass(frozen=True)
class Flag:
    """How a config field appears on the command line (``rnnkit.cli.flags`` builds it).

    ``name``: the flag without ``--`` (default: the field's name, ``_`` -> ``-``);
    ``choices``: the allowed values (or the name of the section class's attribute that holds
    them, e.g. ``"ALLOWED"``); ``minimum``: for integers, 1 (positive) or 0 (>= 0);
    ``group``: the help section (default: by config section); ``none``: what a default of
    None means, for the help text (e.g. ``"by data set"``); ``required``: the command line
    must give it (``--dataset``), although a library call may rely on the default."""

    help: str = ""
    name: str | None = None
    metavar: str | None = None
    choices: tuple | None = None
    minimum: int | None = None
    group: str | None = None
    none: str = "none"
    required: bool = False  # the command line needs it (a library call has the default)


def option(default: Any = dataclasses.MISSING, help: str = "", *, factory=None, **flag):
    """A config field that is also a command-line flag of every task whose config holds it:
    ``hidden_size: int = option(128, "units per layer", metavar="H", minimum=1)``. Its help
    shows the task's default, read from the config, so the two cannot drift apart."""
    metadata = {"flag": Flag(help, **flag)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


SEED_MAX = 2**32 - 1
"""The largest seed a flag takes: a seed flag (``is_seed``) takes an integer in [0, 2**32 - 1],
what every generator a run seeds accepts (NumPy's legacy ``np.random.seed`` no more,
``np.random.default_rng`` nothing negative, ``torch.manual_seed`` at most 2**64 - 1). It is
checked on the command line only: an old run whose seed is outside (a character model's or
parity's, which trained) still reads."""


def is_seed(field: dataclasses.Field) -> bool:
    """Whether a config field is a seed: named ``seed`` or ``..._seed`` (``split_seed``)."""
    return field.name == "seed" or field.name.endswith("_seed")


def config_fields(config) -> list[dataclasses.Field]:
    """The fields of a config dataclass (or instance), its own first and then the
    keyword-only ones it inherits (e.g. the model's ``zoneout``): the order of its flags and
    of the keys an error lists."""
    return sorted(dataclasses.fields(config), key=lambda field: field.kw_only is True)


def config_from_values(cls: type, values: dict, what: str) -> Any:
    """``cls(**values)`` for a config dataclass ``cls`` (a model's, as its checkpoints hold
    it); a key it does not know is a ValueError naming ``what`` and the known keys."""
    known = [field.name for field in config_fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"unknown {what} config keys: {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return cls(**values)


def check_int(name: str, value: object, minimum: int = 1) -> int:
    """``value``, or a ValueError unless it is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def check_number(name: str, value: object, below_one: bool = True) -> None:
    """A ValueError unless ``value`` is a number in [0, 1) (``below_one``: a probability such
    as dropout's) or a finite one >= 0 (infinity would pass a bare >= 0)."""
    allowed = "in [0, 1)" if below_one else ">= 0 and finite"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number {allowed}, got {value!r}")
    if not (0 <= value < 1 if below_one else 0 <= value < math.inf):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_options(config) -> None:
    """What a config's ``option`` fields declare: a ``bool`` field holds a bool, and an
    integer with a ``minimum`` is an integer at least that (or None, where its type allows
    None), so a flag's bound and the config's check are written once."""
    for field in config_fields(config):
        flag = field.metadata.get("flag")
        if flag is None:
            continue
        value, hint = getattr(config, field.name), str(field.type)  # "int | None", "bool"
        if field.type in (bool, "bool") and not isinstance(value, bool):
            raise ValueError(f"{field.name} must be true or false, got {value!r}")
        optional = "None" in hint or "Optional" in hint
        if flag.minimum is not None and not (value is None and optional):
            check_int(field.name, value, flag.minimum)


def validate_section(section: Any) -> None:
    """What a config section's ``option`` fields declare (``check_options``), then its own
    ``validate()`` where it has one."""
    check_options(section)
    if hasattr(section, "validate"):
        section.validate()
