"""The flags every ``rnnkit train TASK`` shares beyond the character model: optimisation,
stopping and reporting, and the rules that turn them into config overrides.

    optim = add_optimisation_flags(parser)                 # --optimizer ... --threads
    add_stopping_flags(parser, budget="10m", eval_every=200,
                       select=("loss", "bleu"), select_help="...")
    overrides = config_overrides(args, {**TASK_FLAGS, **SHARED_FLAGS})
    result = train_run("seq2seq", resolve_config(overrides), args)

A task module keeps its own data and model flags and its ``dest -> dotted config key`` map;
``SHARED_FLAGS`` holds the keys of the flags added here.
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import (
    duration,
    guarded,
    non_negative_int,
    positive_int,
    progress,
    threads,
)
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import get_spec
from rnnkit.training.config import OPTIMIZERS, PRECISIONS, SCHEDULES

# flag dest -> dotted config key of the flags added here (those with a config key)
OPTIMISATION_FLAGS = {
    "optimizer": "optimizer.name",
    "lr": "optimizer.lr",
    "weight_decay": "optimizer.weight_decay",
    "schedule": "schedule.name",
    "warmup_steps": "schedule.warmup_steps",
    "seed": "trainer.seed",
}
STOPPING_FLAGS = {
    "eval_every": "trainer.eval_every",
    "log_every": "trainer.log_every",
    "early_stopping": "trainer.early_stopping_patience",
}
# flags added here that need more than a key: see config_overrides
SPECIAL_FLAGS = ("clip", "threads", "time_budget", "max_steps")
RESUME_FLAGS = ("max_steps", "time_budget")  # what may go with --resume (and --json)


def add_optimisation_flags(
    parser: argparse.ArgumentParser, precision: bool = True, threads_help: str | None = None
) -> argparse._ArgumentGroup:
    """The "optimisation" group (``--precision`` too unless ``precision`` is False: its key,
    ``trainer.precision``, then does not exist for the task)."""
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--optimizer", choices=OPTIMIZERS)
    optim.add_argument("--lr", type=float, metavar="LR")
    optim.add_argument("--weight-decay", type=float, metavar="W")
    optim.add_argument("--schedule", choices=SCHEDULES)
    optim.add_argument("--warmup-steps", type=non_negative_int, metavar="N")
    optim.add_argument("--clip", type=float, metavar="NORM", help="(default 5; 0: off)")
    if precision:
        optim.add_argument("--precision", choices=PRECISIONS)
    optim.add_argument("--seed", type=int)
    optim.add_argument("--threads", metavar="N|auto", help=threads_help)
    return optim


def add_stopping_flags(
    parser: argparse.ArgumentParser,
    budget: str,
    eval_every: int,
    select: tuple[str, ...] | None = None,
    select_help: str | None = None,
) -> argparse._ArgumentGroup:
    """The "stopping and reporting" group; ``select``: the choices of ``--select`` (the
    validation figure that picks the best checkpoint), None for a task without it."""
    stop = parser.add_argument_group("stopping and reporting")
    stop.add_argument("--time-budget", metavar="D", help=f"e.g. 90s, 10m (default {budget})")
    stop.add_argument("--max-steps", type=positive_int, metavar="N")
    stop.add_argument("--early-stopping", type=positive_int, metavar="EVALS")
    stop.add_argument(
        "--eval-every", type=positive_int, metavar="N", help=f"(default {eval_every})"
    )
    stop.add_argument("--log-every", type=positive_int, metavar="N")
    if select is not None:
        stop.add_argument("--select", choices=select, help=select_help)
    return stop


def shared_flags(precision: bool = True, select: bool = True) -> dict[str, str]:
    """``dest -> key`` of the flags ``add_optimisation_flags`` and ``add_stopping_flags``
    added, as the task registered them."""
    flags = {**OPTIMISATION_FLAGS, **STOPPING_FLAGS}
    if precision:
        flags["precision"] = "trainer.precision"
    if select:
        flags["select"] = "selection.metric"
    return flags


def config_overrides(args: argparse.Namespace, flags: dict[str, str]) -> dict:
    """The dotted config keys the given flags set: each of ``flags`` (``dest -> key``) that
    is not None, then ``--threads``, ``--clip`` (0: off) and the stopping point."""
    values = {key: getattr(args, dest) for dest, key in flags.items()}
    values = {key: value for key, value in values.items() if value is not None}
    if args.threads is not None:
        values.update(threads(args.threads))
    if args.clip is not None:
        values["trainer.clip_norm"] = args.clip if args.clip > 0 else None
    if args.max_steps is not None or args.time_budget is not None:
        values["trainer.max_steps"] = args.max_steps
        values["trainer.time_budget"] = duration(args.time_budget)
    return values


def train_run(task: str, config, args: argparse.Namespace, **options):
    """Train a new run of ``task`` on ``config`` into ``args.out``, guarded, with the progress
    bar; the ``RunResult``."""
    return guarded(
        lambda: lifecycle.train(
            get_spec(task), config, args.out, reporter=progress(args.json), **options
        )
    )
