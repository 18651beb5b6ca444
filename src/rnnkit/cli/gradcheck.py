"""``rnnkit gradcheck``: the NumPy engine's hand-derived gradients against finite differences.

    rnnkit gradcheck --cell lstm --seed 3 --json

Exit code 0 if every parameter's max relative error is within the tolerance, 1 if not.
"""

from __future__ import annotations

import argparse
import json

from rnnkit.cli.numbers import seed
from rnnkit.reference import gradcheck
from rnnkit.reference.losses import LOSSES
from rnnkit.reference.network import CELLS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradcheck",
        help="check the NumPy engine's BPTT gradients against finite differences",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--cell", choices=tuple(CELLS), default="rnn")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the random problem")
    parser.add_argument("--loss", choices=tuple(LOSSES), default="cross_entropy")
    parser.add_argument(
        "--nonlinearity", choices=("tanh", "relu"), default="tanh", help="rnn cell only"
    )
    parser.add_argument(
        "--reset-after",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="gru cell only: torch's form (default) or, with --no-reset-after, Cho et al.'s",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=gradcheck_command)


def gradcheck_command(args: argparse.Namespace) -> int:
    result = gradcheck.check_gradients(
        args.cell,
        args.seed,
        nonlinearity=args.nonlinearity,
        reset_after=args.reset_after,
        loss=args.loss,
    )
    passed = result["max_rel_error"] <= gradcheck.TOLERANCE
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'parameter':<12} {'max rel. error':>14}")
        for name, error in result["params"].items():
            print(f"{name:<12} {error:>14.3e}")
        verdict = "ok" if passed else "FAILED"
        print(
            f"{args.cell}: max {result['max_rel_error']:.3e} (tolerance "
            f"{gradcheck.TOLERANCE:g}, float64) {verdict}"
        )
    return 0 if passed else 1
