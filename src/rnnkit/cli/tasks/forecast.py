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

from rnnkit.cli.args import print_result, refuse_data
from rnnkit.cli.generic_task import GenericAdapter
from rnnkit.tasks import lifecycle

TABLE_NAMES = {"RNN": "RNN", "naive": "naive", "seasonal_naive": "seasonal naive", "arima": "ARIMA"}

# flags from the config; the spec fills in the data set's defaults
_GENERIC = GenericAdapter("forecast")
add_arguments, start = _GENERIC.add_arguments, _GENERIC.start


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
    refuse_data(args, "forecasting", "val|test")
    result = lifecycle.evaluate(args.run_dir, args.split, args.checkpoint)
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
