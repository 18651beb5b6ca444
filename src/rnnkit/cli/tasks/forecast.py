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

from rnnkit.cli.args import positive_int, print_result
from rnnkit.cli.task_flags import (
    add_optimisation_flags,
    add_stopping_flags,
    config_overrides,
    shared_flags,
    train_run,
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
TABLE_NAMES = {"RNN": "RNN", "naive": "naive", "seasonal_naive": "seasonal naive", "arima": "ARIMA"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train forecast``'s flags."""
    run = parser.add_argument_group("run")
    run.add_argument("--out", metavar="RUN_DIR", help="(default: runs/forecast-<data>-<time>)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    run.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    run.add_argument("--no-arima", action="store_true", help="skip the ARIMA baseline only")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="NAME|FILE", help="sunspots, co2, airline, FILE.csv")
    data.add_argument("--period", type=positive_int, metavar="M", help="season length")
    data.add_argument("--window", type=positive_int, metavar="L", help="input steps")
    data.add_argument("--horizon", type=positive_int, metavar="H", help="steps forecast")
    data.add_argument("--val-size", type=positive_int, metavar="N", help="validation points")
    data.add_argument("--test-size", type=positive_int, metavar="N", help="test points")
    data.add_argument("--transform", choices=TRANSFORMS, help="before scaling (by data set)")
    data.add_argument(
        "--relative",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="subtract each window's last value (default: on)",
    )
    data.add_argument("--batch-size", type=positive_int, metavar="B")
    model = parser.add_argument_group("model")
    model.add_argument(
        "--mode",
        choices=MODES,
        help="direct: many-to-one, H outputs at once; recursive: many-to-many, next value "
        "at every step, fed back (default: recursive)",
    )
    model.add_argument("--cell", choices=tuple(sorted(RECURRENT_CORES)))
    model.add_argument("--hidden-size", type=positive_int, metavar="H")
    model.add_argument("--layers", type=positive_int, metavar="N")
    model.add_argument("--dropout", type=float, metavar="P")
    add_optimisation_flags(parser, precision=False, threads_help="torch threads (default 1)")
    add_stopping_flags(parser, budget="3m", eval_every=100)


def start(args: argparse.Namespace):
    if args.dataset is None:
        raise ValueError("name the data: rnnkit train forecast --dataset sunspots|co2|airline|FILE")
    overrides = config_overrides(args, FLAGS)
    if args.no_baselines:
        overrides["baselines.enabled"] = False
    if args.no_arima:
        overrides["baselines.arima"] = False
    from rnnkit.tasks.forecast_config import resolve_config

    return train_run("forecast", resolve_config(overrides), args)


def summary_lines(summary: dict) -> list[str]:
    """A finished forecasting run in a few lines, with the MAE table."""
    lines = [
        f"{summary['stop_reason']}: {summary['steps']} steps, {summary['elapsed_s']:.0f} s; "
        f"best validation MAE {_number(summary['best_val_mae'])} at step {summary['best_step']}"
    ]
    if summary.get("test_mae") is not None:
        lines.append(
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
        lines += table_lines(rows)
    run = summary["run_dir"]
    lines.append(f"run directory: {run}  (rnnkit forecast {run}; rnnkit evaluate {run})")
    return lines


def table_lines(rows: dict[str, tuple[float, float]]) -> list[str]:
    """``method  MAE  RMSE`` lines, one a method."""
    lines = [f"{'method':<16}{'MAE':>12}{'RMSE':>12}"]
    for method, (mae, rmse) in rows.items():
        lines.append(f"{TABLE_NAMES.get(method, method):<16}{mae:>12.4f}{rmse:>12.4f}")
    return lines


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR`` for a forecasting run: the MAE / RMSE table."""
    if getattr(args, "data", None) is not None:
        raise ValueError(
            "--data applies to character models; a forecasting run is evaluated on its own "
            "series (--split val|test)"
        )
    from rnnkit.tasks.forecast_runs import evaluate_run

    split = getattr(args, "split", "test")
    result = evaluate_run(args.run_dir, split, getattr(args, "checkpoint", "best"))
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
    lines = [
        f"{result['data']}, {result['split']} part: {result['origins']} forecasts of "
        f"{result['horizon']} steps; checkpoint {result['checkpoint']} (step {result['steps']})"
    ]
    rows = {method: (v["mae"], v["rmse"]) for method, v in result["table"].items()}
    return [*lines, *table_lines(rows), f"plot: {result['plot']}"]


def _number(value) -> str:
    return "-" if value is None else f"{value:.4f}"
