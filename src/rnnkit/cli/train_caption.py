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
    _non_negative_int,
    _positive_int,
    _reporter,
    _resume_guarded,
)
from rnnkit.models.captioner import CONDITIONINGS

# flag dest -> dotted config key; a flag left out (None) keeps the default
CONFIG_FLAGS = {
    "dataset": "data.dataset",
    "split_seed": "data.split_seed",
    "min_count": "data.min_count",
    "batch_size": "data.batch_size",
    "augment_shift": "data.augment_shift",
    "conditioning": "model.conditioning",
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
OTHER_FLAGS = ("clip", "threads", "time_budget", "max_steps", "out")


def register_task(tasks) -> None:
    """Add ``caption`` to ``rnnkit train``'s task subparsers."""
    parser = tasks.add_parser(
        "caption",
        help="image captioner: CNN + LSTM on the emoji or a folder of images",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--out", metavar="RUN_DIR", help="(default: runs/caption-<data>-<mode>-<time>)"
    )
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="emoji|FOLDER", help="FOLDER: images + captions.tsv")
    data.add_argument("--split-seed", type=int, metavar="S", help="seed of the split (0)")
    data.add_argument("--min-count", type=_positive_int, metavar="N", help="rarer words: <unk>")
    data.add_argument("--batch-size", type=_positive_int, metavar="B", help="(32)")
    data.add_argument(
        "--augment-shift",
        type=_non_negative_int,
        metavar="PX",
        help="move training images by up to PX pixels (4; 0: off); never flipped",
    )
    model = parser.add_argument_group("model")
    model.add_argument("--conditioning", choices=CONDITIONINGS, help="(default: attention)")
    model.add_argument("--hidden-size", type=_positive_int, metavar="H", help="(256)")
    model.add_argument("--embedding-size", type=_positive_int, metavar="E", help="(64)")
    model.add_argument("--base-channels", type=_positive_int, metavar="C", help="(32)")
    model.add_argument("--conv-blocks", type=_positive_int, metavar="N", help="(3)")
    model.add_argument("--attention-size", type=_positive_int, metavar="A", help="(128)")
    model.add_argument("--dropout", type=float, metavar="P", help="(0.2)")
    decoding = parser.add_argument_group("test-split decoding")
    decoding.add_argument("--beam", type=_positive_int, metavar="K", help="beam size (3)")
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
    parser.set_defaults(func=caption_command)


def caption_command(args: argparse.Namespace) -> int:
    if args.resume:
        refuse_flags_on_resume(args, [*CONFIG_FLAGS, *OTHER_FLAGS])
        return resume_run(args.resume, args.max_steps, _duration(args.time_budget), args.json)
    if args.dataset is None:
        raise ValueError("name the data: rnnkit train caption --dataset emoji|FOLDER")
    overrides = config_overrides(args, CONFIG_FLAGS)
    from rnnkit.tasks.caption import train
    from rnnkit.tasks.caption_config import resolve_config

    config = resolve_config(overrides)
    reporter = _reporter(args.json)
    result = _guarded(lambda: train(config, args.out, reporter=reporter))
    return report(result, args.json)


def resume_run(run_dir: str, max_steps, time_budget, as_json: bool) -> int:
    """``rnnkit train --resume RUN_DIR`` for a captioning run."""
    from rnnkit.tasks.caption import resume

    return _resume_guarded(resume, run_dir, max_steps, time_budget, as_json, report)


def evaluate_command(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR`` for a captioning run: BLEU and chrF, greedy and beam."""
    if args.data is not None:
        raise ValueError(
            "--data applies to character models; a caption run is evaluated on its own data "
            "set's split (--split train|val|test)"
        )
    from rnnkit.tasks.caption_runs import evaluate_run

    result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['data']}, {result['split']} split ({result['images']} images): BLEU "
        f"{result['bleu_beam']:.2f} beam {result['beam_size']}, {result['bleu_greedy']:.2f} "
        f"greedy; chrF {result['chrf_beam']:.2f} beam, {result['chrf_greedy']:.2f} greedy; "
        f"loss {result['loss']:.4f} nats/word; checkpoint {result['checkpoint']} "
        f"(step {result['steps']})"
    )
    return 0


def report(result, as_json: bool) -> int:
    """Print a ``CaptionResult``: one JSON object, or a few lines."""
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['stop_reason']}: {summary['steps']} steps, "
            f"{summary['tokens_per_s']:,.0f} words/s, {summary['elapsed_s']:.0f} s"
        )
        if summary["test_bleu"] is not None:
            print(
                f"test BLEU {summary['test_bleu']:.2f} (beam {summary['beam_size']}), "
                f"{summary['test_bleu_greedy']:.2f} (greedy); chrF {summary['test_chrf']:.2f} "
                f"(beam), {summary['test_chrf_greedy']:.2f} (greedy); best checkpoint by "
                f"{summary['selected_by']}: step {summary['best_step']}"
            )
        run = summary["run_dir"]
        print(f"run directory: {run}  (rnnkit caption {run} IMAGE.png; rnnkit evaluate {run})")
    if result.train.stop_reason == "interrupted":
        print(
            f"stopped early; continue with: rnnkit train --resume {summary['run_dir']}",
            file=sys.stderr,
        )
        return 130
    return 0
