"""``rnnkit train caption``: a CNN + LSTM image captioner; ``rnnkit evaluate`` for its runs.

    rnnkit data fetch emoji && rnnkit train caption --dataset emoji --time-budget 12m
    rnnkit train caption --dataset emoji --conditioning init      # or every-step, attention
    rnnkit train caption --dataset my-images/      # PNGs + captions.tsv (file<TAB>caption)
    rnnkit train --resume runs/caption-emoji-attention-20250101-120000
    rnnkit evaluate runs/caption-emoji-attention-20250101-120000 --json

At the end the best checkpoint (by validation loss, or greedy BLEU with --select bleu)
captions the test split greedily and with beam search; the summary has test_bleu (beam),
test_bleu_greedy and test_chrf (beam). An attention run also draws
RUN_DIR/plots/attention-test-<k>.png. Progress goes to stderr; the summary to stdout (with
--json, one JSON object).
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import non_negative_int, positive_int, print_result, refuse_data
from rnnkit.cli.task_flags import (
    add_optimisation_flags,
    add_stopping_flags,
    config_overrides,
    shared_flags,
    train_run,
)
from rnnkit.models.captioner import CELLS, CONDITIONINGS
from rnnkit.models.recurrent import describe_cells

# flag dest -> dotted config key; a flag left out (None) keeps the default
CONFIG_FLAGS = {
    "dataset": "data.dataset",
    "split_seed": "data.split_seed",
    "min_count": "data.min_count",
    "batch_size": "data.batch_size",
    "augment_shift": "data.augment_shift",
    "conditioning": "model.conditioning",
    "cell": "model.cell",
    "hidden_size": "model.hidden_size",
    "embedding_size": "model.embedding_size",
    "base_channels": "model.base_channels",
    "conv_blocks": "model.conv_blocks",
    "attention_size": "model.attention_size",
    "dropout": "model.dropout",
    "beam": "decoding.beam_size",
    "length_penalty": "decoding.length_penalty",
    **shared_flags(),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train caption``'s flags."""
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out", metavar="RUN_DIR", help="(default: runs/caption-<data>-<mode>-<time>)"
    )
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="emoji|FOLDER", help="FOLDER: images + captions.tsv")
    data.add_argument("--split-seed", type=int, metavar="S", help="seed of the split (0)")
    data.add_argument("--min-count", type=positive_int, metavar="N", help="rarer words: <unk>")
    data.add_argument("--batch-size", type=positive_int, metavar="B", help="(32)")
    data.add_argument(
        "--augment-shift",
        type=non_negative_int,
        metavar="PX",
        help="move training images by up to PX pixels (4; 0: off); never flipped",
    )
    model = parser.add_argument_group("model")
    model.add_argument("--conditioning", choices=CONDITIONINGS, help="(default: attention)")
    model.add_argument(
        "--cell", metavar="CELL", help=f"the decoder's: {describe_cells(CELLS)} (default: lstm)"
    )
    model.add_argument("--hidden-size", type=positive_int, metavar="H", help="(256)")
    model.add_argument("--embedding-size", type=positive_int, metavar="E", help="(64)")
    model.add_argument("--base-channels", type=positive_int, metavar="C", help="(32)")
    model.add_argument("--conv-blocks", type=positive_int, metavar="N", help="(3)")
    model.add_argument("--attention-size", type=positive_int, metavar="A", help="(128)")
    model.add_argument("--dropout", type=float, metavar="P", help="(0.2)")
    decoding = parser.add_argument_group("test-split decoding")
    decoding.add_argument("--beam", type=positive_int, metavar="K", help="beam size (3)")
    decoding.add_argument("--length-penalty", type=float, metavar="ALPHA", help="GNMT's (0)")
    add_optimisation_flags(parser)
    add_stopping_flags(
        parser,
        budget="10m",
        eval_every=200,
        select=("loss", "bleu"),
        select_help="the validation figure that picks the best checkpoint: loss (default) or "
        "bleu (greedy BLEU)",
    )


def start(args: argparse.Namespace):
    if args.dataset is None:
        raise ValueError("name the data: rnnkit train caption --dataset emoji|FOLDER")
    from rnnkit.tasks.caption_config import resolve_config

    return train_run("caption", resolve_config(config_overrides(args, CONFIG_FLAGS)), args)


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
