"""What every task's ``train`` and ``resume`` share: reading a run's ``config.json``, building
the ``Trainer``, reopening a run at its last checkpoint, and loading the best checkpoint.

    run_dir, record, config = read_run_config(run_dir, "classify", ClassifyConfig)
    trainer = resume_trainer(run_dir, "classify", ClassifyConfig, rebuild_task,
                             max_steps=2000)        # restored, ready for trainer.fit()

A task module keeps what is its own (the task's hooks, how its data is reloaded, what it
scores at the end) and calls these for the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnkit.training import run_dir as layout
from rnnkit.training.checkpoint import Checkpoint, load_checkpoint
from rnnkit.training.progress import Reporter
from rnnkit.training.trainer import Trainer

logger = logging.getLogger(__name__)

Callbacks = Iterable[Callable[[Trainer], None]]


def read_run_config(run_dir: str | Path, task_name: str, config_class) -> tuple[Path, dict, Any]:
    """``(run_dir, config.json's record, the validated config)`` of a ``task_name`` run; a
    ValueError for a missing run, another task's run or a record without its config."""
    run_dir = layout.check_run_dir(run_dir)
    record = layout.read_json(run_dir / layout.CONFIG)
    if record.get("task") != task_name:
        raise ValueError(f"{run_dir} holds a {record.get('task')!r} run, not a {task_name} run")
    try:
        return run_dir, record, config_class.from_dict(record["config"]).validate()
    except KeyError:
        raise ValueError(f"{run_dir / layout.CONFIG} is damaged: it has no config") from None


def make_trainer(
    task, model, run_dir: Path, config, reporter: Reporter | None = None, callbacks: Callbacks = ()
) -> Trainer:
    """The one ``Trainer`` on a task configuration's ``trainer``, ``optimizer`` and
    ``schedule`` sections."""
    return Trainer(
        task,
        model,
        run_dir,
        config.trainer,
        config.optimizer,
        config.schedule,
        reporter=reporter,
        callbacks=callbacks,
    )


def start_labelled_run(
    task_name: str,
    task,
    *,
    record: dict,
    vocabularies: dict,
    fit_baselines: Callable[[Any], dict],
    describe: Callable[[Any, Any, Path, dict], str],
    baselines_file: str,
    run_dir: str | Path | None = None,
    reporter: Reporter | None = None,
    callbacks: Callbacks = (),
) -> tuple[Trainer, dict]:
    """The start that ``classify`` and ``tag`` share: seed, build the model, fit the
    baselines on the training split (if ``config.baselines.enabled``), then make the run
    directory (default ``runs/<task>-<data>-<time>``) and write ``config.json`` (``record``
    with the task name, the encoder and the config), each ``vocabularies`` entry (file name ->
    ``Vocab``, None skipped) and ``baselines_file``. Returns the ``Trainer``, ready to fit,
    and the baselines. The model is built before the baselines, and nothing is written until
    both are done, so a bad data set or configuration leaves no half-made run directory."""
    from rnnkit.training.state import seed_everything

    config = task.config
    seed_everything(config.trainer.seed)
    model = task.build_model()
    baselines = {}
    if config.baselines.enabled:
        say(reporter, "fitting the baselines on the training split")
        baselines = fit_baselines(task)
    name = slug(task.data.name)
    run_dir = layout.create_run_dir(run_dir or layout.default_run_dir(f"{task_name}-{name}"))
    layout.write_json(
        run_dir / layout.CONFIG,
        {
            "task": task_name,
            "data": record,
            "encoder": task.encoder.to_dict(),
            "config": config.to_dict(),
        },
    )
    for file_name, vocab in vocabularies.items():
        if vocab is not None:
            vocab.save(run_dir / file_name)
    layout.write_json(run_dir / baselines_file, baselines)
    trainer = make_trainer(task, model, run_dir, config, reporter, callbacks)
    trainer.reporter.message(describe(task, model, run_dir, baselines))
    return trainer, baselines


def resume_labelled(
    run_dir: str | Path,
    task_name: str,
    config_class,
    rebuild: Callable[[Path, dict, Any], Any],
    finish: Callable[[Trainer, Any, dict], Any],
    baselines_file: str,
    **options,
):
    """The resume that ``classify`` and ``tag`` share: the trainer restored from the last
    checkpoint (``resume_trainer``, with its keyword ``options``), then ``finish(trainer,
    task, baselines)`` with the baselines the run wrote when it started."""
    trainer = resume_trainer(run_dir, task_name, config_class, rebuild, **options)
    return finish(trainer, trainer.task, read_baselines(trainer.run_dir, baselines_file))


def resume_trainer(
    run_dir: str | Path,
    task_name: str,
    config_class,
    rebuild: Callable[[Path, dict, Any], Any],
    *,
    max_steps: int | None = None,
    time_budget: float | None = None,
    reporter: Reporter | None = None,
    callbacks: Callbacks = (),
    make: Callable[..., Trainer] = make_trainer,
) -> Trainer:
    """A ``Trainer`` restored from the run's last checkpoint, ready for ``fit()``.

    ``rebuild(run_dir, record, config)`` gives the task back (its data reloaded and checked,
    its vocabularies read from the run). ``max_steps`` / ``time_budget`` replace the recorded
    stopping point (the time budget counts the whole run, the time before the stop included)
    and are written back to ``config.json``. ``make`` builds the trainer (``make_trainer``'s
    arguments), for a task that adds its own callbacks.
    """
    run_dir, record, config = read_run_config(run_dir, task_name, config_class)
    new_stop = max_steps is not None or time_budget is not None
    if new_stop:
        config.trainer.max_steps = max_steps
        config.trainer.time_budget = time_budget
        config.validate()
    checkpoint = load_checkpoint(run_dir / layout.CHECKPOINTS, "last")
    task = rebuild(run_dir, record, config)
    trainer = make(task, task.build_model(), run_dir, config, reporter, callbacks)
    trainer.restore(checkpoint)
    if new_stop:
        layout.write_json(run_dir / layout.CONFIG, {**record, "config": config.to_dict()})
    trainer.reporter.message(f"resuming {run_dir} at step {trainer.state.step}")
    return trainer


@dataclass
class OpenedCheckpoint:
    """A run's ``config.json`` and one of its checkpoints, read and verified
    (``open_checkpoint``); the model is the task's to build from ``loaded``."""

    run_dir: Path
    record: dict
    config: Any
    checkpoint: str  # the one read: "best", or "last" where "best" was asked for but absent
    loaded: Checkpoint

    @property
    def step(self) -> int:
        return self.loaded.meta["step"]


def open_checkpoint(
    run_dir: str | Path, checkpoint: str, read_config: Callable[[str | Path], tuple]
) -> OpenedCheckpoint:
    """Read a run (``read_config(run_dir) -> (run_dir, record, config)``, the task's
    ``read_run_config``) and its checkpoint ``best`` (``last`` when the run has no best yet)
    or ``last``; a ValueError names the allowed checkpoints."""
    if checkpoint not in layout.CHECKPOINT_NAMES:
        raise ValueError(
            f"unknown checkpoint {checkpoint!r}; allowed: {', '.join(layout.CHECKPOINT_NAMES)}"
        )
    run_dir, record, config = read_config(run_dir)
    folder = run_dir / layout.CHECKPOINTS
    if checkpoint == "best" and not (folder / "best.safetensors").exists():
        logger.info("%s has no best checkpoint yet; using last", run_dir)
        checkpoint = "last"
    return OpenedCheckpoint(
        run_dir, record, config, checkpoint, load_checkpoint(folder, checkpoint)
    )


def load_best(trainer: Trainer) -> bool:
    """Put the best checkpoint's weights into the trainer's model; False when the run has no
    best checkpoint (it never evaluated)."""
    if trainer.state.best_step is None:
        return False
    best = load_checkpoint(trainer.checkpoint_dir, "best")
    trainer.model.load_state_dict(best.section("model"))
    return True


def read_baselines(run_dir: Path, name: str) -> dict:
    """The baselines' figures a run wrote before training (``{}`` if it wrote none)."""
    path = run_dir / name
    return layout.read_json(path) if path.exists() else {}


def say(reporter: Reporter | None, text: str) -> None:
    """A progress message: to the reporter, or to the log when there is none."""
    if reporter is not None:
        reporter.message(text)
    else:
        logger.info(text)


def slug(name: str) -> str:
    """A data set's name as part of a run directory's name (``my pairs.tsv`` -> ``my-pairs``)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(name).stem) or "data"
