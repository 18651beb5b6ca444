"""``rnnkit train tag``: a sequence tagger (many-to-many, aligned), with a baseline.

    rnnkit train tag --dataset ner --char-features
    rnnkit train tag --dataset my.conll             # token and tag a line, blank between sentences
    rnnkit train --resume runs/tag-ner-20250101-120000

The baseline (the most frequent tag of each word) is fitted on the same training split
before the model trains. At the end the best checkpoint (by validation error) is scored on the
test split. Progress goes to stderr; the summary to stdout (with --json, one JSON object).
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import loaded_run, print_result, refuse_data
from rnnkit.cli.generic_task import GenericAdapter
from rnnkit.cli.tasks.labelled import summary_lines

__all__ = ["add_arguments", "evaluate", "predict", "start", "summary_lines"]
# the flags from the config's fields (TagConfig, TaggerConfig), as for every task
_GENERIC = GenericAdapter("tag")
add_arguments, start = _GENERIC.add_arguments, _GENERIC.start


def evaluate(args: argparse.Namespace) -> int:
    """``rnnkit evaluate RUN_DIR``: token accuracy, entity P/R/F1 per type."""
    refuse_data(args, "tag")
    from rnnkit.tasks.tag_runs import evaluate_run

    result = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint)
    return print_result(result, args.json, evaluation_lines)


def evaluation_lines(result: dict) -> list[str]:
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


def predict(args: argparse.Namespace) -> int:
    """``rnnkit predict RUN_DIR TEXT ...`` for a tagger: tags, probabilities, entities."""
    from rnnkit.tasks.labelled import check_top
    from rnnkit.tasks.tag_runs import load_run, tag

    top = 3 if args.top is None else args.top
    check_top(top)
    tagged = tag(loaded_run(args, load_run), args.inputs, top)
    results = [
        {
            "tokens": [
                {
                    "token": word,
                    "tag": tag,
                    "probability": ranked[0][1],
                    "tags": [{"tag": t, "probability": p} for t, p in ranked],
                }
                for (word, tag), ranked in zip(s.pairs, s.ranked, strict=True)
            ],
            "entities": s.entities,
        }
        for s in tagged
    ]
    result = {"run_dir": args.run_dir, "predictions": results}
    return print_result(result, args.json, prediction_lines)


def prediction_lines(result: dict) -> list[str]:
    """Each sentence as word/TAG, then each token's likeliest tags, then its entities."""
    lines = []
    for sentence in result["predictions"]:
        tokens = sentence["tokens"]
        lines.append(" ".join(f"{token['token']}/{token['tag']}" for token in tokens))
        width = max(len(token["token"]) for token in tokens)
        for token in tokens:
            shown = "  ".join(f"{t['tag']} {t['probability']:.3f}" for t in token["tags"])
            lines.append(f"  {token['token']:<{width}}  {shown}")
        if sentence["entities"] is not None:
            found = "; ".join(f"{kind}: {text}" for kind, text in sentence["entities"])
            lines.append(f"  entities: {found or 'none'}")
    return lines
