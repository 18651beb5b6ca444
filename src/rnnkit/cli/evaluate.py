"""``rnnkit evaluate RUN_DIR``: nats and bits per character on held-out text.

    rnnkit evaluate runs/charlm-lstm                    # the run's test split
    rnnkit evaluate runs/charlm-lstm --split val
    rnnkit evaluate runs/charlm-lstm --data other.txt   # a whole file or directory of text

The split is cut from the run's recorded training text exactly as in training. With --data,
characters the model never saw count as <unk>.
"""

from __future__ import annotations

import argparse
import json

from rnnkit.tasks.charlm_runs import SPLITS, evaluate_run
from rnnkit.training.run_dir import CHECKPOINT_NAMES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="nats and bits per character of a trained run on held-out text",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("--data", metavar="PATH|NAME", help="evaluate on this text instead")
    parser.add_argument("--split", choices=SPLITS, default="test", help="(default: test)")
    parser.add_argument("--checkpoint", choices=CHECKPOINT_NAMES, default="best")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    result = evaluate_run(
        args.run_dir, data=args.data, split=args.split, checkpoint=args.checkpoint
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['data']}: {result['nats']:.4f} nats/char, {result['bpc']:.4f} bits/char over "
        f"{result['tokens']:,} characters ({result['unknown_tokens']:,} unknown); "
        f"checkpoint {result['checkpoint']} (step {result['steps']})"
    )
    return 0
