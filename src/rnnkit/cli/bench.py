"""``rnnkit bench``: speed against a reference measured in the same run."""

from __future__ import annotations

import json

from rnnkit.bench import layers
from rnnkit.cli.args import add_device_flag, command, positive_int
from rnnkit.models.recurrent import describe_cells, parse_cells
from rnnkit.training.devices import keep_freed_memory, resolve_device


def register(subparsers) -> None:
    parser = command(
        subparsers, "bench", __doc__, help="benchmarks that print ratios against torch.nn"
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    layer_parser = command(
        targets,
        "layers",
        layers.__doc__,
        help="training-step time of the fused path, the loop and torch.nn",
    )
    layer_parser.add_argument(
        "--cells",
        default=",".join(layers.CELLS),
        help=f"comma-separated, from {describe_cells(layers.BENCH_CELLS)} (default: %(default)s)",
    )
    layer_parser.add_argument(
        "--shape",
        action="append",
        dest="shapes",
        metavar="T,N,IN,HID,LAYERS",
        help="a shape to time (repeatable); default: the four shapes of issue 2",
    )
    layer_parser.add_argument("--repeats", type=int, default=5, help="timed rounds (median)")
    layer_parser.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    layer_parser.add_argument("--json", action="store_true", help="print a list of records")
    layer_parser.add_argument(
        "--system-heap",
        action="store_true",
        help="leave glibc's malloc as it is; by default freed memory is kept in the process, as "
        "rnnkit's training keeps it (trainer.keep_freed_memory), for every implementation alike",
    )
    add_device_flag(layer_parser)
    layer_parser.set_defaults(func=bench_layers_command)


def bench_layers_command(args) -> int:
    import torch

    if args.repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    shapes = [layers.parse_shape(s) for s in args.shapes] if args.shapes else layers.DEFAULT_SHAPES
    cells = parse_cells(args.cells, layers.BENCH_CELLS, "the benchmark")
    width = max(len("cell"), 8, *(len(cell) for cell in cells))  # gru-lectures: 12

    def show(record: layers.Record) -> None:
        if not args.json:
            shape = ",".join(map(str, record.shape))
            ratios = f"{record.ratio_vs_torch:6.2f}x torch"
            if record.ratio_vs_gru is not None:
                ratios = f"{record.ratio_vs_torch:6.2f}x LSTM {record.ratio_vs_gru:6.2f}x GRU"
            print(
                f"{record.cell:{width}s} {shape:>18s}  {record.impl:10s} {record.ms:10.2f} ms  "
                f"{ratios}",
                flush=True,
            )

    device = resolve_device(args.inference_device)
    kept = keep_freed_memory(device, not args.system_heap)
    if not args.json:
        heap = "freed memory kept" if kept else "the system's malloc"
        print(
            f"torch {torch.__version__} on {device}, {torch.get_num_threads()} threads, {heap}; "
            "training step = forward + backward"
        )
        print(f"{'cell':{width}s} {'T,N,in,hid,layers':>18s}  {'impl':10s} {'time':>13s}  ratio")
    records = layers.run(cells, shapes, repeats=args.repeats, on_record=show, device=device)
    if args.json:
        print(json.dumps([record.to_json() for record in records], indent=1))
    return 0
