"""``rnnkit train vqa``: visual question answering on scenes of digits (docs/vqa.md).

    rnnkit data fetch digits && rnnkit train vqa --max-steps 3000
    rnnkit predict RUN_DIR "how many sevens are there ?" --image 0 --attention-map att.png
    rnnkit evaluate RUN_DIR --split val

Every config field is a flag (as for a task without an adapter); the summary is a table of
accuracy per question type beside the baselines', and ``predict`` reads ``--image``.
"""

from __future__ import annotations

import argparse

from rnnkit.cli.args import guarded, print_result
from rnnkit.cli.generic_task import GenericAdapter
from rnnkit.data.output_paths import figure_path
from rnnkit.data.vqa_scenes import QUESTION_TYPES

READS_IMAGES = True  # ``rnnkit predict --image`` and ``--attention-map`` apply
_GENERIC = GenericAdapter("vqa")
add_arguments, start, evaluate = _GENERIC.add_arguments, _GENERIC.start, _GENERIC.evaluate


def predict(args: argparse.Namespace) -> int:
    """``rnnkit predict RUN_DIR QUESTION... --image FILE_OR_TEST_INDEX [--attention-map PNG]``."""
    from rnnkit.tasks import lifecycle
    from rnnkit.tasks.vqa_predict import predict as answer

    _GENERIC.refuse_predict_options(args)  # vqa has no export: --backend torch only
    png = None if args.attention_map is None else figure_path(args.attention_map, "--attention-map")
    opened = lifecycle.open_checkpoint(args.run_dir, args.checkpoint, "vqa")
    task, model = lifecycle.reopen_model(opened)
    said = guarded(lambda: answer(task, model, args.inputs, args.image, png))
    result = {"run_dir": str(opened.run_dir), "checkpoint": opened.checkpoint, "predictions": said}
    return print_result(result, args.json, prediction_lines)


def prediction_lines(result: dict) -> list[str]:
    lines = []
    for said in result["predictions"]:
        line = f"{said['question']} -> {said['answer']} (beam: {said['beam_answer']}; points at "
        lines.append(line + f"the {said['pointed_region']})")
        if "scene_digits" in said:
            lines.append(f"  the scene's digits, row by row: {said['scene_digits']}")
        if "attention_png" in said:
            lines.append(f"  attention: {said['attention_png']}")
    return lines


def summary_lines(summary: dict) -> list[str]:
    """The run, then accuracy per question type beside the baselines' on test and novel."""
    lines = [
        f"{summary['stop_reason']}: {summary['steps']} steps, best checkpoint by "
        f"{summary['selected_by']}: step {summary['best_step']}"
    ]
    for split in ("test", "novel"):
        if summary.get(f"{split}_accuracy") is None:
            continue
        lines.append(
            f"{split}: accuracy {summary[f'{split}_accuracy']:.3f} greedy, "
            f"{summary[f'{split}_beam_accuracy']:.3f} beam; pointing "
            f"{_number(summary[f'{split}_pointing_accuracy'])} (chance "
            f"{summary['pointing_chance']:.3f})"
        )
        lines.append(f"  {'type':<8} {'model':>6} {'majority':>8} {'question':>8} {'image':>6}")
        for kind in QUESTION_TYPES:
            row = summary[f"{split}_by_type"][kind]
            figures = [_number(row[k]) for k in ("model", "majority", "question", "image")]
            lines.append(
                f"  {kind:<8} {figures[0]:>6} {figures[1]:>8} {figures[2]:>8} {figures[3]:>6}"
            )
    run = summary["run_dir"]
    lines.append(f"run directory: {run}  (rnnkit predict {run} QUESTION --image 0)")
    return lines


def _number(value) -> str:
    return "-" if value is None else f"{value:.3f}"
