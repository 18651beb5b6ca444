"""``rnnkit predict RUN_DIR INPUT...``: what a trained classifier, tagger (or a task with a
``predict`` of its own, such as parity) says.

    rnnkit predict runs/classify-names "Nakamura" "Kowalski" --top 3
    rnnkit predict runs/classify-vowels utterance.npy        # or a .csv: T rows of F numbers
    rnnkit predict runs/tag-ner "I met Ann Smith in Oslo ."  # tokens apart, as in training
    rnnkit predict runs/parity-T8-<time> 1011 0110100
    rnnkit predict runs/vqa-<time> "where is the seven ?" --image 0    # a test scene, or a PNG

A classifier prints its top labels with their probabilities; a tagger prints each token with
its tag and probability (a CRF tagger: the tag's marginal probability) and the next likeliest
tags, then the entities they mark; parity prints each bit string's parity. The run directory
is all it needs.
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import add_backend_flag, add_device_flag, run_command
from rnnkit.cli.train import adapter
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import task_names


def register(subparsers) -> None:
    parser = run_command(
        subparsers,
        "predict",
        __doc__,
        help="labels from a trained classifier (with probabilities), tagger or parity model; "
        "answers from a vqa model",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="texts, or frame files")
    parser.add_argument(
        "--top",
        type=int,
        metavar="K",
        help="labels shown (classifier: 5; tagger: 3 per token, the predicted tag first)",
    )
    parser.add_argument(
        "--image", metavar="FILE_OR_TEST_INDEX", help="vqa: the scene asked about (docs/vqa.md)"
    )
    parser.add_argument(
        "--attention-map", metavar="PNG", help="vqa: draw the attention over the scene there"
    )
    add_device_flag(parser)
    add_backend_flag(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=predict_command)


def predict_command(args: argparse.Namespace) -> int:
    task = lifecycle.task_of(args.run_dir)
    cli = adapter(task)
    if not hasattr(cli, "predict"):
        able = [name for name in task_names() if hasattr(adapter(name), "predict")]
        hint = getattr(cli, "INSTEAD_OF_PREDICT", "")
        raise ValueError(
            f"{args.run_dir} holds a {task!r} run; predict takes {' and '.join(able)} runs{hint}"
        )
    if (args.image, args.attention_map) != (None, None) and not getattr(cli, "READS_IMAGES", False):
        raise ValueError(f"--image and --attention-map apply to vqa runs, not {task}")
    return cli.predict(args)
