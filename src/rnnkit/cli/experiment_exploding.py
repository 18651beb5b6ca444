"""``rnnkit experiment exploding``: exploding gradients with and without clipping.

    rnnkit experiment exploding [--sigma 2.0] [--seq-lens 10,20,50,100,200] [--steps 1500]
                                [--clip 1.0] [--lr 0.1] [--out DIR] [--json]

The experiment itself (and the help text's description) is ``rnnkit.experiments.exploding``;
this module parses its flags, runs it and prints the report. SIGTERM is read as Ctrl-C
(``sigterm_as_interrupt``): ``rnnkit reproduce`` passes its own Ctrl-C on as SIGTERM, and
either way the experiment writes and prints what it has and the command exits with 130, as
the other experiments do, instead of dying with an empty ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from rnnkit.cli.args import command, user_path
from rnnkit.cli.main import UsageError
from rnnkit.cli.numbers import seed
from rnnkit.data.interrupts import sigterm_as_interrupt


def register(tasks) -> None:
    """The ``exploding`` subcommand under ``experiment``; if the experiment cannot be
    imported, the subcommand says why instead of taking the other experiments down with it."""
    try:
        from rnnkit.experiments import exploding

        defaults = exploding.ExplodingConfig()
    except (ImportError, AttributeError) as error:
        parser = tasks.add_parser("exploding", help="(unavailable)")
        parser.set_defaults(func=_unavailable, reason=str(error))
        return
    parser = command(
        tasks,
        "exploding",
        exploding.__doc__,
        help="a tanh RNN with sigma_max(W_hh) > 1: gradients explode; clipping tames them",
    )
    add_arguments(parser, defaults)
    parser.set_defaults(func=exploding_command)


def add_arguments(parser: argparse.ArgumentParser, defaults) -> None:
    """The flags of ``rnnkit experiment exploding``, defaults from ``defaults`` (an
    ``ExplodingConfig``)."""
    seq_lens = ",".join(str(t) for t in defaults.seq_lens)
    parser.add_argument(
        "--sigma", type=float, default=defaults.sigma, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--seq-lens", default=seq_lens, metavar="N[,N...]", help="(default: %(default)s)"
    )
    parser.add_argument(
        "--train-seq-len", type=int, default=defaults.train_seq_len, help="(default: %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=defaults.steps, help="(default: %(default)s)")
    parser.add_argument(
        "--clip",
        type=positive_clip,
        default=defaults.clip,
        metavar="NORM",
        help="gradient norm of the clipped run, > 0 (the other is unclipped; default: %(default)s)",
    )
    parser.add_argument("--lr", type=float, default=defaults.lr, help="SGD (default: %(default)s)")
    parser.add_argument(
        "--hidden-size", type=int, default=defaults.hidden_size, help="(default: %(default)s)"
    )
    parser.add_argument("--seed", type=seed, default=defaults.seed, help="(default: %(default)s)")
    parser.add_argument("--out", metavar="DIR", help="(default: runs/exploding-<time>)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def exploding_command(args: argparse.Namespace) -> int:
    """Run the experiment, write the plot and the result, print the report (or JSON); exit
    code 130, after the same, if Ctrl-C or SIGTERM stopped it early."""
    from rnnkit.experiments.exploding import ExplodingConfig, exploding_case, format_report
    from rnnkit.training.run_dir import default_run_dir

    config = ExplodingConfig(
        sigma=args.sigma,
        seq_lens=parse_seq_lens(args.seq_lens),
        hidden_size=args.hidden_size,
        train_seq_len=args.train_seq_len,
        steps=args.steps,
        lr=args.lr,
        clip=args.clip,
        seed=args.seed,
    )
    config.validate()
    out = args.out or default_run_dir("exploding")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors of 32 x 64: a second thread only spins
    try:
        with sigterm_as_interrupt():
            result = exploding_case(config, out)
    finally:
        torch.set_num_threads(threads)
    print(json.dumps(result) if args.json else format_report(result))
    if result["interrupted"]:
        print(stopped_early(result, out), file=sys.stderr)
        return 130
    return 0


def stopped_early(result: dict, out) -> str:
    """The line an interrupted experiment ends with: where it stopped, where its result is."""
    from rnnkit.experiments.exploding import RESULT_NAME

    runs = result["results"]
    if not runs:
        measured, asked = len(result["grad_norm_by_seq_len"]), len(result["config"]["seq_lens"])
        where = f"before training (gradient norms measured at {measured} of {asked} lengths)"
    elif runs[-1]["interrupted"]:
        where = f"{_run_name(runs[-1])} was interrupted after {runs[-1]['steps']} steps"
    else:
        where = f"after {_run_name(runs[-1])}, before the clipped one"
    return f"stopped early: {where}; the results so far are in {user_path(Path(out) / RESULT_NAME)}"


def _run_name(run: dict) -> str:
    return "the unclipped run" if run["clip"] is None else "the clipped run"


def positive_clip(text: str) -> float:
    """An argparse type: the clipped run's gradient norm, a finite number > 0. Unlike the other
    experiments' --clip, 0 (off) is refused: the experiment's other run is the unclipped one."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            "expected a gradient norm > 0 for the clipped run (the other run is unclipped, so "
            f"0, off, is not allowed), got {text!r}"
        )
    return value


def parse_seq_lens(text: str) -> tuple[int, ...]:
    """``"50,10"`` -> ``(10, 50)``: sorted, without repeats, each >= 2."""
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) >= 2 for part in parts):
        raise ValueError(f"--seq-lens takes integers >= 2 separated by commas, got {text!r}")
    return tuple(sorted({int(part) for part in parts}))


def _unavailable(args: argparse.Namespace) -> int:
    raise UsageError(f"experiment exploding is unavailable: {args.reason}")
