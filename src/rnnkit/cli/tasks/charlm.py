"""``rnnkit train charlm``: train a character-level language model.

    rnnkit train charlm --preset quick                   # the README's first command
    rnnkit train charlm --data my.txt --cell gru --hidden-size 512 --time-budget 1h30m
    rnnkit train charlm --engine numpy --cell rnn --hidden-size 100   # the lectures' trainer
    rnnkit train --resume runs/charlm-lstm-20250101-120000

A preset sets every option; flags given explicitly override it. The run directory holds
everything (config.json, vocab.json, metrics.jsonl, TensorBoard events, checkpoints/,
samples.txt, plots/loss.png). Progress goes to stderr; evaluations and samples to stdout
(to stderr with --json, whose stdout is one JSON object).
"""

from __future__ import annotations

import argparse
import json

from rnnkit.cli.args import (
    duration,
    flag_names,
    non_negative_int,
    positive_int,
    print_result,
    threads,
)
from rnnkit.cli.task_flags import train_run
from rnnkit.models.language_model import CELLS, EMBEDDINGS
from rnnkit.models.recurrent import describe_cells
from rnnkit.tasks.charlm_config import DEFAULT_PRESET, PRESETS, resolve_config
from rnnkit.training.config import OPTIMIZERS, PRECISIONS, SCHEDULES

# flag dest -> dotted config key; a flag left out (None) keeps the preset's value
CONFIG_FLAGS = {
    "data": "data.source",
    "seq_len": "data.seq_len",
    "batch_size": "data.batch_size",
    "max_chars": "data.max_chars",
    "cell": "model.cell",
    "hidden_size": "model.hidden_size",
    "layers": "model.num_layers",
    "dropout": "model.dropout",
    "embedding": "model.embedding",
    "embedding_size": "model.embedding_size",
    "tie_weights": "model.tie_weights",
    "optimizer": "optimizer.name",
    "lr": "optimizer.lr",
    "weight_decay": "optimizer.weight_decay",
    "schedule": "schedule.name",
    "warmup_steps": "schedule.warmup_steps",
    "eval_every": "trainer.eval_every",
    "log_every": "trainer.log_every",
    "early_stopping": "trainer.early_stopping_patience",
    "precision": "trainer.precision",
    "seed": "trainer.seed",
    "prime": "sampling.prime",
    "sample_length": "sampling.length",
    "diagnose_every": "diagnostics.every",
}
NUMPY_FLAGS = {  # flag dest -> NumpyCharLMConfig field
    "data": "source",
    "max_chars": "max_chars",
    "cell": "cell",
    "hidden_size": "hidden_size",
    "seq_len": "seq_len",
    "batch_size": "batch_size",
    "lr": "lr",
    "optimizer": "optimizer",
    "clip": "clip_value",
    "max_steps": "steps",
    "seed": "seed",
    "sample_length": "sample_length",
}
INSTEAD_OF_PREDICT = "; generate text from it with rnnkit sample"  # for rnnkit predict
DRY_RUN = {"data.max_chars": 20_000, "trainer.eval_every": 3, "trainer.log_every": 1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train charlm``'s flags."""
    run = parser.add_argument_group("run")
    run.add_argument("--preset", choices=tuple(PRESETS), help=f"(default: {DEFAULT_PRESET})")
    run.add_argument("--out", metavar="RUN_DIR", help="(default: runs/charlm-<cell>-<time>)")
    run.add_argument(
        "--resume", metavar="RUN_DIR", help="continue this run from its last checkpoint"
    )
    run.add_argument(
        "--engine",
        choices=("torch", "numpy"),
        default="torch",
        help="numpy: the lectures' NumPy trainer; it takes --data --max-chars "
        "--cell (rnn|lstm|gru) --hidden-size --seq-len --batch-size --lr "
        "--optimizer (sgd|momentum|adagrad|adam) --clip (by value) --max-steps "
        "--seed --sample-length --out --json, and writes metrics and a sample only",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="a handful of steps on a 20k-character slice (checks a setup quickly)",
    )
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="PATH|NAME",
        help="a data set name (shakespeare, c-code, abc-music) or a UTF-8 text file or directory",
    )
    data.add_argument("--max-chars", type=positive_int, metavar="N", help="use the first N only")
    data.add_argument("--seq-len", type=positive_int, metavar="T", help="TBPTT chunk length")
    data.add_argument("--batch-size", type=positive_int, metavar="B", help="parallel streams")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", metavar="CELL", help=describe_cells(CELLS))
    model.add_argument("--hidden-size", type=positive_int, metavar="N")
    model.add_argument("--layers", type=positive_int, metavar="N")
    model.add_argument("--dropout", type=float, metavar="P")
    model.add_argument("--embedding", choices=EMBEDDINGS)
    model.add_argument("--embedding-size", type=positive_int, metavar="E")
    model.add_argument("--tie-weights", action=argparse.BooleanOptionalAction, default=None)
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--optimizer", metavar="NAME", help=f"{'|'.join(OPTIMIZERS)}")
    optim.add_argument("--lr", type=float, metavar="LR")
    optim.add_argument("--weight-decay", type=float, metavar="W")
    optim.add_argument("--schedule", choices=SCHEDULES)
    optim.add_argument("--warmup-steps", type=non_negative_int, metavar="N")
    optim.add_argument(
        "--clip",
        type=float,
        metavar="NORM",
        help="clip the global gradient norm (default 5; 0 turns clipping off)",
    )
    optim.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="bf16: CPU autocast; auto: bf16 where the CPU has native bf16, else fp32",
    )
    optim.add_argument("--seed", type=int)
    optim.add_argument(
        "--threads",
        metavar="N|auto",
        help="torch threads; auto switches between 1 and all while training, whichever is "
        "faster (for CPUs other programs share)",
    )
    stop = parser.add_argument_group("stopping and reporting")
    stop.add_argument("--time-budget", metavar="D", help="e.g. 90s, 10m, 1h30m")
    stop.add_argument("--max-steps", type=positive_int, metavar="N")
    stop.add_argument(
        "--early-stopping",
        type=positive_int,
        metavar="EVALS",
        help="stop after this many evaluations without a new best",
    )
    stop.add_argument("--eval-every", type=positive_int, metavar="N")
    stop.add_argument("--log-every", type=positive_int, metavar="N")
    stop.add_argument("--prime", help="start of the sample written at each evaluation")
    stop.add_argument("--sample-length", type=positive_int, metavar="N")
    stop.add_argument(
        "--diagnose-every",
        type=non_negative_int,
        metavar="N",
        help="every N steps log gradient flow through time, W_hh spectra and gate saturation "
        "to metrics.jsonl and TensorBoard (0: off; see docs/diagnostics.md)",
    )


def start(args: argparse.Namespace):
    """A new run (or, with ``--engine numpy``, the lectures' NumPy trainer: printed here,
    nothing returned)."""
    if args.engine == "numpy":
        _train_numpy(args)
        return None
    preset = args.preset or DEFAULT_PRESET
    config = resolve_config(preset, charlm_overrides(args))
    return train_run("charlm", config, args, notes={"preset": preset})


def charlm_overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the explicit flags set (see ``CONFIG_FLAGS``)."""
    overrides = {
        key: getattr(args, dest)
        for dest, key in CONFIG_FLAGS.items()
        if getattr(args, dest) is not None
    }
    if args.threads is not None:
        overrides.update(threads(args.threads))
    if args.clip is not None:
        overrides["trainer.clip_norm"] = args.clip if args.clip > 0 else None
    if args.max_steps is not None or args.time_budget is not None:
        overrides["trainer.max_steps"] = args.max_steps
        overrides["trainer.time_budget"] = duration(args.time_budget)
    if args.dry_run:
        overrides = {**DRY_RUN, **overrides}
        overrides.setdefault("trainer.max_steps", 6)
        overrides["trainer.time_budget"] = None
    return overrides


def summary_lines(summary: dict) -> list[str]:
    """A finished character-model run in two lines."""
    line = (
        f"{summary['stop_reason']}: {summary['steps']} steps, {summary['tokens_per_s']:,.0f} "
        f"tokens/s, {summary['elapsed_s']:.0f} s; gradient clipped in "
        f"{100 * summary['clip_fraction']:.1f}% of steps"
    )
    best = summary["val_nats"]
    if best is not None:
        line += (
            f"; best val {best:.4f} nats/char ({summary['val_bpc']:.4f} bits/char) "
            f"at step {summary['best_step']}"
        )
    run = summary["run_dir"]
    return [line, f"run directory: {run}  (rnnkit sample {run})"]


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR [--data PATH|NAME] [--split val|test]``: nats and bits per
    character."""
    from rnnkit.tasks.charlm_runs import evaluate_run

    result = evaluate_run(
        args.run_dir, data=args.data, split=args.split, checkpoint=args.checkpoint
    )
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
    return [
        f"{result['data']}: {result['nats']:.4f} nats/char, {result['bpc']:.4f} bits/char over "
        f"{result['tokens']:,} characters ({result['unknown_tokens']:,} unknown); "
        f"checkpoint {result['checkpoint']} (step {result['steps']})"
    ]


def _train_numpy(args: argparse.Namespace) -> int:
    from rnnkit.tasks.charlm_numpy import NumpyCharLMConfig, train_numpy

    ignored = [
        name
        for name in (*CONFIG_FLAGS, "clip", "threads", "preset", "time_budget", "dry_run")
        if name not in NUMPY_FLAGS and getattr(args, name) not in (None, False)
    ]
    if ignored:
        raise ValueError(
            f"{flag_names(ignored)} do(es) not apply to --engine numpy; it takes --data "
            "--max-chars --cell --hidden-size --seq-len --batch-size --lr --optimizer --clip "
            "--max-steps --seed --sample-length --out --json"
        )
    values = {
        field: getattr(args, dest)
        for dest, field in NUMPY_FLAGS.items()
        if getattr(args, dest) is not None
    }
    if "clip_value" in values and values["clip_value"] <= 0:
        values["clip_value"] = None
    summary = train_numpy(NumpyCharLMConfig(**values), args.out)
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "sample"}))
    else:
        print(summary["sample"])
        print(
            f"numpy engine: {summary['steps']} steps, {summary['tokens_per_s']:,.0f} chars/s; "
            f"val {summary['val_nats']:.4f} nats/char ({summary['val_bpc']:.4f} bits/char); "
            f"run directory {summary['run_dir']}"
        )
    return 0
