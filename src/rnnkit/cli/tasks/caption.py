"""``rnnkit train caption``: a CNN + LSTM image captioner; ``rnnkit evaluate`` for its runs.

    rnnkit data fetch emoji && rnnkit train caption --dataset emoji --time-budget 12m
    rnnkit train caption --dataset emoji --conditioning init      # or every-step, attention
    rnnkit train caption --dataset my-images/      # PNGs + captions.tsv (file<TAB>caption)
    rnnkit train --resume runs/caption-emoji-attention-20250101-120000
    rnnkit evaluate runs/caption-emoji-attention-20250101-120000 --json

At the end the best checkpoint (by validation loss, or greedy BLEU with --select bleu)
captions the test split greedily and with beam search; the summary has test_bleu (beam),
test_bleu_greedy and test_chrf (beam). An attention run also draws
RUN_DIR/plots/attention-test-<k>.png (--heatmaps of them). Progress goes to stderr; the
summary to stdout (with --json, one JSON object).
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import print_result, refuse_data
from rnnkit.cli.flags import add_task_flags, config_overrides
from rnnkit.cli.generic_task import train_run
from rnnkit.tasks.caption_config import CaptionConfig, resolve_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train caption``'s flags, from its config."""
    add_task_flags(parser, CaptionConfig(), "runs/caption-<data>-<mode>-<time>")


def start(args: argparse.Namespace):
    return train_run("caption", resolve_config(config_overrides(args)), args)


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR`` for a captioning run: BLEU and chrF, greedy and beam."""
    refuse_data(args, "caption")
    from rnnkit.tasks.caption_runs import evaluate_run

    result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
    return [
        f"{result['data']}, {result['split']} split ({result['images']} images): BLEU "
        f"{result['bleu_beam']:.2f} beam {result['beam_size']}, {result['bleu_greedy']:.2f} "
        f"greedy; chrF {result['chrf_beam']:.2f} beam, {result['chrf_greedy']:.2f} greedy; "
        f"loss {result['loss']:.4f} nats/word; checkpoint {result['checkpoint']} "
        f"(step {result['steps']})"
    ]


def summary_lines(summary: dict) -> list[str]:
    """A finished captioning run in a few lines."""
    lines = [
        f"{summary['stop_reason']}: {summary['steps']} steps, "
        f"{summary['tokens_per_s']:,.0f} words/s, {summary['elapsed_s']:.0f} s"
    ]
    if summary["test_bleu"] is not None:
        lines.append(
            f"test BLEU {summary['test_bleu']:.2f} (beam {summary['beam_size']}), "
            f"{summary['test_bleu_greedy']:.2f} (greedy); chrF {summary['test_chrf']:.2f} "
            f"(beam), {summary['test_chrf_greedy']:.2f} (greedy); best checkpoint by "
            f"{summary['selected_by']}: step {summary['best_step']}"
        )
    run = summary["run_dir"]
    lines.append(f"run directory: {run}  (rnnkit caption {run} IMAGE.png; rnnkit evaluate {run})")
    return lines
