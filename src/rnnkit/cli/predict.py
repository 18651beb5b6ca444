"""``rnnkit predict RUN_DIR INPUT...``: what a trained classifier or tagger says.

    rnnkit predict runs/classify-names "Nakamura" "Kowalski" --top 3
    rnnkit predict runs/classify-vowels utterance.npy        # or a .csv: T rows of F numbers
    rnnkit predict runs/tag-ner "I met Ann Smith in Oslo ."  # tokens apart, as in training

A classifier prints its top labels with their probabilities; a tagger prints each token with
its tag and probability (a CRF tagger: the tag's marginal probability) and the next likeliest
tags, then the entities they mark. The run directory is all it needs.
"""

from __future__ import annotations

import argparse
import json

from rnnkit.training.run_dir import CHECKPOINT_NAMES, CONFIG, check_run_dir, read_json


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="labels from a trained classifier (with probabilities) or tagger",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="texts, or frame files")
    parser.add_argument(
        "--top",
        type=int,
        metavar="K",
        help="labels shown (classifier: 5; tagger: 3 per token, the predicted tag first)",
    )
    parser.add_argument("--checkpoint", choices=CHECKPOINT_NAMES, default="best")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=predict_command)


def predict_command(args: argparse.Namespace) -> int:
    task = read_json(check_run_dir(args.run_dir) / CONFIG).get("task")
    if task == "classify":
        return _classify(args)
    if task == "tag":
        return _tag(args)
    hint = "; generate text from it with rnnkit sample" if task == "charlm" else ""
    raise ValueError(
        f"{args.run_dir} holds a {task!r} run; predict takes classify and tag runs{hint}"
    )


def _classify(args: argparse.Namespace) -> int:
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


def _tag(args: argparse.Namespace) -> int:
    from rnnkit.tasks.tag_runs import predict_run

    top = 3 if args.top is None else args.top
    tagged = predict_run(args.run_dir, args.inputs, checkpoint=args.checkpoint, top=top)
    if args.json:
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
        print(json.dumps({"run_dir": args.run_dir, "predictions": results}))
        return 0
    for sentence in tagged:
        print(" ".join(f"{word}/{tag}" for word, tag in sentence.pairs))
        width = max(len(word) for word, _ in sentence.pairs)
        for (word, _), ranked in zip(sentence.pairs, sentence.ranked, strict=True):
            shown = "  ".join(f"{tag} {probability:.3f}" for tag, probability in ranked)
            print(f"  {word:<{width}}  {shown}")
        if sentence.entities is not None:
            found = "; ".join(f"{kind}: {text}" for kind, text in sentence.entities)
            print(f"  entities: {found or 'none'}")
    return 0
