"""Entry point of the ``rnnkit`` command."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from rnnkit.cli.args import main_rank
from rnnkit.training import distributed
from rnnkit.training.devices import inference_device

# Subcommand modules, each with ``register(subparsers)``. Imported lazily so that
# ``rnnkit --help`` stays quick and one broken optional dependency does not take down the rest.
SUBCOMMANDS = (
    "rnnkit.cli.demo",
    "rnnkit.cli.bench",
    "rnnkit.cli.gradcheck",
    "rnnkit.cli.data",
    "rnnkit.cli.train",
    "rnnkit.cli.sample",
    "rnnkit.cli.evaluate",
    "rnnkit.cli.predict",
    "rnnkit.cli.diagnose",
    "rnnkit.cli.experiment",
    "rnnkit.cli.caption",
    "rnnkit.cli.forecast",
    "rnnkit.cli.translate",
    "rnnkit.cli.serve",
    "rnnkit.cli.export",
    "rnnkit.cli.reproduce",
)


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit",
        description="Recurrent neural networks as the lectures teach them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    if not main_rank():
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (for the run)
    code = _run(args)
    if code:  # under torchrun, other ranks may wait for this one: it leaves without them
        distributed.failed()
    return code


def _run(args: argparse.Namespace) -> int:
    """The command's exit code; what the user did wrong as one line on stderr."""
    try:
        with inference_device(getattr(args, "inference_device", "cpu")):
            return int(args.func(args) or 0)
    except (UsageError, ValueError, FileNotFoundError) as error:
        print(f"rnnkit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as error:
        said = out_of_memory(error)
        if said is None:
            raise
        print(f"rnnkit {args.command}: error: {said}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rnnkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``rnnkit data list | head``): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


_BYTES = re.compile(
    r"allocate (?:memory: you tried to allocate )?(\d+) bytes|Tried to allocate ([\d.]+ [GMK]iB)"
)


def out_of_memory(error: BaseException) -> str | None:
    """The one-line message for an allocation that failed (the CPU's allocator, a GPU's, or
    Python's), or None for any other error."""
    text = str(error)
    if not isinstance(error, MemoryError) and not (
        "can't allocate memory" in text or "out of memory" in text.lower()
    ):
        return None
    match = _BYTES.search(text)
    size = ""
    if match and match.group(1):
        size = f" ({int(match.group(1)) / 2**30:,.1f} GiB asked for)"
    elif match:
        size = f" ({match.group(2)} asked for)"
    return (
        f"out of memory{size}: the model, batch or sequence is larger than this machine can "
        "hold; make --hidden-size, --embedding-size, --layers, --batch-size or the sequence "
        "length smaller"
    )


if __name__ == "__main__":
    sys.exit(main())
