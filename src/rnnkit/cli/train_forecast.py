"""``rnnkit train forecast``: an RNN forecaster of a real-valued series, with baselines.

    rnnkit train forecast --dataset airline --time-budget 3m
    rnnkit train forecast --dataset co2 --mode direct --cell gru --json
    rnnkit train forecast --dataset sunspots --window 33 --horizon 11
    rnnkit train forecast --dataset my.csv --period 7     # one value a line, or time,value
    rnnkit train --resume runs/forecast-airline-20250101-120000
    rnnkit evaluate runs/forecast-airline-20250101-120000  # MAE / RMSE table, test part

The series is split in time: the last points are the test part, the ones before them the
validation part (sizes by data set; see docs/forecast.md). The baselines (naive, seasonal
naive, ARIMA fitted on train + val) forecast from the same test origins before the model
trains; at the end the best checkpoint (by validation MAE) is scored on the test part and
plotted in RUN_DIR/plots/forecast-test.png. Progress goes to stderr; the summary to stdout
(with --json, one JSON object).
"""

from __future__ import annotations

import argparse
import json
import sys

from rnnkit.cli.task_flags import (
    add_optimisation_flags,
    add_stopping_flags,
    config_overrides,
    refuse_flags_on_resume,
    shared_flags,
)
from rnnkit.cli.train import (
    _duration,
    _guarded,
    _positive_int,
    _reporter,
    _resume_guarded,
)
from rnnkit.models.forecaster import MODES
from rnnkit.models.recurrent import RECURRENT_CORES
from rnnkit.tasks.forecast_data import TRANSFORMS

# flag dest -> dotted config key; a flag left out (None) keeps the default
FLAGS = {
    "dataset": "data.dataset",
    "period": "data.period",
    "window": "data.window",
    "horizon": "data.horizon",
    "val_size": "data.val_size",
    "test_size": "data.test_size",
    "transform": "data.transform",
    "relative": "data.relative",
    "batch_size": "data.batch_size",
    "mode": "model.mode",
    "cell": "model.cell",
    "hidden_size": "model.hidden_size",
    "layers": "model.num_layers",
    "dropout": "model.dropout",
    **shared_flags(precision=False, select=False),
}
OTHER_FLAGS = ("clip", "threads", "time_budget", "max_steps", "no_baselines", "no_arima", "out")
TABLE_NAMES = {"RNN": "RNN", "naive": "naive", "seasonal_naive": "seasonal naive", "arima": "ARIMA"}


def register_task(tasks) -> None:
    """Add ``forecast`` to ``rnnkit train``'s task subparsers."""
    parser = tasks.add_parser(
        "forecast",
        help="forecaster of a real-valued series: sunspots, co2, airline or a CSV",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = parser.add_argument_group("run")
    run.add_argument("--out", metavar="RUN_DIR", help="(default: runs/forecast-<data>-<time>)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    run.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    run.add_argument("--no-arima", action="store_true", help="skip the ARIMA baseline only")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="NAME|FILE", help="sunspots, co2, airline, FILE.csv")
    data.add_argument("--period", type=_positive_int, metavar="M", help="season length")
    data.add_argument("--window", type=_positive_int, metavar="L", help="input steps")
    data.add_argument("--horizon", type=_positive_int, metavar="H", help="steps forecast")
    data.add_argument("--val-size", type=_positive_int, metavar="N", help="validation points")
    data.add_argument("--test-size", type=_positive_int, metavar="N", help="test points")
    data.add_argument("--transform", choices=TRANSFORMS, help="before scaling (by data set)")
    data.add_argument(
        "--relative",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="subtract each window's last value (default: on)",
    )
    data.add_argument("--batch-size", type=_positive_int, metavar="B")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--mode",
        choices=MODES,
        help="direct: many-to-one, H outputs at once; recursive: many-to-many, next value "
        "at every step, fed back (default: recursive)",
    )
    model.add_argument("--cell", choices=tuple(sorted(RECURRENT_CORES)))
    model.add_argument("--hidden-size", type=_positive_int, metavar="H")
    model.add_argument("--layers", type=_positive_int, metavar="N")
    model.add_argument("--dropout", type=float, metavar="P")
    add_optimisation_flags(parser, precision=False, threads_help="torch threads (default 1)")
    add_stopping_flags(parser, budget="3m", eval_every=100)
    parser.set_defaults(func=train_command)


def train_command(args: argparse.Namespace) -> int:
    if args.resume:
        refuse_flags_on_resume(args, [*FLAGS, *OTHER_FLAGS])
        return resume_run(args.resume, args.max_steps, _duration(args.time_budget), args.json)
    if args.dataset is None:
        raise ValueError("name the data: rnnkit train forecast --dataset sunspots|co2|airline|FILE")
    overrides = config_overrides(args, FLAGS)
    if args.no_baselines:
        overrides["baselines.enabled"] = False
    if args.no_arima:
        overrides["baselines.arima"] = False
    from rnnkit.tasks.forecast import train
    from rnnkit.tasks.forecast_config import resolve_config

    config = resolve_config(overrides)
    reporter = _reporter(args.json)
    result = _guarded(lambda: train(config, args.out, reporter=reporter))
    return report(result, args.json)


def resume_run(run_dir: str, max_steps, time_budget, as_json: bool) -> int:
    """``rnnkit train --resume RUN_DIR`` for a forecasting run."""
    from rnnkit.tasks.forecast import resume

    return _resume_guarded(resume, run_dir, max_steps, time_budget, as_json, report)


def report(result, as_json: bool) -> int:
    """Print a ``ForecastResult``: one JSON object, or a few lines with the MAE table."""
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['stop_reason']}: {summary['steps']} steps, {summary['elapsed_s']:.0f} s; "
            f"best validation MAE {_number(summary['best_val_mae'])} at step "
            f"{summary['best_step']}"
        )
        if summary.get("test_mae") is not None:
            print(
                f"test part from {summary['test_starts_at']}: {summary['test_origins']} "
                f"forecasts of {summary['test_horizon']} steps"
            )
            rows = {"RNN": (summary["test_mae"], summary["test_rmse"])}
            for method in ("naive", "seasonal_naive", "arima"):
                if f"baseline_{method}_mae" in summary:
                    rows[method] = (
                        summary[f"baseline_{method}_mae"],
                        summary[f"baseline_{method}_rmse"],
                    )
            for line in table_lines(rows):
                print(line)
        run = summary["run_dir"]
        print(f"run directory: {run}  (rnnkit forecast {run}; rnnkit evaluate {run})")
    if result.train.stop_reason == "interrupted":
        print(
            f"stopped early; continue with: rnnkit train --resume {summary['run_dir']}",
            file=sys.stderr,
        )
        return 130
    return 0


def table_lines(rows: dict[str, tuple[float, float]]) -> list[str]:
    """``method  MAE  RMSE`` lines, one a method."""
    lines = [f"{'method':<16}{'MAE':>12}{'RMSE':>12}"]
    for method, (mae, rmse) in rows.items():
        lines.append(f"{TABLE_NAMES.get(method, method):<16}{mae:>12.4f}{rmse:>12.4f}")
    return lines


def evaluate_command(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR`` for a forecasting run: the MAE / RMSE table."""
    if getattr(args, "data", None) is not None:
        raise ValueError(
            "--data applies to character models; a forecasting run is evaluated on its own "
            "series (--split val|test)"
        )
    from rnnkit.tasks.forecast_runs import evaluate_run

    split = getattr(args, "split", "test")
    result = evaluate_run(args.run_dir, split, getattr(args, "checkpoint", "best"))
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['data']}, {split} part: {result['origins']} forecasts of {result['horizon']} "
        f"steps; checkpoint {result['checkpoint']} (step {result['steps']})"
    )
    rows = {method: (v["mae"], v["rmse"]) for method, v in result["table"].items()}
    for line in table_lines(rows):
        print(line)
    print(f"plot: {result['plot']}")
    return 0


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}"
