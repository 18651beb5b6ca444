"""The VQA run's baselines, fitted before it on the same questions and scored the same way.

- ``majority``: each question type's most frequent training answer (the prior with no
  question words and no image);
- ``question``: the run's own model with the scene blanked (all pixels 0): what the
  question's words and the training answers' statistics alone can say (the language prior);
- ``image``: the run's own model reading no question word: what the scene alone can say.

The two models train with the run's own Trainer settings (steps, optimizer, schedule,
selection by validation) in a temporary folder, so they get what the full model gets;
``baselines.json`` keeps their scores on val, test and novel.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import replace

from rnnkit.data.vqa_scenes import QUESTION_TYPES
from rnnkit.tasks.lifecycle import load_best
from rnnkit.tasks.vqa_task import VQATask, accuracies
from rnnkit.training.state import seed_everything
from rnnkit.training.trainer import Trainer

SCORED = ("val", "test", "novel")
ABLATIONS = ("question", "image")


def majority_answers(task: VQATask) -> dict[str, str]:
    """Each question type's most frequent training answer (ties: the first in sorted order)."""
    counts = {t: Counter() for t in QUESTION_TYPES}
    for i in task.splits["train"]:
        q = task.data.questions[i]
        counts[q.type][q.answer] += 1
    return {t: min(c, key=lambda a: (-c[a], a)) for t, c in counts.items() if c}


def majority_scores(task: VQATask, split: str) -> dict:
    answers = majority_answers(task)
    indices = task.splits[split]
    said = [answers.get(task.data.questions[i].type, "") for i in indices]
    return accuracies(task.data, indices, said, [0] * len(indices))


def train_ablation(task: VQATask, inputs: str):
    """The run's model with only ``inputs`` (``question`` or ``image``), trained as the run
    is, its best checkpoint by validation loaded."""
    config = task.config
    seed_everything(config.trainer.seed)
    model = task.build_model(inputs)
    trainer_config = replace(config.trainer, tensorboard=False)
    with tempfile.TemporaryDirectory(prefix=f"rnnkit-vqa-{inputs}-") as folder:
        trainer = Trainer(task, model, folder, trainer_config, config.optimizer, config.schedule)
        trainer.fit()
        load_best(trainer)
        return trainer.model


def fit_baselines(task: VQATask) -> dict:
    """``baselines.json``: each baseline's scores on val, test and novel, and the
    ``baseline_*`` figures of the test split."""
    out = {"majority": {s: majority_scores(task, s) for s in SCORED}}
    out["majority_answers"] = majority_answers(task)
    for inputs in ABLATIONS:
        model = train_ablation(task, inputs)
        out[inputs] = {s: task.score(model, s, beam=False) for s in SCORED}
    for name in ("majority", *ABLATIONS):
        out[f"baseline_{name}_test_accuracy"] = out[name]["test"]["accuracy"]
        out[f"baseline_{name}_novel_accuracy"] = out[name]["novel"]["accuracy"]
    return out
