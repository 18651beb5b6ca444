"""Visual question answering as a task spec: ``rnnkit train vqa`` (docs/vqa.md).

    rnnkit data fetch digits && rnnkit train vqa --max-steps 3000
    rnnkit evaluate runs/vqa-digits-3x3-multiplicative-<time>       # test, and novel beside it
    rnnkit predict runs/vqa-digits-3x3-multiplicative-<time> "how many sevens are there ?" --image 4

The task's hooks are in ``rnnkit.tasks.vqa_task``, the baselines in
``rnnkit.tasks.vqa_baselines``, answering one question about one scene (``rnnkit predict``)
in ``rnnkit.tasks.vqa_predict``.
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.vqa_scenes import QUESTION_TYPES, fingerprint
from rnnkit.tasks import lifecycle
from rnnkit.tasks.spec import RunResult, TaskSpec, parameter_count, run_figures, run_head
from rnnkit.tasks.vqa_baselines import ABLATIONS, fit_baselines
from rnnkit.tasks.vqa_config import VQAConfig
from rnnkit.tasks.vqa_predict import draw_attention_examples, predict
from rnnkit.tasks.vqa_task import VQATask, prepare, reopen
from rnnkit.training import run_dir as layout
from rnnkit.training.trainer import Trainer

TASK_NAME = "vqa"


def data_record(task: VQATask) -> dict:
    """``config.json``'s ``data``: the images file's absolute path (None: the fetched one), so
    that ``evaluate``, ``predict`` and ``--resume`` find it from any directory."""
    images = task.config.data.images
    return {
        "name": task.data.name,
        "images": None if images is None else str(Path(images).resolve()),
        "fingerprint": fingerprint(task.data),
        "card": task.data.card(),
    }


def describe(task: VQATask, model, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, {k: len(v) for k, v in task.splits.items()}
    counts = "/".join(str(sizes[s]) for s in ("train", "val", "test", "novel"))
    line = (
        f"run {run_dir}: {task.data.name} scenes, {counts} train/val/test/novel questions, "
        f"{len(task.vocab)} words; region CNN + {m.cell} {m.hidden_size}, {m.attention} attention, "
        f"{parameter_count(model)} parameters"
    )
    if baselines:
        figures = ", ".join(
            f"{name} {baselines[f'baseline_{name}_test_accuracy']:.3f}"
            for name in ("majority", *ABLATIONS)
        )
        line += f"; baselines' test accuracy: {figures}"
    return line


def score_split(task: VQATask, model, split: str) -> dict:
    """``split``'s scores; the test split's hold the novel split's as ``novel``."""
    scores = task.score(model, split)
    if split == "test":
        scores["novel"] = task.score(model, "novel")
    return scores


def score_test(trainer: Trainer, task: VQATask, baselines: dict) -> dict:
    """The best checkpoint on test and novel, written into the run; attention maps of the
    first test questions (``decoding.heatmaps``) for an attention model."""
    scores = score_split(task, trainer.model, "test")
    layout.write_json(trainer.run_dir / "test-answers.json", scores)
    if task.config.model.attention != "none":
        draw_attention_examples(trainer.model, task, trainer.run_dir / "plots")
    return scores


def comparison(scores: dict, baselines: dict, split: str) -> dict:
    """Per question type: the model's greedy accuracy (``scores``, on ``split``) and each
    baseline's there."""
    table = {}
    for kind in QUESTION_TYPES:
        row = {"model": scores.get("by_type", {}).get(kind)}
        for name in ("majority", *ABLATIONS):
            row[name] = baselines.get(name, {}).get(split, {}).get("by_type", {}).get(kind)
        table[kind] = row
    return table


def beats_baselines(table: dict) -> bool | None:
    """Whether the model beats the question-only and image-only baselines on every type."""
    rows = [r for r in table.values() if r["model"] is not None]
    if not rows or any(r["question"] is None for r in rows):
        return None
    return all(r["model"] > max(r["question"], r["image"]) for r in rows)


def summary(result: RunResult) -> dict:
    test, baselines = result.test, result.baselines
    out = {**run_head(result)}
    for split in ("test", "novel"):
        scores = test if split == "test" else test.get("novel", {})
        table = comparison(scores, baselines, split)
        out[f"{split}_accuracy"] = scores.get("accuracy")
        out[f"{split}_beam_accuracy"] = scores.get("beam_accuracy")
        out[f"{split}_pointing_accuracy"] = scores.get("pointing_accuracy")
        out[f"{split}_by_type"] = table
        out[f"{split}_beats_baselines"] = beats_baselines(table)
    out["pointing_chance"] = test.get("pointing_chance")
    return {**out, **run_figures(result.train)}


SPEC = TaskSpec(
    name=TASK_NAME,
    help="visual question answering on scenes of digits: CNN regions + LSTM, with baselines",
    config_class=VQAConfig,
    prepare=prepare,
    reopen=reopen,
    record=lambda task: {"data": data_record(task)},
    save=lambda task, run_dir: task.vocab.save(run_dir / layout.VOCAB),
    run_name=lambda task: f"{task.data.name}-{task.config.model.attention}",
    describe=describe,
    baselines=fit_baselines,
    baselines_note="training the question-only and image-only baselines",
    score=score_split,
    score_test=score_test,
    predict=lambda task, model, inputs: predict(task, model, inputs),
    summary=summary,
)


train, resume = lifecycle.entry_points(SPEC)
