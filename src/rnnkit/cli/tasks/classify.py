"""``rnnkit train classify``: a sequence classifier (many-to-one), with baselines.

    rnnkit train classify --dataset names --bidirectional --pooling attention --time-budget 10m
    rnnkit train classify --dataset sentiment --cell gru --dropout 0.3 --json
    rnnkit train classify --dataset vowels --max-steps 2000
    rnnkit train classify --dataset my.csv          # a CSV with a header and columns text,label
    rnnkit train --resume runs/classify-names-20250101-120000

The baselines (majority class, logistic regression on n-grams or sequence summaries) are
fitted on the same training split before the model trains. At the
end the best checkpoint (by the validation figure --select names: loss unless given error)
is scored on the test split. Progress goes to stderr; the summary to stdout (with --json,
one JSON object).
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import loaded_run, print_result, refuse_data
from rnnkit.cli.generic_task import GenericAdapter
from rnnkit.cli.tasks.labelled import summary_lines

ENSEMBLES = True  # rnnkit evaluate takes several classify runs as one
__all__ = ["add_arguments", "evaluate", "predict", "start", "summary_lines"]
# the flags from the config's fields (ClassifyConfig, ClassifierConfig), as for every task
_GENERIC = GenericAdapter("classify")
add_arguments, start = _GENERIC.add_arguments, _GENERIC.start


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
    from rnnkit.tasks.classify_runs import load_run, predict
    from rnnkit.tasks.labelled import check_top

    top = 5 if args.top is None else args.top
    check_top(top)
    answers = predict(loaded_run(args, load_run), args.inputs, top)
    results = [
        {"input": str(given), "labels": [{"label": k, "probability": p} for k, p in ranked]}
        for given, ranked in zip(args.inputs, answers, strict=True)
    ]
    result = {"run_dir": args.run_dir, "predictions": results}
    return print_result(result, args.json, prediction_lines)


def prediction_lines(result: dict) -> list[str]:
    """Each input, then its likeliest labels with their probabilities."""
    lines = []
    for said in result["predictions"]:
        lines.append(said["input"])
        lines += [f"  {label['probability']:7.4f}  {label['label']}" for label in said["labels"]]
    return lines
