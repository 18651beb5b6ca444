"""``rnnkit sample RUN_DIR``: generate text from a trained run, streamed as it is drawn.

    rnnkit sample runs/charlm-lstm --prime "ROMEO:" --temperature 0.8 --top-k 40 --length 500
    rnnkit sample runs/charlm-lstm --temperature 0          # greedy: the likeliest character
    rnnkit sample runs/charlm-lstm --beam 5 --length 200    # beam search (printed at the end)

The model reads the prime once, then carries its state one character at a time. The run
directory is all it needs (config.json, vocab.json, checkpoints/).
"""

from __future__ import annotations

import argparse
import sys

from rnnkit.cli.args import add_backend_flag, add_device_flag, backend_model, run_command
from rnnkit.cli.numbers import seed
from rnnkit.tasks.charlm_runs import sample_run

DEFAULT_TEMPERATURE = 0.8


def register(subparsers) -> None:
    parser = run_command(
        subparsers, "sample", __doc__, help="generate text from a trained character model"
    )
    parser.add_argument("--prime", default="", help="text to start from (default: a newline)")
    parser.add_argument("--length", type=int, default=500, help="characters to generate (500)")
    parser.add_argument(
        "--temperature",
        type=float,
        help=f"softmax temperature (default {DEFAULT_TEMPERATURE}); 0 is greedy",
    )
    parser.add_argument("--top-k", type=int, metavar="K", help="sample from the K likeliest")
    parser.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling: mass P")
    parser.add_argument("--seed", type=seed, metavar="N", help="the same seed gives the same text")
    parser.add_argument("--beam", type=int, metavar="K", help="beam search of width K instead")
    add_backend_flag(parser)
    add_device_flag(parser)
    parser.set_defaults(func=sample_command)


def sample_command(args: argparse.Namespace) -> int:
    if args.beam is not None:
        given = [
            f for f in ("temperature", "top_k", "top_p", "seed") if getattr(args, f) is not None
        ]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ValueError(
                f"--beam finds the likeliest continuation and takes no sampling options "
                f"(got {flags}); leave them out, or drop --beam to sample"
            )
    temperature = DEFAULT_TEMPERATURE if args.temperature is None else args.temperature
    model = backend_model(args)
    sample_run(
        args.run_dir,
        args.prime,
        args.length,
        temperature=temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        beam=args.beam,
        checkpoint=args.checkpoint,
        on_text=_write,
        model=model,
    )
    _write("\n")
    return 0


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
