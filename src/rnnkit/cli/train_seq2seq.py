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
OTHER_FLAGS = ("clip", "threads", "time_budget", "max_steps", "out")


def register_task(tasks) -> None:
    """Add ``seq2seq`` to ``rnnkit train``'s task subparsers."""
    parser = tasks.add_parser(
        "seq2seq",
        help="encoder-decoder translation (bible or a TSV of sentence pairs), with attention",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    data.add_argument("--max-words", type=_positive_int, metavar="N", help="longest side (20)")
    data.add_argument("--split-seed", type=int, metavar="S", help="seed of the split (0)")
    data.add_argument("--val-size", type=_positive_int, metavar="N", help="(1000, <= 5%%)")
    data.add_argument("--test-size", type=_positive_int, metavar="N", help="(1000, <= 5%%)")
    data.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None)
    data.add_argument("--min-count", type=_positive_int, metavar="N", help="rarer words: <unk>")
    data.add_argument("--batch-size", type=_positive_int, metavar="B")
    model = parser.add_argument_group("model")
    model.add_argument("--attention", choices=ATTENTIONS, help="(default: multiplicative)")
    model.add_argument("--cell", choices=CELLS)
    model.add_argument("--hidden-size", type=_positive_int, metavar="H")
    model.add_argument("--layers", type=_positive_int, metavar="N")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument("--embedding-size", type=_positive_int, metavar="E")
    model.add_argument("--dropout", type=float, metavar="P")
    forcing = parser.add_argument_group("teacher forcing (scheduled sampling)")
    forcing.add_argument("--teacher-forcing", type=float, metavar="R", help="ratio at start (1)")
    forcing.add_argument("--teacher-forcing-end", type=float, metavar="R")
    forcing.add_argument("--teacher-forcing-schedule", choices=TEACHER_FORCING_SCHEDULES)
    forcing.add_argument("--teacher-forcing-steps", type=_positive_int, metavar="N")
    decoding = parser.add_argument_group("test decoding")
    decoding.add_argument("--beam", type=_positive_int, metavar="K", help="beam size (5)")
    decoding.add_argument("--length-penalty", type=float, metavar="A", help="GNMT alpha (0.6)")
    decoding.add_argument(
        "--heatmaps", type=_non_negative_int, metavar="N", help="attention PNGs of test pairs (3)"
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
    parser.set_defaults(func=seq2seq_command)


def seq2seq_command(args: argparse.Namespace) -> int:
    if args.resume:
        refuse_flags_on_resume(args, [*CONFIG_FLAGS, *OTHER_FLAGS, "reverse"])
        return resume_run(args.resume, args.max_steps, _duration(args.time_budget), args.json)
    from rnnkit.tasks.seq2seq import train
    from rnnkit.tasks.seq2seq_config import resolve_config

    config = resolve_config(overrides(args))
    reporter = _reporter(args.json)
    result = _guarded(lambda: train(config, args.out, reporter=reporter))
    return report(result, args.json)


def overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the explicit flags set (see ``CONFIG_FLAGS``)."""
    values = config_overrides(args, CONFIG_FLAGS)
    if args.reverse:
        if args.direction is not None:
            raise ValueError("give --direction or --reverse, not both")
        file_data = args.dataset not in (None, "bible")
        values["data.direction"] = "tgt-src" if file_data else "es-en"
    return values


def resume_run(run_dir: str, max_steps, time_budget, as_json: bool) -> int:
    from rnnkit.tasks.seq2seq import resume

    return _resume_guarded(resume, run_dir, max_steps, time_budget, as_json, report)


def evaluate_command(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR [--beam K]`` for a translation run."""
    if getattr(args, "data", None) is not None:
        raise ValueError(
            "--data applies to character models; a seq2seq run is evaluated on its own data "
            "set's split (--split train|val|test)"
        )
    from rnnkit.tasks.seq2seq_runs import evaluate_run

    beam = getattr(args, "beam", None) or 5
    result = evaluate_run(
        args.run_dir, split=args.split, beam_size=beam, checkpoint=args.checkpoint
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{result['data']} {result['direction']}, {result['split']} split ({result['pairs']} "
        f"pairs): BLEU {result['bleu']:.2f}, chrF {result['chrf']:.2f} with beam "
        f"{result['beam_size']}; greedy BLEU {result['bleu_greedy']:.2f}, chrF "
        f"{result['chrf_greedy']:.2f}; loss {result['loss']:.4f} nats/token; checkpoint "
        f"{result['checkpoint']} (step {result['steps']})"
    )
    print(f"translations: {result['translations']}")
    return 0


def report(result, as_json: bool) -> int:
    """Print a ``Seq2SeqResult``: one JSON object, or a few lines."""
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['stop_reason']}: {summary['steps']} steps, "
            f"{summary['tokens_per_s']:,.0f} tokens/s, {summary['elapsed_s']:.0f} s"
        )
        if summary.get("test_bleu") is not None:
            print(
                f"test BLEU {summary['test_bleu']:.2f}, chrF {summary['test_chrf']:.2f} (beam "
                f"{summary['beam_size']}); greedy BLEU {summary['test_bleu_greedy']:.2f}, chrF "
                f"{summary['test_chrf_greedy']:.2f} (best checkpoint by {summary['selected_by']}: "
                f"step {summary['best_step']})"
            )
        run = summary["run_dir"]
        print(f'run directory: {run}  (rnnkit translate {run} "..."; rnnkit evaluate {run})')
    if result.train.stop_reason == "interrupted":
        print(
            f"stopped early; continue with: rnnkit train --resume {summary['run_dir']}",
            file=sys.stderr,
        )
        return 130
    return 0
