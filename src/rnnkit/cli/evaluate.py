"""``rnnkit evaluate RUN_DIR``: a trained run's scores on held-out data.

    rnnkit evaluate runs/charlm-lstm                    # nats and bits per character, test split
    rnnkit evaluate runs/charlm-lstm --split val
    rnnkit evaluate runs/charlm-lstm --data other.txt   # a whole file or directory of text
    rnnkit evaluate runs/charlm-lstm --data other.txt --encoding latin-1   # another encoding
    rnnkit evaluate runs/classify-names                 # accuracy, macro-F1, confusion matrix PNG
    rnnkit evaluate runs/names-s0 runs/names-s1 runs/names-s2   # the three as one (mean vote)
    rnnkit evaluate runs/tag-ner                        # token accuracy, entity P/R/F1 per type

A character model's split is cut from the run's recorded training text exactly as in
training; with --data, characters the model never saw count as <unk>, and the text is decoded
as the run's own was unless --encoding or --decode-errors say otherwise. A classifier or tagger
is scored on its data set's fixed split (reloaded and checked to be the one it trained on);
a classifier's confusion matrix is written to RUN_DIR/plots/confusion-<split>.png.
Several classify runs on the same data and split are scored as an ensemble: the mean of
their predicted probabilities (each run's own score is listed too; no plot is written).
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import add_backend_flag, add_device_flag, positive_int, run_command
from rnnkit.cli.train import adapter
from rnnkit.data.text_stream import DECODE_ERRORS
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import task_names

SPLITS = ("train", "val", "test")  # train: not for charlm runs


def register(subparsers) -> None:
    parser = run_command(
        subparsers,
        "evaluate",
        __doc__,
        help=f"scores of a trained run on held-out data ({', '.join(task_names())})",
    )
    parser.add_argument(
        "more_runs",
        nargs="*",
        metavar="RUN_DIR",
        help="classify runs only: more runs of the same data, scored with the first as an "
        "ensemble (their mean predicted probabilities)",
    )
    parser.add_argument("--data", metavar="PATH|NAME", help="evaluate on this text instead")
    parser.add_argument("--split", choices=SPLITS, help="(default: test; not with --data)")
    parser.add_argument(
        "--encoding", metavar="NAME", help="with --data: its files' codec (default: the run's)"
    )
    parser.add_argument(
        "--decode-errors",
        choices=DECODE_ERRORS,
        help="with --data: stop at, replace or skip bytes that do not decode (default: the run's)",
    )
    add_device_flag(parser)
    add_backend_flag(parser)
    parser.add_argument(
        "--beam", type=positive_int, metavar="K", help="seq2seq runs: beam size besides greedy (5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    """Score a run with its task's ``evaluate``. ``--split`` is left None beside ``--data``,
    so that a char model refuses the two together (the text given is scored whole) rather
    than ignoring the split."""
    if args.split is None and args.data is None:
        args.split = "test"
    decoding = [flag for flag in ("encoding", "decode_errors") if getattr(args, flag) is not None]
    if decoding and args.data is None:
        given = " and ".join("--" + flag.replace("_", "-") for flag in decoding)
        says = "says" if len(decoding) == 1 else "say"
        raise ValueError(
            f"{given} {says} how the --data text is decoded; without --data a run is evaluated "
            "on its own data, read as in training: give --data PATH, or leave them out"
        )
    task = lifecycle.task_of(args.run_dir)
    cli = adapter(task)
    if args.more_runs and not getattr(cli, "ENSEMBLES", False):
        raise ValueError(
            f"several run directories make an ensemble of classifiers; {args.run_dir} is a "
            f"{task} run (give one run directory)"
        )
    if args.beam is not None and not getattr(cli, "BEAMS", False):
        raise ValueError(
            f"--beam sets the beam of a translation run's evaluation; {args.run_dir} is a "
            f"{task} run, evaluated without one"
        )
    if args.backend != "torch" and not getattr(cli, "BACKENDS", False):
        raise ValueError(
            f"evaluate --backend {args.backend} scores char models (nats/char) so far; "
            f"{args.run_dir} is a {task} run"
        )
    return cli.evaluate(args)
