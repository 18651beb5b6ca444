"""``rnnkit evaluate`` for classify and tag runs: the scores as a table (or one JSON object)."""

from __future__ import annotations

import argparse
import json


def evaluate_labelled(task: str, args: argparse.Namespace) -> int:
    if task == "classify" and getattr(args, "more_runs", None):
        from rnnkit.tasks.classify_runs import evaluate_ensemble

        run_dirs = [args.run_dir, *args.more_runs]
        result = evaluate_ensemble(run_dirs, split=args.split, checkpoint=args.checkpoint)
    elif task == "classify":
        from rnnkit.tasks.classify_runs import evaluate_run

        result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    else:
        from rnnkit.tasks.tag_runs import evaluate_run

        result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(result))
        return 0
    lines = classify_lines(result) if task == "classify" else tag_lines(result)
    print("\n".join(lines))
    return 0


def classify_lines(result: dict) -> list[str]:
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


def tag_lines(result: dict) -> list[str]:
    lines = [
        f"{result['split']} split of {result['data']}: token accuracy {result['accuracy']:.4f}, "
        f"loss {result['loss']:.4f} nats over {result['tokens']:,} tokens in "
        f"{result['sentences']:,} sentences; checkpoint {result['checkpoint']} "
        f"(step {result['steps']})"
    ]
    if "entity_f1" not in result:
        return lines
    lines += [
        f"entities: precision {result['entity_precision']:.4f}, recall "
        f"{result['entity_recall']:.4f}, F1 {result['entity_f1']:.4f} "
        f"({result['entities']:,} in the truth)",
        "",
        f"  {'type':<16} {'precision':>9} {'recall':>9} {'F1':>9} {'support':>8}",
    ]
    for name, s in result["per_type"].items():
        lines.append(
            f"  {name:<16} {s['precision']:9.4f} {s['recall']:9.4f} {s['f1']:9.4f} "
            f"{s['support']:8d}"
        )
    return lines
