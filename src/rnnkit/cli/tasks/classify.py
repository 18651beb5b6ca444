"""``rnnkit train classify``: a sequence classifier (many-to-one), with baselines.

    rnnkit train classify --dataset names --bidirectional --pooling attention --time-budget 10m
    rnnkit train classify --dataset sentiment --cell gru --dropout 0.3 --json
    rnnkit train classify --dataset vowels --max-steps 2000
    rnnkit train classify --dataset my.csv          # a CSV with a header and columns text,label
    rnnkit train --resume runs/classify-names-20250101-120000

The baselines (majority class, logistic regression on n-grams or sequence summaries) are
fitted on the same training split before the model trains. At the
end the best checkpoint (by validation error) is scored on the test split. Progress goes to
stderr; the summary to stdout (with --json, one JSON object).
"""

from __future__ import annotations

import argparse
import json

from rnnkit.cli.args import positive_int, print_result, refuse_data
from rnnkit.cli.tasks.labelled import add_common, start_labelled, summary_lines
from rnnkit.models.pooling import POOLINGS

ENSEMBLES = True  # rnnkit evaluate takes several classify runs as one
__all__ = ["add_arguments", "evaluate", "predict", "start", "summary_lines"]
# flag dest -> dotted config key (beside labelled.SHARED_FLAGS)
TASK_FLAGS = {
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
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rnnkit train classify``'s flags."""
    add_common(parser, "names|sentiment|sentiment-tweets|vowels|FILE.csv")
    data, model = parser.data_group, parser.model_group
    data.add_argument("--level", choices=("char", "word"), help="tokens of text (default: by set)")
    data.add_argument("--max-length", type=positive_int, metavar="N", help="first N tokens")
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
        type=positive_int,
        metavar="K",
        help="odd: steps each convolution reads (3)",
    )
    model.add_argument(
        "--conv-layers", type=positive_int, metavar="J", help="convolutions in the front end (1)"
    )


def start(args: argparse.Namespace):
    return start_labelled("classify", args, TASK_FLAGS)


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR [RUN_DIR ...]``: one classifier, or several as an ensemble."""
    refuse_data(args, "classify")
    from rnnkit.tasks.classify_runs import evaluate_ensemble, evaluate_run

    if args.more_runs:
        runs = [args.run_dir, *args.more_runs]
        result = evaluate_ensemble(runs, split=args.split, checkpoint=args.checkpoint)
    else:
        result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
    if "ensemble" in result:
        source = f"ensemble of {result['ensemble']} runs (mean probabilities)"
    else:
        source = f"checkpoint {result['checkpoint']} (step {result['steps']})"
    lines = [
        f"{result['split']} split of {result['data']}: accuracy {result['accuracy']:.4f}, "
        f"macro-F1 {result['macro_f1']:.4f}, loss {result['loss']:.4f} nats over "
        f"{result['examples']:,} examples; {source}",
        "",
        f"  {'class':<24} {'precision':>9} {'recall':>9} {'F1':>9} {'support':>8}",
    ]
    for name, s in result["per_class"].items():
        lines.append(
            f"  {name:<24} {s['precision']:9.4f} {s['recall']:9.4f} {s['f1']:9.4f} "
            f"{s['support']:8d}"
        )
    versus = result.get("vs_logreg")
    if versus:
        lines += [
            "",
            f"against the logistic-regression baseline on the same {versus['examples']:,} "
            f"examples: only the RNN right on {versus['rnn_only_right']:,}, only the baseline "
            f"on {versus['logreg_only_right']:,}; McNemar exact p = {versus['mcnemar_p']:.3g}",
        ]
    if "confusion_plot" in result:
        lines += ["", f"confusion matrix: {result['confusion_plot']}"]
    if "members" in result:
        lines += ["", "each run alone:"]
        several_splits = len({m.get("split_seed") for m in result["members"]}) > 1
        for member in result["members"]:
            where = f"{member['checkpoint']}, step {member['steps']}"
            if several_splits:
                where += f", split seed {member['split_seed']}"
            lines.append(
                f"  accuracy {member['accuracy']:.4f}, loss {member['loss']:.4f}  "
                f"{member['run_dir']} ({where})"
            )
    return lines


def predict(args: argparse.Namespace) -> int:
    """``rnnkit predict RUN_DIR TEXT|FILE ...`` for a classifier: the top labels."""
    from rnnkit.tasks.classify_runs import predict_run

    top = 5 if args.top is None else args.top
    answers = predict_run(args.run_dir, args.inputs, top=top, checkpoint=args.checkpoint)
    if args.json:
        results = [
            {"input": str(given), "labels": [{"label": k, "probability": p} for k, p in ranked]}
            for given, ranked in zip(args.inputs, answers, strict=True)
        ]
        print(json.dumps({"run_dir": args.run_dir, "predictions": results}))
        return 0
    for given, ranked in zip(args.inputs, answers, strict=True):
        print(given)
        for label, probability in ranked:
            print(f"  {probability:7.4f}  {label}")
    return 0
