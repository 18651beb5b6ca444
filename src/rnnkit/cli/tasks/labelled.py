"""What ``rnnkit train classify`` and ``rnnkit train tag`` print at the end of a run (their
flags come from their configs, as every task's: ``rnnkit.cli.generic_task``)."""

from __future__ import annotations


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
