"""``rnnkit train charlm``: train a character-level language model; ``--resume`` continues one.

    rnnkit train charlm --preset quick                   # the README's first command
    rnnkit train charlm --data my.txt --cell gru --hidden-size 512 --time-budget 1h30m
    rnnkit train --resume runs/charlm-lstm-20250101-120000
    rnnkit train classify --dataset names                # and: rnnkit train classify --help
    rnnkit train tag --dataset ner --char-features

A preset sets every option; flags given explicitly override it. The run directory holds
everything (config.json, vocab.json, metrics.jsonl, TensorBoard events, checkpoints/,
samples.txt, plots/loss.png). Progress goes to stderr; evaluations and samples to stdout
(to stderr with --json, whose stdout is one JSON object).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from rnnkit.models.language_model import CELLS, EMBEDDINGS
from rnnkit.tasks.charlm_config import DEFAULT_PRESET, PRESETS, resolve_config
from rnnkit.training.config import OPTIMIZERS, PRECISIONS, SCHEDULES, parse_duration
from rnnkit.training.progress import ProgressBar

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
RESUME_FLAGS = ("max_steps", "time_budget")
# Tasks of ``rnnkit train`` beyond charlm, classify and tag: task name -> CLI module. Each
# module has ``register_task(tasks)`` (adds its subparser to ``rnnkit train``),
# ``resume_run(run_dir, max_steps, time_budget, as_json) -> int`` (``rnnkit train --resume``)
# and ``evaluate_command(args) -> int`` (``rnnkit evaluate``); its runs' config.json names
# the task.
MORE_TASKS: dict[str, str] = {
    "caption": "rnnkit.cli.train_caption",
    "forecast": "rnnkit.cli.train_forecast",
    "seq2seq": "rnnkit.cli.train_seq2seq",
}
DRY_RUN = {"data.max_chars": 20_000, "trainer.eval_every": 3, "trainer.log_every": 1}


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a model (train charlm|classify|tag) or continue a run (train --resume RUN_DIR)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("--resume", dest="resume_only", metavar="RUN_DIR", help="continue a run")
    train.add_argument("--max-steps", dest="resume_max_steps", type=_positive_int, metavar="N")
    train.add_argument("--time-budget", dest="resume_time_budget", metavar="D")
    train.add_argument("--json", dest="resume_json", action="store_true")
    train.set_defaults(func=resume_command)
    tasks = train.add_subparsers(dest="task", metavar="TASK")
    charlm = tasks.add_parser(
        "charlm",
        help="character-level language model (Shakespeare by default)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_charlm_arguments(charlm)
    charlm.set_defaults(func=charlm_command)
    from rnnkit.cli.train_labelled import register_tasks  # here: it imports this module

    register_tasks(tasks)
    for module in MORE_TASKS.values():
        importlib.import_module(module).register_task(tasks)


def _add_charlm_arguments(parser: argparse.ArgumentParser) -> None:
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
    data.add_argument("--max-chars", type=_positive_int, metavar="N", help="use the first N only")
    data.add_argument("--seq-len", type=_positive_int, metavar="T", help="TBPTT chunk length")
    data.add_argument("--batch-size", type=_positive_int, metavar="B", help="parallel streams")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", choices=CELLS)
    model.add_argument("--hidden-size", type=_positive_int, metavar="N")
    model.add_argument("--layers", type=_positive_int, metavar="N")
    model.add_argument("--dropout", type=float, metavar="P")
    model.add_argument("--embedding", choices=EMBEDDINGS)
    model.add_argument("--embedding-size", type=_positive_int, metavar="E")
    model.add_argument("--tie-weights", action=argparse.BooleanOptionalAction, default=None)
    optim = parser.add_argument_group("optimisation")
    optim.add_argument("--optimizer", metavar="NAME", help=f"{'|'.join(OPTIMIZERS)}")
    optim.add_argument("--lr", type=float, metavar="LR")
    optim.add_argument("--weight-decay", type=float, metavar="W")
    optim.add_argument("--schedule", choices=SCHEDULES)
    optim.add_argument("--warmup-steps", type=_non_negative_int, metavar="N")
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
    stop.add_argument("--max-steps", type=_positive_int, metavar="N")
    stop.add_argument(
        "--early-stopping",
        type=_positive_int,
        metavar="EVALS",
        help="stop after this many evaluations without a new best",
    )
    stop.add_argument("--eval-every", type=_positive_int, metavar="N")
    stop.add_argument("--log-every", type=_positive_int, metavar="N")
    stop.add_argument("--prime", help="start of the sample written at each evaluation")
    stop.add_argument("--sample-length", type=_positive_int, metavar="N")
    stop.add_argument(
        "--diagnose-every",
        type=_non_negative_int,
        metavar="N",
        help="every N steps log gradient flow through time, W_hh spectra and gate saturation "
        "to metrics.jsonl and TensorBoard (0: off; see docs/diagnostics.md)",
    )


def charlm_command(args: argparse.Namespace) -> int:
    if args.resume:
        given = [
            name
            for name in (*CONFIG_FLAGS, "clip", "threads", "preset", "out", "dry_run")
            if getattr(args, name) not in (None, False)
        ]
        if given or args.engine != "torch":
            raise ValueError(
                "--resume continues a run with its own configuration; only --max-steps, "
                f"--time-budget and --json go with it (got {_flags(given or ['engine'])})"
            )
        return _resume(args.resume, args.max_steps, _duration(args.time_budget), args.json)
    if args.engine == "numpy":
        return _train_numpy(args)
    config = resolve_config(args.preset or DEFAULT_PRESET, charlm_overrides(args))
    reporter = _reporter(args.json)
    from rnnkit.tasks.charlm import train

    preset = args.preset or DEFAULT_PRESET
    result = _guarded(lambda: train(config, args.out, preset=preset, reporter=reporter))
    return _report(result, args.json)


def charlm_overrides(args: argparse.Namespace) -> dict:
    """The dotted config keys the explicit flags set (see ``CONFIG_FLAGS``)."""
    overrides = {
        key: getattr(args, dest)
        for dest, key in CONFIG_FLAGS.items()
        if getattr(args, dest) is not None
    }
    if args.threads is not None:
        overrides.update(_threads(args.threads))
    if args.clip is not None:
        overrides["trainer.clip_norm"] = args.clip if args.clip > 0 else None
    if args.max_steps is not None or args.time_budget is not None:
        overrides["trainer.max_steps"] = args.max_steps
        overrides["trainer.time_budget"] = _duration(args.time_budget)
    if args.dry_run:
        overrides = {**DRY_RUN, **overrides}
        overrides.setdefault("trainer.max_steps", 6)
        overrides["trainer.time_budget"] = None
    return overrides


def resume_command(args: argparse.Namespace) -> int:
    if not args.resume_only:
        raise ValueError(
            "name a task (charlm, classify, tag) or give --resume RUN_DIR; see rnnkit train --help"
        )
    return _resume(
        args.resume_only,
        args.resume_max_steps,
        _duration(args.resume_time_budget),
        args.resume_json,
    )


def _resume(run_dir: str, max_steps, time_budget, as_json: bool) -> int:
    task = _task_of(run_dir)
    if task in ("classify", "tag"):
        from rnnkit.cli.train_labelled import resume_labelled

        return resume_labelled(task, run_dir, max_steps, time_budget, as_json)
    if task in MORE_TASKS:
        return importlib.import_module(MORE_TASKS[task]).resume_run(
            run_dir, max_steps, time_budget, as_json
        )
    from rnnkit.tasks.charlm import resume

    return _resume_guarded(resume, run_dir, max_steps, time_budget, as_json, _report)


def _task_of(run_dir: str) -> str | None:
    """The ``task`` config.json names, or None (the charlm path then says what is wrong)."""
    try:
        return json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8")).get("task")
    except (OSError, ValueError, AttributeError):
        return None


def _train_numpy(args: argparse.Namespace) -> int:
    from rnnkit.tasks.charlm_numpy import NumpyCharLMConfig, train_numpy

    ignored = [
        name
        for name in (*CONFIG_FLAGS, "clip", "threads", "preset", "time_budget", "dry_run")
        if name not in NUMPY_FLAGS and getattr(args, name) not in (None, False)
    ]
    if ignored:
        raise ValueError(
            f"{_flags(ignored)} do(es) not apply to --engine numpy; it takes --data --max-chars "
            "--cell --hidden-size --seq-len --batch-size --lr --optimizer --clip --max-steps "
            "--seed --sample-length --out --json"
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


def _guarded(call):
    """Run ``call``; a diverged loss or an OS error (disk full, no permission) becomes a
    ValueError, which ``rnnkit`` prints as one line (the last checkpoint stays as it was)."""
    try:
        return call()
    except (FloatingPointError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(" ".join(str(error).split())) from None


def _resume_guarded(resume, run_dir: str, max_steps, time_budget, as_json: bool, report) -> int:
    """``rnnkit train --resume RUN_DIR`` for any task: its ``resume(run_dir, max_steps=,
    time_budget=, reporter=)`` under ``_guarded`` with a progress bar, then its
    ``report(result, as_json)``."""
    reporter = _reporter(as_json)
    result = _guarded(
        lambda: resume(run_dir, max_steps=max_steps, time_budget=time_budget, reporter=reporter)
    )
    return report(result, as_json)


def _reporter(as_json: bool) -> ProgressBar:
    return ProgressBar(stream=sys.stderr, output=sys.stderr if as_json else sys.stdout)


def _report(result, as_json: bool) -> int:
    metrics = result.metrics
    best = result.best_metric
    summary = {
        "run_dir": str(result.run_dir),
        "steps": result.steps,
        "tokens_per_s": result.tokens_per_s,
        "precision": result.precision,
        "val_nats": best,
        "val_bpc": best / 0.6931471805599453 if best is not None else None,
        "best_step": result.best_step,
        "last_val_nats": metrics.get("val_nats"),
        "stop_reason": result.stop_reason,
        "tokens": result.tokens,
        "train_seconds": result.train_seconds,
        "elapsed_s": result.elapsed,
        "clip_fraction": result.clip_fraction,
    }
    if as_json:
        print(json.dumps(summary))
    else:
        line = (
            f"{result.stop_reason}: {result.steps} steps, {result.tokens_per_s:,.0f} tokens/s, "
            f"{result.elapsed:.0f} s; gradient clipped in {100 * result.clip_fraction:.1f}% "
            "of steps"
        )
        if best is not None:
            line += (
                f"; best val {best:.4f} nats/char ({summary['val_bpc']:.4f} bits/char) "
                f"at step {result.best_step}"
            )
        print(line)
        print(f"run directory: {result.run_dir}  (rnnkit sample {result.run_dir})")
    if result.stop_reason == "interrupted":
        print(
            f"stopped early; continue with: rnnkit train --resume {result.run_dir}", file=sys.stderr
        )
        return 130
    return 0


def _flags(names: list[str]) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in names)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _threads(text: str) -> dict:
    if text == "auto":
        return {"trainer.threads": None, "trainer.adapt_threads": True}
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--threads takes a positive integer or auto, got {text!r}")
    return {"trainer.threads": int(text), "trainer.adapt_threads": False}


def _duration(text: str | None) -> float | None:
    return None if text is None else parse_duration(text)
