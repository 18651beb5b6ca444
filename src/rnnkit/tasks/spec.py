"""A task as a spec: what one kind of training run needs, declared in one place.

    SPEC = TaskSpec(
        name="classify",
        help="sequence classifier: names, sentiment, vowels or a CSV",
        config_class=ClassifyConfig,
        prepare=prepare,            # (config, data or None) -> the Trainer's Task, data loaded
        reopen=reopen,              # (run_dir, record, config) -> the Task of a recorded run
        record=record,              # Task -> config.json's sections beside "task" and "config"
        describe=describe,          # (task, model, run_dir, baselines) -> one line
        summary=summary,            # RunResult -> the JSON summary of a finished run
        ...
    )

The generic lifecycle (``rnnkit.tasks.lifecycle``) does everything else the same way for every
task: seeding, building the model, the baselines, the run directory and its ``config.json``,
the Trainer, resuming from the last checkpoint, scoring the best one on the test split.
``rnnkit.tasks.registry`` finds a spec by name. The hooks with defaults are optional.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.training.bookkeeping import TrainResult
from rnnkit.training.trainer import Trainer


def _nothing(*_args) -> None:
    return None


def _no_callbacks(_task) -> list:
    return []


@dataclass(frozen=True)
class TaskSpec:
    """One task's hooks (see the module docstring). ``baselines`` fits the baselines on the
    data before the run directory is made (when the config's ``baselines.enabled``; they are
    saved as ``baselines.json`` and handed to ``describe``, ``score_test`` and ``summary``);
    ``score(task, model, split)`` scores a model on a split (``rnnkit evaluate`` of a task
    with no evaluation of its own, and the test score at the end of a run unless
    ``score_test``, which may also write files into the run, is given; with neither, a run
    has no test score); ``predict(task, model, inputs)`` turns the command line's input
    strings into one dict each (``rnnkit predict`` of a task with no adapter); ``save``
    writes the task's own files (vocabularies) into a new run; ``check_record`` refuses a
    recorded run the task cannot reopen; ``callbacks`` adds the task's own Trainer
    callbacks; ``run_name`` names the default run directory (``runs/<task>-<run_name>-<time>``);
    ``resolve(overrides)`` makes a task's validated config where its defaults depend on the
    data set (default: the config class's defaults with the overrides); ``export`` names the
    module (in ``rnnkit.export``, a layer above this one, so by name) with the task's graphs
    for ``rnnkit export`` (None: the task has none)."""

    name: str
    help: str
    config_class: type
    prepare: Callable[[Any, Any], Any]
    reopen: Callable[[Path, dict, Any], Any]
    record: Callable[[Any], dict]
    describe: Callable[[Any, Any, Path, dict], str]
    summary: Callable[[RunResult], dict]
    run_name: Callable[[Any], str]
    save: Callable[[Any, Path], None] = _nothing
    baselines: Callable[[Any], dict] | None = None
    baselines_note: str = "fitting the baselines on the training split"
    score: Callable[[Any, Any, str], dict] | None = None
    score_test: Callable[[Trainer, Any, dict], dict] | None = None
    predict: Callable[[Any, Any, list[str]], list[dict]] | None = None
    callbacks: Callable[[Any], list] = _no_callbacks
    check_record: Callable[[Path, dict], None] = _nothing
    resolve: Callable[[dict], Any] | None = None
    export: str | None = None

    def test_scores(self, trainer: Trainer, baselines: dict) -> dict:
        """The test-split scores of the trainer's model (empty: the task has none)."""
        if self.score_test is not None:
            return self.score_test(trainer, trainer.task, baselines)
        if self.score is not None:
            return self.score(trainer.task, trainer.model, "test")
        return {}

    def resolve_config(self, overrides: dict | None = None):
        """The config class's defaults with ``overrides`` (dotted keys) applied, validated
        (by the spec's ``resolve`` where it has one)."""
        from rnnkit.training.config import apply_overrides

        if self.resolve is not None:
            return self.resolve(overrides or {})
        return apply_overrides(self.config_class(), overrides or {}).validate()


@dataclass
class RunResult:
    """How a run ended (the Trainer's ``TrainResult``), the best checkpoint's test scores,
    the baselines' figures and config.json's record."""

    spec: TaskSpec
    train: TrainResult
    test: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    selected_by: str = "val_loss"  # the validation figure that picked the best checkpoint

    def summary(self) -> dict:
        return self.spec.summary(self)

    @property
    def interrupted(self) -> bool:
        return self.train.stop_reason == "interrupted"


def run_figures(result: TrainResult) -> dict:
    """The closing figures every summary ends with."""
    return {
        "tokens_per_s": result.tokens_per_s,
        "train_seconds": result.train_seconds,
        "elapsed_s": result.elapsed,
        "clip_fraction": result.clip_fraction,
    }


def run_head(result: RunResult) -> dict:
    """The opening figures of a summary: task, run directory, steps, stop, best checkpoint."""
    train = result.train
    return {
        "task": result.spec.name,
        "run_dir": str(train.run_dir),
        "steps": train.steps,
        "stop_reason": train.stop_reason,
        "best_step": train.best_step,
        "selected_by": result.selected_by,
        "best_val": train.best_metric,
    }


def baseline_figures(baselines: dict) -> dict:
    """The ``baseline_*`` numbers of ``baselines.json``, for summaries."""
    return {k: v for k, v in baselines.items() if k.startswith("baseline_")}


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
