"""``rnnkit forecast RUN_DIR``: forecast past the end of a forecasting run's series.

    rnnkit forecast runs/forecast-airline --horizon 12          # 1961-01 ... 1961-12
    rnnkit forecast runs/forecast-co2 --horizon 24 --plot co2.png --json

The forecast starts after the last point of the series the run was trained on (its
``series.json``), from the last WINDOW values. A recursive (many-to-many) model feeds its
predictions back one step at a time for any horizon; a direct model forecasts its trained
horizon in one pass, and a longer horizon in blocks of that many steps, each block reading the
last WINDOW values of series and forecast so far. The plot goes to --plot PATH (default
RUN_DIR/plots/forecast-future.png), in the format its suffix names (.png, .svg, .pdf); a file
already there is replaced only if it is a figure of that format.
"""

from __future__ import annotations

import argparse
import json

from rnnkit.cli.args import (
    add_backend_flag,
    add_device_flag,
    backend_model,
    guarded,
    positive_int,
    run_command,
)
from rnnkit.data.output_paths import figure_path


def register(subparsers) -> None:
    parser = run_command(
        subparsers, "forecast", __doc__, help="forecast past the end of a forecasting run's series"
    )
    parser.add_argument(
        "--horizon", type=positive_int, metavar="H", help="steps (default: the run's)"
    )
    parser.add_argument("--plot", metavar="PATH", help="write the plot here (.png, .svg, .pdf)")
    add_device_flag(parser)
    add_backend_flag(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=forecast_command)


def forecast_command(args: argparse.Namespace) -> int:
    from rnnkit.tasks.forecast import forecast_run

    plot = None if args.plot is None else figure_path(args.plot, "--plot")
    model = backend_model(args)
    result = guarded(lambda: forecast_run(args.run_dir, args.horizon, args.checkpoint, plot, model))
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['data']}: {result['horizon']} steps after {result['after']} "
        f"({result['mode']} model, {result['how']}; checkpoint {result['checkpoint']}, "
        f"step {result['steps']})"
    )
    for label, value in zip(result["labels"], result["values"], strict=True):
        print(f"{label}\t{value:.4f}")
    print(f"plot: {result['plot']}")
    return 0
