"""``rnnkit train classify`` and ``rnnkit train tag``: models on labelled data, with baselines.

    rnnkit train classify --dataset names --bidirectional --pooling attention --time-budget 10m
    rnnkit train classify --dataset sentiment --cell gru --dropout 0.3 --json
    rnnkit train classify --dataset vowels --max-steps 2000
    rnnkit train classify --dataset my.csv          # a CSV with a header and columns text,label
    rnnkit train tag --dataset ner --char-features
    rnnkit train tag --dataset my.conll             # token and tag a line, blank between sentences
    rnnkit train --resume runs/classify-names-20250101-120000

The baselines (majority class, logistic regression on n-grams or sequence summaries; most
frequent tag per word) are fitted on the same training split before the model trains. At the
end the best checkpoint (by validation error) is scored on the test split. Progress goes to
stderr; the summary to stdout (with --json, one JSON object).
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
    _positive_int,
    _reporter,
    _resume_guarded,
)
from rnnkit.models.pooling import POOLINGS
from rnnkit.models.recurrent import RECURRENT_CORES

CELLS = tuple(sorted(RECURRENT_CORES))
# flag dest -> dotted config key, for both tasks; a flag left out (None) keeps the default
SHARED_FLAGS = {
    "dataset": "data.dataset",
    "split_seed": "data.split_seed",
    "min_count": "data.min_count",
    "batch_size": "data.batch_size",
    "cell": "model.cell",
    "hidden_size": "model.hidden_size",
    "layers": "model.num_layers",
    "bidirectional": "model.bidirectional",
    "embedding_size": "model.embedding_size",
    "dropout": "model.dropout",
    **shared_flags(),
}
TASK_FLAGS = {
    "classify": {
        "level": "data.level",
        "max_length": "data.max_length",
        "pooling": "model.pooling",
        "embedding": "model.embedding",
        "embedding_dropout": "model.embedding_dropout",
        "input_noise": "model.input_noise",
        "random_crop": "model.random_crop",
        "time_warp": "model.time_warp",
        "pool_points": "model.pool_points",
        "label_smoothing": "model.label_smoothing",
        "input_shift": "model.input_shift",
        "conv_channels": "model.conv_channels",
        "conv_width": "model.conv_width",
        "conv_layers": "model.conv_layers",
    },
    "tag": {
        "lowercase": "data.lowercase",
        "max_word_chars": "data.max_word_chars",
        "char_features": "model.char_features",
        "char_embedding_size": "model.char_embedding_size",
        "char_hidden_size": "model.char_hidden_size",
        "crf": "model.crf",
    },
}
OTHER_FLAGS = ("clip", "threads", "time_budget", "max_steps", "no_baselines", "out")


def register_tasks(tasks) -> None:
    """Add ``classify`` and ``tag`` to ``rnnkit train``'s task subparsers."""
    classify = tasks.add_parser(
        "classify",
        help="sequence classifier: names, sentiment, sentiment-tweets, vowels or a CSV",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(classify, "names|sentiment|sentiment-tweets|vowels|FILE.csv")
    data, model = classify.data_group, classify.model_group
    data.add_argument("--level", choices=("char", "word"), help="tokens of text (default: by set)")
    data.add_argument("--max-length", type=_positive_int, metavar="N", help="first N tokens")
    model.add_argument("--pooling", choices=POOLINGS, help="(default: last)")
    model.add_argument(
        "--pool-points",
        type=int,
        metavar="K",
        help="--pooling points: read the states at K evenly spaced steps of each sequence (5)",
    )
    model.add_argument("--embedding", choices=("learned", "onehot"), help="for text")
    model.add_argument(
        "--embedding-dropout",
        type=float,
        metavar="Q",
        help="zero each whole input token (or frame) with probability Q in training (0)",
    )
    model.add_argument(
        "--input-noise",
        type=float,
        metavar="SIGMA",
        help="real-valued frames (vowels): add N(0, SIGMA^2) noise to each standardised "
        "feature in training (0)",
    )
    model.add_argument(
        "--input-shift",
        type=float,
        metavar="RHO",
        help="real-valued frames: add one N(0, RHO^2) offset per sequence to all its "
        "standardised frames in training (0)",
    )
    model.add_argument(
        "--random-crop",
        type=float,
        metavar="C",
        help="in training, read a random window of each sequence that cuts away up to the "
        "share C of it (0: whole sequences)",
    )
    model.add_argument(
        "--time-warp",
        type=float,
        metavar="W",
        help="real-valued frames: in training, resample each sequence by linear interpolation "
        "to between 1-W and 1+W times its length (0: as recorded)",
    )
    model.add_argument(
        "--label-smoothing",
        type=float,
        metavar="E",
        help="train towards 1-E+E/K on the true class and E/K on the others (0: one-hot)",
    )
    model.add_argument(
        "--conv-channels",
        type=int,
        metavar="C",
        help="a convolutional front end: C channels of 1-d convolutions over time, each with "
        "a ReLU, before the recurrent layer (0: none, the default)",
    )
    model.add_argument(
        "--conv-width",
        type=_positive_int,
        metavar="K",
        help="odd: steps each convolution reads (3)",
    )
    model.add_argument(
        "--conv-layers", type=_positive_int, metavar="J", help="convolutions in the front end (1)"
    )
    classify.set_defaults(func=labelled_command, labelled_task="classify")

    tag = tasks.add_parser(
        "tag",
        help="sequence tagger: pos, pos-oanc, ner or a CoNLL file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(tag, "pos|pos-oanc|ner|FILE.conll")
    data, model = tag.data_group, tag.model_group
    data.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None)
    data.add_argument("--max-word-chars", type=_positive_int, metavar="N")
    model.add_argument(
        "--char-features",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a character BiLSTM over each word (Lample et al. 2016)",
    )
    model.add_argument("--char-embedding-size", type=_positive_int, metavar="E")
    model.add_argument("--char-hidden-size", type=_positive_int, metavar="H")
    model.add_argument(
        "--crf",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a linear-chain CRF output layer: tags decoded together (Viterbi), BIO tags "
        "constrained to valid sequences (Lample et al. 2016)",
    )
    tag.set_defaults(func=labelled_command, labelled_task="tag")


def _add_common(parser: argparse.ArgumentParser, datasets: str) -> None:
    run = parser.add_argument_group("run")
    run.add_argument("--out", metavar="RUN_DIR", help="(default: runs/<task>-<data>-<time>)")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue this run")
    run.add_argument("--json", action="store_true", help="end by printing one JSON object")
    run.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", metavar="NAME|FILE", help=datasets.replace("|", ", "))
    data.add_argument("--split-seed", type=int, metavar="S", help="seed of the split (0)")
    data.add_argument("--min-count", type=_positive_int, metavar="N", help="rarer words: <unk>")
    data.add_argument("--batch-size", type=_positive_int, metavar="B")
    model = parser.add_argument_group("model")
    model.add_argument("--cell", choices=CELLS)
    model.add_argument("--hidden-size", type=_positive_int, metavar="H")
    model.add_argument("--layers", type=_positive_int, metavar="N")
    model.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument("--embedding-size", type=_positive_int, metavar="E")
    model.add_argument("--dropout", type=float, metavar="P")
    add_optimisation_flags(parser)
    add_stopping_flags(
        parser,
        budget="5m",
        eval_every=200,
        select=("loss", "error"),
        select_help="the validation figure that picks the best checkpoint (classify: loss; "
        "tag: error, i.e. 1 - entity F1 for BIO tags)",
    )
    parser.data_group, parser.model_group = data, model


def labelled_command(args: argparse.Namespace) -> int:
    task = args.labelled_task
    flags = {**SHARED_FLAGS, **TASK_FLAGS[task]}
    if args.resume:
        refuse_flags_on_resume(args, [*flags, *OTHER_FLAGS])
        return resume_labelled(
            task, args.resume, args.max_steps, _duration(args.time_budget), args.json
        )
    if args.dataset is None:
        raise ValueError(f"name the data: rnnkit train {task} --dataset NAME|FILE")
    overrides = config_overrides(args, flags)
    if args.no_baselines:
        overrides["baselines.enabled"] = False
    resolve_config, train, _ = _task_functions(task)
    config = resolve_config(overrides)
    reporter = _reporter(args.json)
    result = _guarded(lambda: train(config, args.out, reporter=reporter))
    return report(result, args.json)


def resume_labelled(task: str, run_dir: str, max_steps, time_budget, as_json: bool) -> int:
    _, _, resume = _task_functions(task)
    return _resume_guarded(resume, run_dir, max_steps, time_budget, as_json, report)


def _task_functions(task: str):
    """``(resolve_config, train, resume)`` of the task."""
    if task == "classify":
        from rnnkit.tasks.classify import resume, train
        from rnnkit.tasks.classify_config import resolve_config
    else:
        from rnnkit.tasks.tag import resume, train
        from rnnkit.tasks.tag_config import resolve_config
    return resolve_config, train, resume


def report(result, as_json: bool) -> int:
    """Print a ``ClassifyResult`` / ``TagResult``: one JSON object, or a few lines."""
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
    else:
        for line in summary_lines(summary):
            print(line)
    if result.train.stop_reason == "interrupted":
        print(
            f"stopped early; continue with: rnnkit train --resume {summary['run_dir']}",
            file=sys.stderr,
        )
        return 130
    return 0


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
