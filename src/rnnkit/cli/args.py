"""What every ``rnnkit`` command shares: argument types, the guard that turns a failed run into
one line, the progress bar, and the printing of a finished run.

    parser.add_argument("--layers", type=positive_int)
    result = guarded(lambda: train(spec, config, reporter=progress(as_json)))
    return report(result, as_json, lines)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable

from rnnkit.cli.numbers import clip_norm, non_negative_int, positive_int  # noqa: F401
from rnnkit.training.config import parse_duration
from rnnkit.training.devices import DEVICE_CHOICES
from rnnkit.training.progress import ProgressBar
from rnnkit.training.run_dir import CHECKPOINT_NAMES


def main_rank() -> bool:
    """Whether this process prints: always, except under torchrun on a rank other than 0."""
    return int(os.environ.get("RANK", "0")) == 0


def command(subparsers, name: str, doc: str | None, *, help: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` prints ``doc`` (its module's docstring) as written."""
    return subparsers.add_parser(
        name, help=help, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run_command(subparsers, name: str, doc: str | None, *, help: str) -> argparse.ArgumentParser:
    """A subcommand on a trained run: ``RUN_DIR`` first, and ``--checkpoint best|last``."""
    parser = command(subparsers, name, doc, help=help)
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument(
        "--checkpoint",
        choices=CHECKPOINT_NAMES,
        default="best",
        help="the best one by validation, or the last one written (default: best)",
    )
    return parser


def add_device_flag(parser: argparse.ArgumentParser) -> None:
    """``--device`` of a command that opens a run's model (``rnnkit.cli.main`` puts the model
    there through ``rnnkit.training.devices.inference_device``), or that trains on it
    (``rnnkit experiment``, which also passes it to its Trainer)."""
    parser.add_argument(
        "--device",
        dest="inference_device",
        default="auto",
        metavar=DEVICE_CHOICES,
        help="where the model runs (default: auto, cuda if available, else mps, else cpu)",
    )


BACKENDS = ("torch", "onnxruntime")


def add_backend_flag(parser: argparse.ArgumentParser) -> None:
    """``--backend torch|onnxruntime``: run the model in PyTorch or its ONNX export."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="onnxruntime: run the ONNX export (RUN_DIR/export-onnx, written first if "
        "missing; rnnkit export) with ONNX Runtime (default: torch)",
    )
    parser.add_argument(
        "--quantize",
        choices=("int8",),
        help="with --backend onnxruntime: the int8 export (RUN_DIR/export-onnx-int8; rnnkit "
        "export --quantize int8)",
    )


def backend_options(args: argparse.Namespace) -> str | None:
    """The ``--quantize`` of ``--backend onnxruntime``; refused with the torch backend."""
    if args.quantize is not None and args.backend != "onnxruntime":
        raise ValueError("--quantize applies to --backend onnxruntime (an ONNX export)")
    return args.quantize


def backend_model(args: argparse.Namespace):
    """With ``--backend onnxruntime``, the run's model on ONNX Runtime (its export written first
    if missing: ``rnnkit.export.runtime.onnx_run``); with ``--backend torch``, None: the
    command opens the run's own model."""
    quantize = backend_options(args)
    if args.backend != "onnxruntime":
        return None
    from rnnkit.export.runtime import onnx_run

    return onnx_run(args.run_dir, args.checkpoint, quantize).model


def loaded_run(args: argparse.Namespace, load: Callable):
    """``load(run_dir, checkpoint)``, or with ``--backend onnxruntime`` the same run with its
    model on ONNX Runtime (``rnnkit.export.runtime.onnx_run``)."""
    quantize = backend_options(args)
    if args.backend == "onnxruntime":
        from rnnkit.export.runtime import onnx_run

        return onnx_run(args.run_dir, args.checkpoint, quantize)
    return load(args.run_dir, args.checkpoint)


def duration(text: str | None) -> float | None:
    """``90s``, ``10m``, ``1h30m`` in seconds; None stays None."""
    return None if text is None else parse_duration(text)


def threads(text: str) -> dict:
    """``--threads N|auto`` as config overrides."""
    if text == "auto":
        return {"trainer.threads": None, "trainer.adapt_threads": True}
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--threads takes a positive integer or auto, got {text!r}")
    return {"trainer.threads": int(text), "trainer.adapt_threads": False}


def given_flags(args: argparse.Namespace, allowed: Iterable[str] = ()) -> list[str]:
    """The flags of ``rnnkit train TASK`` given a value other than their default, but those
    whose dest is in ``allowed``: ``["--hidden-size", "--lr"]``."""
    return [
        args.flag_options[dest]
        for dest, default in args.flag_defaults.items()
        if dest not in (*allowed, "help") and getattr(args, dest) != default
    ]


def guarded(call: Callable):
    """Run ``call``; a diverged loss or an OS error (disk full, no permission) becomes a
    ValueError, which ``rnnkit`` prints as one line (the last checkpoint stays as it was). A
    closed stdout (``| head -1``) is not one: ``rnnkit`` ends quietly with 141 on it."""
    try:
        return call()
    except (FloatingPointError, OSError) as error:
        if isinstance(error, (FileNotFoundError, BrokenPipeError)):
            raise
        raise ValueError(" ".join(str(error).split())) from None


def progress(as_json: bool) -> ProgressBar:
    """The progress bar on stderr; evaluations and samples to stdout (stderr with --json)."""
    return ProgressBar(stream=sys.stderr, output=sys.stderr if as_json else sys.stdout)


def report(result, as_json: bool, lines: Callable[[dict], list[str]]) -> int:
    """Print a finished run (a ``RunResult``): its summary as one JSON object, or ``lines``
    of it; exit code 130 (with how to continue) if it was interrupted."""
    summary = result.summary()
    print(json.dumps(summary) if as_json else "\n".join(lines(summary)))
    if result.interrupted:
        if main_rank():  # under torchrun, said once
            print(
                f"stopped early; continue with: rnnkit train --resume "
                f"{user_path(result.train.run_dir)}",
                file=sys.stderr,
            )
        return 130
    return 0


def user_path(path) -> str:
    """``path`` as the user can type it: as given, unless it is relative and this process runs
    in a folder other than the user's, as ``rnnkit reproduce`` runs each entry in its own
    (naming the user's in ``RNNKIT_CALLER_DIR``): then absolute."""
    from rnnkit.reproduce.runner import CALLER_DIR_VARIABLE

    caller = os.environ.get(CALLER_DIR_VARIABLE)
    if os.path.isabs(path) or not caller or os.path.realpath(caller) == os.path.realpath("."):
        return str(path)
    return os.path.abspath(path)


def print_result(result: dict, as_json: bool, lines: Callable[[dict], list[str]]) -> int:
    """An evaluation's result: one JSON object, or ``lines`` of it."""
    print(json.dumps(result) if as_json else "\n".join(lines(result)))
    return 0


def refuse_data(args: argparse.Namespace, task: str, splits: str = "train|val|test") -> None:
    """``rnnkit evaluate --data`` is for character models only."""
    if getattr(args, "data", None) is not None:
        raise ValueError(
            f"--data applies to character models; a {task} run is evaluated on its own "
            f"data set's split (--split {splits})"
        )


def refuse_unused_decoding_flags(
    args: argparse.Namespace, what: str, search: tuple[str, ...] = ("beam",)
) -> None:
    """``translate`` and ``caption`` search for the likeliest ``what`` (beam search, the
    default) or, with ``--temperature``, sample one: a flag of the other way (``search``'s
    dests, or ``--seed``) would be ignored, so it is refused, as ``rnnkit sample`` refuses
    sampling options with ``--beam``."""
    if args.temperature is not None:
        given = [_flag(dest) for dest in search if getattr(args, dest) is not None]
        if given:
            raise ValueError(
                f"{' and '.join(given)} {'sets' if len(given) == 1 else 'set'} the beam search "
                f"for the likeliest {what} and --temperature samples one instead: give one of "
                "them"
            )
    elif args.seed is not None:
        raise ValueError(
            f"--seed seeds the sampling, and without --temperature the {what} is searched for, "
            "not sampled: add --temperature T, or leave --seed out"
        )


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")
