"""Command-line flags built from the config dataclasses: a flag is declared once, on the field
it sets (``rnnkit.training.config.option``), and its help shows the task's own default.

    add_task_flags(parser, ClassifyConfig(), out="runs/classify-<data>-<time>")
    overrides = config_overrides(args)                 # {"model.hidden_size": 512, ...}

Each config flag's ``dest`` is the dotted config key it sets; a flag left out is None and
keeps the default. Beside them come what every ``rnnkit train TASK`` has and no config field
holds one to one: ``--out --resume --json``, the stopping point (``--max-steps
--time-budget``), ``--clip`` (0: off) and ``--threads N|auto``.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing

from rnnkit.cli.args import clip_norm, duration, non_negative_int, positive_int, threads
from rnnkit.cli.numbers import seed
from rnnkit.options import Flag, config_fields, is_seed

# config section -> help group; a field's Flag.group overrides it
GROUPS = {
    "data": "data",
    "model": "model",
    "optimizer": "optimisation",
    "schedule": "optimisation",
    "trainer": "stopping and reporting",
    "selection": "stopping and reporting",
}
INT_TYPES = {None: int, 0: non_negative_int, 1: positive_int}


def add_task_flags(
    parser: argparse.ArgumentParser, defaults, out: str, skip: typing.Iterable[str] = ()
) -> None:
    """All of a task's training flags, in the groups run, data, model, optimisation,
    stopping and reporting: the config flags of ``defaults`` (the task's default config)
    except the dotted keys in ``skip``, and the shared ones (``out``: the default run
    directory, for the help)."""
    run = _group(parser, "run")
    run.add_argument("--out", metavar="RUN_DIR", help=f"(default: {out})")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    keys, required = add_config_flags(parser, defaults, skip)
    _add_training_flags(parser, defaults.trainer)
    parser.set_defaults(config_keys=keys, required_flags=required)


def add_config_flags(
    parser: argparse.ArgumentParser, defaults, skip: typing.Iterable[str] = ()
) -> tuple[list[str], dict[str, str]]:
    """A flag for every field of the config ``defaults`` that has a ``Flag``, except the
    dotted keys in ``skip``; the keys added, and the required ones (key -> flag and help)."""
    keys, required, skip = [], {}, set(skip)
    for section in dataclasses.fields(defaults):
        values = getattr(defaults, section.name)
        if not dataclasses.is_dataclass(values):
            continue
        hints = typing.get_type_hints(type(values))
        for field in config_fields(values):  # inherited keyword-only fields last
            flag, key = field.metadata.get("flag"), f"{section.name}.{field.name}"
            if flag is None or key in skip:
                continue
            group = _group(parser, flag.group or GROUPS.get(section.name, section.name))
            name = "--" + (flag.name or field.name.replace("_", "-"))
            kind = _kind(hints[field.name], flag, type(values))
            if is_seed(field):
                kind = {"type": seed, "metavar": flag.metavar or "N"}
            default = getattr(values, field.name)
            group.add_argument(name, dest=key, default=None, help=_help(flag, default), **kind)
            keys.append(key)
            if flag.required:
                required[key] = f"{name} {flag.metavar or ''}".strip() + f" ({flag.help})"
    return keys, required


def config_overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the given flags set (a ValueError for a required one left
    out), then ``--threads``, ``--clip`` (0: off) and the stopping point (``--max-steps`` and
    ``--time-budget`` replace both)."""
    for key, text in args.required_flags.items():
        if getattr(args, key) is None:
            raise ValueError(f"name the data: rnnkit train {args.train_task} {text}")
    values = {key: getattr(args, key) for key in args.config_keys}
    values = {key: value for key, value in values.items() if value is not None}
    if args.threads is not None:
        values.update(threads(args.threads))
    if args.clip is not None:
        values["trainer.clip_norm"] = args.clip if args.clip > 0 else None
    if args.max_steps is not None or args.time_budget is not None:
        values["trainer.max_steps"] = args.max_steps
        values["trainer.time_budget"] = duration(args.time_budget)
    return values


def _add_training_flags(parser: argparse.ArgumentParser, trainer) -> None:
    """``--clip`` and ``--threads`` (optimisation), ``--time-budget`` and ``--max-steps``
    (stopping), with the task's defaults from its ``TrainerConfig``."""
    optim = _group(parser, "optimisation")
    clip = trainer.clip_norm
    optim.add_argument(
        "--clip",
        type=clip_norm,
        metavar="NORM",
        help=f"clip the global gradient norm (default {clip if clip else 0:g}; 0: off)",
    )
    optim.add_argument(
        "--threads",
        metavar="N|auto",
        help=f"torch threads (default {_threads(trainer)}); auto switches between 1 "
        "and all while training, whichever is faster",
    )
    stop = _group(parser, "stopping and reporting")
    budget = "none" if trainer.time_budget is None else _seconds(trainer.time_budget)
    steps = trainer.max_steps or "none"
    stop.add_argument(
        "--time-budget", metavar="D", help=f"e.g. 90s, 10m, 1h30m (default: {budget})"
    )
    stop.add_argument(
        "--max-steps",
        type=positive_int,
        metavar="N",
        help=f"(default: {steps}); giving either stopping point replaces both defaults",
    )


def _group(parser: argparse.ArgumentParser, title: str):
    for group in parser._action_groups:
        if group.title == title:
            return group
    return parser.add_argument_group(title)


def _kind(hint, flag: Flag, section: type) -> dict:
    """``type``/``choices``/``action``/``metavar`` for a field of type ``hint``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and args else hint
    choices = getattr(section, flag.choices) if isinstance(flag.choices, str) else flag.choices
    if base is bool:
        return {"action": argparse.BooleanOptionalAction}
    if choices is not None:
        kinds = {type(choice) for choice in choices}
        if kinds in ({int}, {float}):  # read as the choices are: "--grid 2" is the choice 2
            return {"choices": tuple(choices), "type": kinds.pop()}
        return {"choices": tuple(choices)}
    if base is int:
        return {"type": INT_TYPES[flag.minimum], "metavar": flag.metavar or "N"}
    if base is float:
        return {"type": float, "metavar": flag.metavar or "X"}
    return {"metavar": flag.metavar}


def _help(flag: Flag, default) -> str:
    if flag.required:
        return f"{flag.help} (required)".replace("%", "%%")
    if default is None:
        shown = flag.none
    elif default == "":
        shown = '""'
    elif isinstance(default, bool):
        shown = "on" if default else "off"
    else:
        shown = f"{default:g}" if isinstance(default, float) else str(default)
    text = f"{flag.help} (default: {shown})" if flag.help else f"(default: {shown})"
    return text.replace("%", "%%")  # argparse formats help with %


def _threads(trainer) -> str:
    return "auto" if trainer.adapt_threads else str(trainer.threads or "all")


def _seconds(seconds: float) -> str:
    """``900.0`` -> ``15m``; ``5400`` -> ``90m``; ``45`` -> ``45s``."""
    if seconds % 60:
        return f"{seconds:g}s"
    return f"{seconds / 3600:g}h" if seconds % 3600 == 0 else f"{seconds / 60:g}m"
