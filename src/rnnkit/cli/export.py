"""``rnnkit export RUN_DIR``: a trained run as files that run without rnnkit.

    rnnkit export runs/quick                       # runs/quick/export-onnx/, for ONNX Runtime
    rnnkit export runs/quick --format pt2 --out quick-pt2   # torch.export programs
    rnnkit export runs/quick --quantize int8       # runs/quick/export-onnx-int8/, int8 weights

Every task but parity and vqa exports (those two are refused): a char model as a step graph
(one token per stream) and a sequence graph (T tokens per stream) with the recurrent state as
explicit inputs and outputs; a classifier, tagger or forecaster as its forward pass with a
lengths input; seq2seq and caption as an encoder graph and a decoder-step graph. Batch and
length are dynamic; export.json beside the graphs has their inputs and outputs, the state
layout, the vocabulary, versions and the sha256 of the weights. docs/deploy.md streams text
from them with only onnxruntime and numpy installed.
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import run_command


def register(subparsers) -> None:
    parser = run_command(
        subparsers,
        "export",
        __doc__,
        help="a trained run as ONNX or torch.export files with explicit state",
    )
    parser.add_argument("--format", choices=("onnx", "pt2"), default="onnx", help="(onnx)")
    parser.add_argument("--out", metavar="DIR", help="(default: RUN_DIR/export-FORMAT)")
    parser.add_argument(
        "--quantize",
        choices=("int8",),
        help="ONNX: dynamic int8 quantisation of the recurrent and linear weights "
        "(default folder: RUN_DIR/export-onnx-int8)",
    )
    parser.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    from rnnkit.export.files import export_run

    out = export_run(args.run_dir, args.format, args.out, args.checkpoint, args.quantize)
    kind = args.format + (f", {args.quantize}" if args.quantize else "")
    print(f"exported {args.run_dir} ({kind}) to {out}")
    return 0
