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

from rnnkit.cli.args import backend_model, given_flags, print_result
from rnnkit.cli.flags import add_task_flags, config_overrides
from rnnkit.cli.generic_task import train_run
from rnnkit.tasks.charlm_config import DEFAULT_PRESET, PRESETS, resolve_config
from rnnkit.training.config import OPTIMIZERS

NUMPY_FLAGS = {  # flag dest -> NumpyCharLMConfig field
    "data.source": "source",
    "data.max_chars": "max_chars",
    "data.encoding": "encoding",
    "data.decode_errors": "decode_errors",
    "model.cell": "cell",
    "model.hidden_size": "hidden_size",
    "data.seq_len": "seq_len",
    "data.batch_size": "batch_size",
    "optimizer.lr": "lr",
    "optimizer.name": "optimizer",
    "clip": "clip_value",
    "max_steps": "steps",
    "trainer.seed": "seed",
    "sampling.length": "sample_length",
}
NUMPY_TAKES = (
    "--data --max-chars --encoding --decode-errors --cell (rnn|lstm|gru) --hidden-size "
    "--seq-len --batch-size --lr --optimizer (sgd|momentum|adagrad|adam) --clip (by value) "
    "--max-steps --seed --sample-length --out --json"
)
INSTEAD_OF_PREDICT = "; generate text from it with rnnkit sample"  # for rnnkit predict
BACKENDS = True  # rnnkit evaluate --backend onnxruntime [--quantize int8]: nats/char of an export
DRY_RUN = {  # what --dry-run sets where no flag was given (--max-steps or --time-budget: both)
    "data.max_chars": 20_000,
    "trainer.eval_every": 3,
    "trainer.log_every": 1,
    "trainer.max_steps": 6,
    "trainer.time_budget": None,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train charlm``'s flags: the config's (their defaults: the default preset's),
    then what is the command line's own (the preset, the engine, ``--dry-run``)."""
    run = parser.add_argument_group("run")
    run.add_argument("--preset", choices=tuple(PRESETS), help=f"(default: {DEFAULT_PRESET})")
    defaults = resolve_config(DEFAULT_PRESET)
    # --optimizer is the config's, but also takes the NumPy engine's optimizers
    add_task_flags(parser, defaults, "runs/charlm-<cell>-<time>", skip=("optimizer.name",))
    run.add_argument(
        "--engine",
        choices=("torch", "numpy"),
        default="torch",
        help=f"numpy: the lectures' NumPy trainer; it takes {NUMPY_TAKES}, and writes "
        "metrics and a sample only",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="a handful of steps on a 20k-character slice (checks a setup quickly)",
    )
    optim = next(g for g in parser._action_groups if g.title == "optimisation")
    optim.add_argument(
        "--optimizer",
        dest="optimizer.name",
        metavar="NAME",
        help=f"{'|'.join(OPTIMIZERS)} (default: {defaults.optimizer.name})",
    )
    parser.set_defaults(config_keys=[*parser.get_default("config_keys"), "optimizer.name"])


def start(args: argparse.Namespace):
    """A new run (or, with ``--engine numpy``, the lectures' NumPy trainer: printed here,
    nothing returned)."""
    if args.out is not None and not args.out.strip():
        raise ValueError(
            "--out is empty; give a folder for the run, or leave --out out for a new "
            "runs/charlm-<cell>-<time>"
        )
    if args.engine == "numpy":
        _train_numpy(args)
        return None
    preset = args.preset or DEFAULT_PRESET
    config = resolve_config(preset, charlm_overrides(args))
    return train_run("charlm", config, args, notes={"preset": preset})


def charlm_overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the explicit flags set, and ``--dry-run``'s where none was given:
    a stopping point the user gave (``--max-steps``, ``--time-budget``) is theirs to keep."""
    overrides = config_overrides(args)
    if args.dry_run:
        overrides = {**DRY_RUN, **overrides}
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
    """``rnnkit evaluate RUN_DIR [--data PATH|NAME [--encoding NAME] [--decode-errors E]]
    [--split val|test]``: nats and bits per character."""
    from rnnkit.tasks.charlm_runs import evaluate_run

    model = backend_model(args)
    result = evaluate_run(
        args.run_dir,
        data=args.data,
        split=args.split,
        checkpoint=args.checkpoint,
        model=model,
        encoding=args.encoding,
        decode_errors=args.decode_errors,
    )
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
    return [
        f"{result['data']}: {result['nats']:.4f} nats/char, {result['bpc']:.4f} bits/char over "
        f"{result['tokens']:,} characters ({result['unknown_tokens']:,} unknown); "
        f"checkpoint {result['checkpoint']} (step {result['steps']})"
    ]


def _train_numpy(args: argparse.Namespace) -> None:
    from rnnkit.tasks.charlm_numpy import NumpyCharLMConfig, train_numpy

    ignored = given_flags(args, (*NUMPY_FLAGS, "engine", "out", "json"))
    if ignored:
        raise ValueError(
            f"{', '.join(ignored)} do(es) not apply to --engine numpy; it takes {NUMPY_TAKES}"
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
