"""What ``rnnkit train classify`` and ``rnnkit train tag`` share: the run, data and model
flags, starting a run with its baselines, and the summary of a finished run."""

from __future__ import annotations

import argparse

from rnnkit.cli.args import positive_int
from rnnkit.cli.task_flags import (
    add_optimisation_flags,
    add_stopping_flags,
    config_overrides,
    shared_flags,
    train_run,
)
from rnnkit.models.classifier import CELLS
from rnnkit.models.recurrent import describe_cells

# flag dest -> dotted config key, for both tasks; a flag left out (None) keeps the default
SHARED_FLAGS = {
    "dataset": "data.dataset",
    "split_seed": "data.split_seed",
    "min_count": "data.min_count",
    "batch_size": "data.batch_size",
    "cell": "model.cell",
    "hidden_size": "model.hidden_size",
    "layers": "model.num_layers",
    "bidirectional": "model.bidirectional",
    "embedding_size": "model.embedding_size",
    "dropout": "model.dropout",
    **shared_flags(),
}


def add_common(parser: argparse.ArgumentParser, datasets: str) -> None:
    run = parser.add_argument_group("run")
    run.add_argument("--out", metavar="RUN_DIR", help="(default: runs/<task>-<data>-<time>)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    run.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="NAME|FILE", help=datasets.replace("|", ", "))
    data.add_argument("--split-seed", type=int, metavar="S", help="seed of the split (0)")
    data.add_argument("--min-count", type=positive_int, metavar="N", help="rarer words: <unk>")
    data.add_argument("--batch-size", type=positive_int, metavar="B")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", metavar="CELL", help=describe_cells(CELLS))
    model.add_argument("--hidden-size", type=positive_int, metavar="H")
    model.add_argument("--layers", type=positive_int, metavar="N")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument("--embedding-size", type=positive_int, metavar="E")
    model.add_argument("--dropout", type=float, metavar="P")
    add_optimisation_flags(parser)
    add_stopping_flags(
        parser,
        budget="5m",
        eval_every=200,
        select=("loss", "error"),
        select_help="the validation figure that picks the best checkpoint (classify: loss; "
        "tag: error, i.e. 1 - entity F1 for BIO tags)",
    )
    parser.data_group, parser.model_group = data, model


def start_labelled(task: str, args: argparse.Namespace, flags: dict[str, str]):
    """Train a new classify or tag run from the flags (``flags``: the task's own ``dest ->
    key`` map, beside ``SHARED_FLAGS``)."""
    if args.dataset is None:
        raise ValueError(f"name the data: rnnkit train {task} --dataset NAME|FILE")
    overrides = config_overrides(args, {**SHARED_FLAGS, **flags})
    if args.no_baselines:
        overrides["baselines.enabled"] = False
    from rnnkit.tasks.registry import get_spec

    return train_run(task, get_spec(task).resolve_config(overrides), args)


def summary_lines(summary: dict) -> list[str]:
    lines = [
        f"{summary['stop_reason']}: {summary['steps']} steps, "
        f"{summary['tokens_per_s']:,.0f} tokens/s, {summary['elapsed_s']:.0f} s"
    ]
    if summary.get("test_accuracy") is not None:
        test = f"test accuracy {summary['test_accuracy']:.4f}"
        if summary.get("test_macro_f1") is not None:
            test += f", macro-F1 {summary['test_macro_f1']:.4f}"
        if summary.get("test_entity_f1") is not None:
            test += f", entity F1 {summary['test_entity_f1']:.4f}"
        lines.append(
            f"{test} (best checkpoint by {summary['selected_by']}: step {summary['best_step']})"
        )
    names = {
        "baseline_majority_accuracy": "majority",
        "baseline_logreg_accuracy": "logistic regression",
        "baseline_logreg_points_accuracy": "logistic regression on the frames at 5 steps",
        "baseline_most_frequent_tag_accuracy": "most frequent tag per word",
    }
    baselines = [f"{name} {summary[key]:.4f}" for key, name in names.items() if key in summary]
    if baselines:
        lines.append(f"baselines, test accuracy: {', '.join(baselines)}")
    run = summary["run_dir"]
    lines.append(f"run directory: {run}  (rnnkit predict {run} ...; rnnkit evaluate {run})")
    return lines
