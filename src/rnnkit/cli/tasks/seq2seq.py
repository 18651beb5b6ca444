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

from rnnkit.cli.args import print_result, refuse_data
from rnnkit.cli.flags import add_task_flags, config_overrides
from rnnkit.cli.generic_task import train_run
from rnnkit.tasks.seq2seq_config import Seq2SeqTaskConfig, resolve_config

BEAMS = True  # rnnkit evaluate --beam K: the beam of the evaluation besides greedy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train seq2seq``'s flags: the config's, and ``--reverse``."""
    add_task_flags(parser, Seq2SeqTaskConfig(), "runs/seq2seq-<data>-<time>")
    data = next(group for group in parser._action_groups if group.title == "data")
    data.add_argument(
        "--reverse", action="store_true", help="translate the other way (es-en; tgt-src)"
    )


def start(args: argparse.Namespace):
    return train_run("seq2seq", resolve_config(overrides(args)), args)


def overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the explicit flags set; ``--reverse`` names the direction."""
    values = config_overrides(args)
    if args.reverse:
        if values.get("data.direction") is not None:
            raise ValueError("give --direction or --reverse, not both")
        file_data = values.get("data.dataset", "bible") != "bible"
        values["data.direction"] = "tgt-src" if file_data else "es-en"
    return values


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR [--beam K]`` for a translation run."""
    refuse_data(args, "seq2seq")
    from rnnkit.tasks.seq2seq_runs import evaluate_run

    beam = 5 if getattr(args, "beam", None) is None else args.beam
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
