"""``rnnkit train seq2seq``: an encoder-decoder translator, with or without attention.

    rnnkit data fetch bible                                   # once: KJV + Reina-Valera 1909
    rnnkit train seq2seq --dataset bible --attention multiplicative --time-budget 18m
    rnnkit train seq2seq --dataset bible --attention none --direction es-en
    rnnkit train seq2seq --dataset pairs.tsv --max-words 30   # source<TAB>target lines
    rnnkit train seq2seq --dataset bible --teacher-forcing 1.0 --teacher-forcing-end 0.7 \\
        --teacher-forcing-schedule linear --teacher-forcing-steps 3000
    rnnkit train --resume runs/seq2seq-bible-20250101-120000

At the end the best checkpoint (by validation loss, or --select bleu) translates the test
split greedily and with beam search (--beam, default 5); the summary has BLEU and chrF of
both (sacrebleu). Progress goes to stderr; the summary to stdout (with --json, one JSON
object).
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
from rnnkit.models.recurrent import describe_cells
from rnnkit.models.seq2seq import CELLS
from rnnkit.nn.attention import ATTENTIONS
from rnnkit.tasks.seq2seq_config import TEACHER_FORCING_SCHEDULES

# flag dest -> dotted config key; a flag left out (None) keeps the default
CONFIG_FLAGS = {
    "dataset": "data.dataset",
    "direction": "data.direction",
    "max_words": "data.max_words",
    "split_seed": "data.split_seed",
    "val_size": "data.val_size",
    "test_size": "data.test_size",
    "lowercase": "data.lowercase",
    "min_count": "data.min_count",
    "batch_size": "data.batch_size",
    "attention": "model.attention",
    "cell": "model.cell",
    "hidden_size": "model.hidden_size",
    "layers": "model.num_layers",
    "bidirectional": "model.bidirectional",
    "embedding_size": "model.embedding_size",
    "dropout": "model.dropout",
    "teacher_forcing": "teacher_forcing.start",
    "teacher_forcing_end": "teacher_forcing.end",
    "teacher_forcing_schedule": "teacher_forcing.schedule",
    "teacher_forcing_steps": "teacher_forcing.steps",
    "beam": "decoding.beam_size",
    "length_penalty": "decoding.length_penalty",
    "heatmaps": "decoding.heatmaps",
    **shared_flags(),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train seq2seq``'s flags."""
    run = parser.add_argument_group("run")
    run.add_argument("--out", metavar="RUN_DIR", help="(default: runs/seq2seq-<data>-<time>)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="bible|FILE.tsv", help="(default: bible)")
    data.add_argument(
        "--direction", metavar="D", help="en-es (default) or es-en; for a file src-tgt or tgt-src"
    )
    data.add_argument(
        "--reverse", action="store_true", help="translate the other way (es-en; tgt-src)"
    )
    data.add_argument("--max-words", type=positive_int, metavar="N", help="longest side (20)")
    data.add_argument("--split-seed", type=int, metavar="S", help="seed of the split (0)")
    data.add_argument("--val-size", type=positive_int, metavar="N", help="(1000, <= 5%%)")
    data.add_argument("--test-size", type=positive_int, metavar="N", help="(1000, <= 5%%)")
    data.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None)
    data.add_argument("--min-count", type=positive_int, metavar="N", help="rarer words: <unk>")
    data.add_argument("--batch-size", type=positive_int, metavar="B")
    model = parser.add_argument_group("model")
    model.add_argument("--attention", choices=ATTENTIONS, help="(default: multiplicative)")
    model.add_argument("--cell", metavar="CELL", help=describe_cells(CELLS))
    model.add_argument("--hidden-size", type=positive_int, metavar="H")
    model.add_argument("--layers", type=positive_int, metavar="N")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument("--embedding-size", type=positive_int, metavar="E")
    model.add_argument("--dropout", type=float, metavar="P")
    forcing = parser.add_argument_group("teacher forcing (scheduled sampling)")
    forcing.add_argument("--teacher-forcing", type=float, metavar="R", help="ratio at start (1)")
    forcing.add_argument("--teacher-forcing-end", type=float, metavar="R")
    forcing.add_argument("--teacher-forcing-schedule", choices=TEACHER_FORCING_SCHEDULES)
    forcing.add_argument("--teacher-forcing-steps", type=positive_int, metavar="N")
    decoding = parser.add_argument_group("test decoding")
    decoding.add_argument("--beam", type=positive_int, metavar="K", help="beam size (5)")
    decoding.add_argument("--length-penalty", type=float, metavar="A", help="GNMT alpha (0.6)")
    decoding.add_argument(
        "--heatmaps", type=non_negative_int, metavar="N", help="attention PNGs of test pairs (3)"
    )
    add_optimisation_flags(parser)
    add_stopping_flags(
        parser,
        budget="15m",
        eval_every=250,
        select=("loss", "bleu"),
        select_help="the validation figure that picks the best checkpoint: loss (default) or "
        "bleu (greedy BLEU)",
    )


def start(args: argparse.Namespace):
    from rnnkit.tasks.seq2seq_config import resolve_config

    return train_run("seq2seq", resolve_config(overrides(args)), args)


def overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the explicit flags set (see ``CONFIG_FLAGS``)."""
    values = config_overrides(args, CONFIG_FLAGS)
    if args.reverse:
        if args.direction is not None:
            raise ValueError("give --direction or --reverse, not both")
        file_data = args.dataset not in (None, "bible")
        values["data.direction"] = "tgt-src" if file_data else "es-en"
    return values


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR [--beam K]`` for a translation run."""
    refuse_data(args, "seq2seq")
    from rnnkit.tasks.seq2seq_runs import evaluate_run

    beam = getattr(args, "beam", None) or 5
    result = evaluate_run(
        args.run_dir, split=args.split, beam_size=beam, checkpoint=args.checkpoint
    )
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
    return [
        f"{result['data']} {result['direction']}, {result['split']} split ({result['pairs']} "
        f"pairs): BLEU {result['bleu']:.2f}, chrF {result['chrf']:.2f} with beam "
        f"{result['beam_size']}; greedy BLEU {result['bleu_greedy']:.2f}, chrF "
        f"{result['chrf_greedy']:.2f}; loss {result['loss']:.4f} nats/token; checkpoint "
        f"{result['checkpoint']} (step {result['steps']})",
        f"translations: {result['translations']}",
    ]


def summary_lines(summary: dict) -> list[str]:
    """A finished translation run in a few lines."""
    lines = [
        f"{summary['stop_reason']}: {summary['steps']} steps, "
        f"{summary['tokens_per_s']:,.0f} tokens/s, {summary['elapsed_s']:.0f} s"
    ]
    if summary.get("test_bleu") is not None:
        lines.append(
            f"test BLEU {summary['test_bleu']:.2f}, chrF {summary['test_chrf']:.2f} (beam "
            f"{summary['beam_size']}); greedy BLEU {summary['test_bleu_greedy']:.2f}, chrF "
            f"{summary['test_chrf_greedy']:.2f} (best checkpoint by {summary['selected_by']}: "
            f"step {summary['best_step']})"
        )
    run = summary["run_dir"]
    lines.append(f'run directory: {run}  (rnnkit translate {run} "..."; rnnkit evaluate {run})')
    return lines
