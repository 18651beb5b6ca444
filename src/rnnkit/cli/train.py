"""``rnnkit train TASK``: train a model of any registered task; ``--resume`` continues a run.

    rnnkit train charlm --preset quick                   # the README's first command
    rnnkit train charlm --data my.txt --cell gru --hidden-size 512 --time-budget 1h30m
    rnnkit train classify --dataset names                # rnnkit train classify --help
    rnnkit train --resume runs/charlm-lstm-20250101-120000

Every task of ``rnnkit.tasks.registry`` is a subcommand. Its flags come from its config
fields (``rnnkit.cli.flags``), through its command-line adapter ``rnnkit.cli.tasks.<task>``
where it has one (``add_arguments``, ``start``, ``summary_lines``, ``evaluate``), and
everything after parsing goes through the one run lifecycle (``rnnkit.tasks.lifecycle``).
The run directory holds everything (config.json, vocabularies, metrics.jsonl, TensorBoard
events, checkpoints/, plots/). Progress goes to stderr; the summary to stdout (with --json,
one JSON object).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from types import ModuleType

from rnnkit.cli.args import command, duration, given_flags, guarded, positive_int, progress, report
from rnnkit.cli.generic_task import GenericAdapter
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import get_spec, task_names
from rnnkit.training.devices import DEVICE_CHOICES

RESUME_FLAGS = ("max_steps", "time_budget", "json", "resume", "trainer.device")  # with --resume


def adapter(task: str) -> ModuleType | GenericAdapter:
    """The command-line side of ``task``: the module ``rnnkit.cli.tasks.<task>`` where the
    task has one, else flags and printing derived from its spec (``GenericAdapter``)."""
    get_spec(task)  # an unknown task: one line naming the known ones
    name = f"rnnkit.cli.tasks.{task}"
    if importlib.util.find_spec(name) is None:
        return GenericAdapter(task)
    return importlib.import_module(name)


def register(subparsers) -> None:
    train = command(
        subparsers,
        "train",
        __doc__,
        help=f"train a model (train {'|'.join(task_names())}) or continue a run "
        "(train --resume RUN_DIR)",
    )
    train.add_argument("--resume", dest="resume_only", metavar="RUN_DIR", help="continue a run")
    train.add_argument("--max-steps", dest="resume_max_steps", type=positive_int, metavar="N")
    train.add_argument("--time-budget", dest="resume_time_budget", metavar="D")
    train.add_argument("--json", dest="resume_json", action="store_true")
    train.add_argument(
        "--device", dest="resume_device", metavar=DEVICE_CHOICES, help="(default: the run's)"
    )
    resume_only = {a.dest: _long_option(a) for a in train._actions if a.dest.startswith("resume_")}
    train.set_defaults(func=resume_command, resume_flags=resume_only)  # train's own, not a task's
    train.error = lambda message: argparse.ArgumentParser.error(train, _hint(message))
    tasks = train.add_subparsers(dest="task", metavar="TASK")
    for name in task_names():
        cli = adapter(name)
        parser = command(tasks, name, cli.__doc__, help=get_spec(name).help)
        cli.add_arguments(parser)
        defaults = {action.dest: action.default for action in parser._actions}
        options = {action.dest: _long_option(action) for action in parser._actions}
        parser.set_defaults(
            func=train_command, train_task=name, flag_defaults=defaults, flag_options=options
        )


def _hint(message: str) -> str:
    """argparse's message, with what goes beside ``--resume`` where a task name was expected
    (``train --resume RUN --out X`` reads ``X`` as the task)."""
    if not message.startswith("argument TASK: invalid choice"):
        return message
    return (
        f"{message} (and with --resume RUN_DIR, only --max-steps, --time-budget, --device "
        "and --json may follow)"
    )


def _long_option(action: argparse.Action) -> str:
    return next((o for o in action.option_strings if o.startswith("--")), action.dest)


def train_command(args: argparse.Namespace) -> int:
    before = [flag for dest, flag in args.resume_flags.items() if getattr(args, dest)]
    if before:  # read as train's own (resume) options, which a task's run never used
        raise ValueError(
            f"{', '.join(before)} came before the task {args.train_task}: give a task's "
            f"options after it (rnnkit train {args.train_task} {before[-1]} ...), or "
            "rnnkit train --resume RUN_DIR with its options"
        )
    cli = adapter(args.train_task)
    if args.resume:
        refuse_flags_on_resume(args)
        time_budget = duration(args.time_budget)
        device = getattr(args, "trainer.device")
        return resume_run(
            args.resume, args.max_steps, time_budget, args.json, args.train_task, device
        )
    result = cli.start(args)
    return 0 if result is None else report(result, args.json, cli.summary_lines)


def resume_command(args: argparse.Namespace) -> int:
    if not args.resume_only:
        raise ValueError(
            f"name a task ({', '.join(task_names())}) or give --resume RUN_DIR; see rnnkit "
            "train --help"
        )
    time_budget = duration(args.resume_time_budget)
    return resume_run(
        args.resume_only,
        args.resume_max_steps,
        time_budget,
        args.resume_json,
        None,
        args.resume_device,
    )


def resume_run(run_dir: str, max_steps, time_budget, as_json: bool, task=None, device=None):
    """``rnnkit train [TASK] --resume RUN_DIR`` for a run of any task (of ``task``, if given),
    on ``device`` (default: the one the run recorded)."""
    task = lifecycle.read_run(run_dir, task).spec.name
    stop = {"max_steps": max_steps, "time_budget": time_budget}
    result = guarded(
        lambda: lifecycle.resume(run_dir, **stop, device=device, reporter=progress(as_json))
    )
    return report(result, as_json, adapter(task).summary_lines)


def refuse_flags_on_resume(args: argparse.Namespace) -> None:
    """A ValueError naming every flag given beside ``--resume`` (a resumed run keeps its own
    configuration; only the stopping point may change)."""
    given = given_flags(args, RESUME_FLAGS)
    if given:
        raise ValueError(
            "--resume continues a run with its own configuration; only --max-steps, "
            f"--time-budget, --device and --json go with it (got {', '.join(given)})"
        )
