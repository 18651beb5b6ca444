"""The one run lifecycle every task goes through, on the task's spec (``rnnkit.tasks.spec``).

    result = train(spec, config)                   # a new run directory, trained, test-scored
    result = resume("runs/classify-names-...")     # continue from the last checkpoint
    run = read_run("runs/...")                     # config.json: spec, config, record, checked
    opened = open_checkpoint("runs/...", "best")   # ... and a verified checkpoint
    task, model = reopen_model(opened)             # its task on its data, its model (eval)
    opened, model = open_model("runs/...", "best", "charlm", build)   # no data read
    scores = evaluate("runs/...", "val")           # the spec's score on a split
    said = predict("runs/...", ["10110"])          # the spec's predict on the user's inputs

The order of a new run: validate the config, prepare the task (data read, vocabularies
fitted), seed, build the model, fit the baselines; only then make the run directory, so a bad
data set or configuration leaves nothing half made. Then ``config.json`` (with
``format_version``), the task's files, the Trainer, fit, and the test score of the best
checkpoint. A run that stopped before its first checkpoint (each evaluation writes one)
has nothing to go on from: ``resume`` trains it again from step 0 in its own directory.

Run-directory format: ``config.json`` carries ``format_version`` (absent in runs written
before it existed: version 1). A run of an older version is migrated in memory when read
(``MIGRATIONS``); a newer one is refused with both versions named.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.tasks import resumption
from rnnkit.tasks.resumption import refuse_a_spent_stop, restarted_attempt, set_stop
from rnnkit.tasks.spec import RunResult, TaskSpec
from rnnkit.training import distributed
from rnnkit.training import run_dir as layout
from rnnkit.training.checkpoint import Checkpoint, load_checkpoint
from rnnkit.training.config import resolve_precision
from rnnkit.training.devices import place_for_inference, resolve_device
from rnnkit.training.progress import Reporter
from rnnkit.training.state import seed_everything
from rnnkit.training.trainer import Trainer

logger = logging.getLogger(__name__)

Callbacks = Iterable[Callable[[Trainer], None]]
FORMAT_VERSION = 1
# version -> the function that turns a config.json record of that version into the next
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}
BASELINES = "baselines.json"


@dataclass
class Run:
    """A run directory's ``config.json``, read, migrated and validated."""

    run_dir: Path
    record: dict
    spec: TaskSpec
    config: Any


def read_run(run_dir: str | Path, task: str | None = None) -> Run:
    """The run in ``run_dir``; a ValueError (one line) for a missing run, a format newer than
    this rnnkit, an unknown task, another task than ``task``, or a damaged config."""
    from rnnkit.tasks.registry import get_spec

    run_dir = layout.check_run_dir(run_dir)
    record = migrate(layout.read_json(run_dir / layout.CONFIG), run_dir)
    name = record.get("task")
    spec = get_spec(name, where=f"{run_dir / layout.CONFIG}")
    if task is not None and name != task:
        raise ValueError(f"{run_dir} holds a {name!r} run, not a {task} run")
    spec.check_record(run_dir, record)
    if "config" not in record:
        raise ValueError(f"{run_dir / layout.CONFIG} is damaged: it has no config")
    try:
        config = spec.config_class.from_dict(record["config"]).validate()
    except (ValueError, TypeError) as error:
        raise ValueError(f"{run_dir / layout.CONFIG}: {error}") from error
    return Run(run_dir, record, spec, config)


def task_of(run_dir: str | Path) -> str:
    """The (known) task of the run in ``run_dir``, from its config.json, without reading the
    rest (a ValueError for a missing run, a newer format or an unknown task)."""
    from rnnkit.tasks.registry import get_spec

    run_dir = layout.check_run_dir(run_dir)
    record = migrate(layout.read_json(run_dir / layout.CONFIG), run_dir)
    return get_spec(record.get("task"), where=f"{run_dir / layout.CONFIG}").name


def migrate(record: dict, run_dir: Path) -> dict:
    """``record`` brought to ``FORMAT_VERSION`` (a ValueError for a newer or a bad one)."""
    version = record.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{run_dir / layout.CONFIG} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{run_dir} is a run directory of format version {version}, written by a newer "
            f"rnnkit; this one reads versions up to {FORMAT_VERSION} (upgrade rnnkit)"
        )
    while version < FORMAT_VERSION:
        record = MIGRATIONS[version](record)
        version += 1
    return {**record, "format_version": FORMAT_VERSION}


def train(
    spec: TaskSpec,
    config,
    run_dir: str | Path | None = None,
    *,
    data: Any = None,
    notes: dict | None = None,
    reporter: Reporter | None = None,
    callbacks: Callbacks = (),
) -> RunResult:
    """Train a new ``spec`` run into ``run_dir`` (default ``runs/<task>-<name>-<time>``).

    ``data`` replaces loading the config's data set; ``notes`` are recorded in config.json
    as they are (e.g. the preset a config came from)."""
    config.validate()
    layout.check_out(run_dir)
    here = joined(config)  # an unavailable device is refused before anything is read
    retry = restarted_attempt(run_dir)
    if retry and layout.has_checkpoint(retry):
        return resume(retry, reporter=reporter, callbacks=callbacks)
    options = {"data": data, "notes": notes, "reporter": reporter, "callbacks": callbacks}
    return start(spec, config, retry or run_dir, here, again=retry is not None, **options)


def start(spec: TaskSpec, config, run_dir, here, *, again: bool, data, notes, reporter, callbacks):
    """:func:`train` from step 0: prepare the task, seed, build the model, fit the baselines;
    then make the run directory, or (``again``) clear the one an attempt that stopped before
    its first checkpoint left (``layout.clear_attempt``); config.json, the task's files, fit."""
    task = spec.prepare(config, data)
    distributed.check_task(task, config, here, spec.name)
    seed_everything(config.trainer.seed)
    model = task.build_model()  # checks the model's configuration before anything is written
    baselines = {}
    if spec.baselines is not None and config.baselines.enabled:
        say(reporter, spec.baselines_note)
        baselines = spec.baselines(task)
    name = f"{spec.name}-{spec.run_name(task)}"
    if here.main and not again:  # under torchrun, rank 0 makes it and tells the others
        run_dir = layout.create_run_dir(run_dir or layout.default_run_dir(name))
    run_dir = distributed.from_main(run_dir, here)
    record = {"format_version": FORMAT_VERSION, "task": spec.name, **(notes or {})}
    record |= {**spec.record(task), "config": config.to_dict()}
    resumption.refuse_changed_data(run_dir, notes or {}, record)  # started over: the same data
    if here.main:
        if again:
            layout.clear_attempt(run_dir)
        layout.write_json(run_dir / layout.CONFIG, record)
        spec.save(task, run_dir)
        if spec.baselines is not None:
            layout.write_json(run_dir / BASELINES, baselines)
    trainer = make_trainer(spec, task, model, run_dir, config, reporter, callbacks)
    trainer.reporter.message(spec.describe(task, model, run_dir, baselines))
    return finish(spec, trainer, baselines, record)


def resume(
    run_dir: str | Path,
    *,
    task: str | None = None,
    max_steps: int | None = None,
    time_budget: float | None = None,
    device: str | None = None,
    reporter: Reporter | None = None,
    callbacks: Callbacks = (),
) -> RunResult:
    """Continue the run in ``run_dir`` from its last checkpoint, exactly as if it had never
    stopped. ``max_steps`` / ``time_budget`` replace the recorded stopping point (counting
    the whole run) and are written back to ``config.json``. ``device``: where to go on
    (default: the run's own; checkpoints hold CPU tensors, so a run moves between devices).
    ``task``: refuse a run of another task. Settings config.json lacks are said. A run that
    stopped before its first checkpoint starts over (:func:`start_over`)."""
    run = read_run(run_dir, task)
    run_dir, record, config, spec = run.run_dir, run.record, run.config, run.spec
    say(reporter, layout.unrecorded_note(record["config"], config) or "")
    if not layout.has_checkpoint(run_dir):
        return start_over(
            run, set_stop(config, max_steps, time_budget, device), reporter, callbacks
        )
    checkpoint = load_checkpoint(run_dir / layout.CHECKPOINTS, "last")
    refuse_a_spent_stop(run_dir, checkpoint, config.trainer, max_steps, time_budget)
    new_stop = set_stop(config, max_steps, time_budget, device)
    task = spec.reopen(run_dir, record, config)
    distributed.check_task(task, config, joined(config), spec.name)  # perhaps other ranks
    trainer = make_trainer(spec, task, task.build_model(), run_dir, config, reporter, callbacks)
    trainer.restore(checkpoint)
    record = resumption.with_stop(record, config) if new_stop else record
    if new_stop and trainer.world.main:
        layout.write_json(run_dir / layout.CONFIG, record)
    trainer.reporter.message(f"resuming {run_dir} at step {trainer.state.step}")
    return finish(spec, trainer, read_baselines(run_dir), record)


def start_over(run: Run, new_stop: bool, reporter, callbacks: Callbacks) -> RunResult:
    """A run that stopped before its first checkpoint (killed, or failed before its first
    evaluation) trained from step 0 in its own directory, on its recorded configuration (and
    ``new_stop``, set into it), as :func:`train` would have: the same figures for the seed."""
    here = joined(run.config)
    if here.main:  # on stderr, like a warning: it is not the run's output
        logger.warning(
            "%s stopped before its first checkpoint: training it again from step 0 with its "
            "recorded configuration%s",
            run.run_dir,
            " and the new stopping point" if new_stop else "",
        )
    notes = {k: v for k, v in run.record.items() if k not in ("format_version", "task", "config")}
    resumption.recorded_data(run.config, run.record)
    options = {"data": None, "notes": notes, "reporter": reporter, "callbacks": callbacks}
    return start(run.spec, run.config, run.run_dir, here, again=True, **options)


def joined(config) -> distributed.World:
    """This process's place under torchrun (one process without it), its process group
    joined on the backend of the config's device (a ValueError for a device not there, or
    for a precision it cannot run: before a run directory is made)."""
    device = resolve_device(config.trainer.device, distributed.local_rank())
    resolve_precision(config.trainer.precision, device.type)
    return distributed.world(device.type)


def make_trainer(
    spec: TaskSpec, task, model, run_dir: Path, config, reporter=None, callbacks: Callbacks = ()
) -> Trainer:
    """The one ``Trainer`` on a task configuration's ``trainer``, ``optimizer`` and
    ``schedule`` sections, with the task's own callbacks after the caller's."""
    return Trainer(
        task,
        model,
        run_dir,
        config.trainer,
        config.optimizer,
        config.schedule,
        reporter=reporter,
        callbacks=[*callbacks, *spec.callbacks(task)],
    )


def finish(spec: TaskSpec, trainer: Trainer, baselines: dict, record: dict) -> RunResult:
    """Fit, then (for a task with a test score) score the best checkpoint on the test split."""
    result = trainer.fit()
    test = {}
    if spec.score_test is not None or spec.score is not None:
        with trainer.run_threads():
            if load_best(trainer):
                test = spec.test_scores(trainer, baselines)
    return RunResult(spec, result, test, baselines, record, trainer.task.eval_metric)


@dataclass
class OpenedCheckpoint:
    """A run's ``config.json`` and one of its checkpoints, read and verified
    (``open_checkpoint``); the model is the task's to build from ``loaded``."""

    run_dir: Path
    record: dict
    config: Any
    checkpoint: str  # the one read: "best", or "last" where "best" was asked for but absent
    loaded: Checkpoint
    spec: TaskSpec | None = None

    @property
    def step(self) -> int:
        return self.loaded.meta["step"]


def open_checkpoint(
    run_dir: str | Path, checkpoint: str = "best", task: str | None = None
) -> OpenedCheckpoint:
    """Read a run (of ``task``, if given) and its checkpoint ``best`` (``last`` when the run
    has no best yet) or ``last``; a ValueError names the allowed checkpoints."""
    if checkpoint not in layout.CHECKPOINT_NAMES:
        raise ValueError(
            f"unknown checkpoint {checkpoint!r}; allowed: {', '.join(layout.CHECKPOINT_NAMES)}"
        )
    run = read_run(run_dir, task)
    folder = run.run_dir / layout.CHECKPOINTS
    if checkpoint == "best" and not (folder / "best.safetensors").exists():
        logger.info("%s has no best checkpoint yet; using last", run.run_dir)
        checkpoint = "last"
    loaded = load_checkpoint(folder, checkpoint)
    return OpenedCheckpoint(run.run_dir, run.record, run.config, checkpoint, loaded, run.spec)


def open_model(
    run_dir: str | Path, checkpoint: str, task: str, build: Callable[[dict], torch.nn.Module]
) -> tuple[OpenedCheckpoint, torch.nn.Module]:
    """A run of ``task`` and its checkpoint (:func:`open_checkpoint`), and the model that
    ``build`` makes from the checkpoint's model record, in eval mode with its weights; the
    data is not read. A record or weights that do not fit are a ValueError naming the file."""
    opened = open_checkpoint(run_dir, checkpoint, task)
    loaded = opened.loaded
    try:
        model = build(loaded.meta["task"]["model"])
        model.load_state_dict(loaded.section("model"))
    except (KeyError, TypeError, RuntimeError) as error:
        raise ValueError(
            f"checkpoint {loaded.path} does not hold a {task} model: {' '.join(str(error).split())}"
        ) from None
    model.eval()
    return opened, place_for_inference(model)


def evaluate(run_dir: str | Path, split: str = "test", checkpoint: str = "best") -> dict:
    """A run's checkpoint scored on ``split`` by its task's ``score`` (the generic
    ``rnnkit evaluate``; tasks with more to say have their own)."""
    spec, opened, task, model = _reopen_model(run_dir, checkpoint, "score", "evaluation")
    with torch.no_grad():
        scores = spec.score(task, model, split)
    where = {"run_dir": str(opened.run_dir), "task": spec.name, "split": split}
    return {**where, "checkpoint": opened.checkpoint, "steps": opened.step, **scores}


def predict(run_dir: str | Path, inputs: list[str], checkpoint: str = "best") -> dict:
    """What a run's checkpoint says about each of ``inputs`` (the task's ``predict``: the
    generic ``rnnkit predict``)."""
    spec, opened, task, model = _reopen_model(run_dir, checkpoint, "predict", "prediction")
    with torch.no_grad():
        predictions = spec.predict(task, model, inputs)
    where = {"run_dir": str(opened.run_dir), "task": spec.name, "checkpoint": opened.checkpoint}
    return {**where, "steps": opened.step, "predictions": predictions}


def _reopen_model(run_dir: str | Path, checkpoint: str, hook: str, what: str):
    """The spec, the opened checkpoint, the task reopened on its data and its model in eval
    mode with the checkpoint's weights; a task without ``hook`` is refused first."""
    opened = open_checkpoint(run_dir, checkpoint)
    spec = opened.spec
    if getattr(spec, hook) is None:
        raise ValueError(f"a {spec.name} run has no generic {what} (its task has no {hook!r})")
    return (spec, opened, *reopen_model(opened))


def reopen_model(opened: OpenedCheckpoint) -> tuple[Any, Any]:
    """The task of an opened run, reopened on its data, and its model in eval mode with the
    checkpoint's weights."""
    task = opened.spec.reopen(opened.run_dir, opened.record, opened.config)
    model = task.build_model()
    model.load_state_dict(opened.loaded.section("model"))
    model.eval()
    return task, place_for_inference(model)


def load_best(trainer: Trainer) -> bool:
    """Put the best checkpoint's weights into the trainer's model; False when the run has no
    best checkpoint (it never evaluated)."""
    if trainer.state.best_step is None:
        return False
    best = load_checkpoint(trainer.checkpoint_dir, "best")
    trainer.model.load_state_dict(best.section("model"))
    return True


def read_baselines(run_dir: Path) -> dict:
    """The baselines' figures a run wrote before training (``{}`` if it wrote none)."""
    path = run_dir / BASELINES
    return layout.read_json(path) if path.exists() else {}


def say(reporter: Reporter | None, text: str) -> None:
    """A progress message (none if empty): to the reporter, or to the log when there is none."""
    if text:
        (logger.info if reporter is None else reporter.message)(text)


def slug(name: str) -> str:
    """A data set's name as part of a run directory's name (``my pairs.tsv`` -> ``my-pairs``)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(name).stem) or "data"


def entry_points(spec: TaskSpec) -> tuple[Callable[..., RunResult], Callable[..., RunResult]]:
    """A task module's ``train(config, run_dir=None, **options)`` and ``resume(run_dir,
    **options)``: :func:`train` and :func:`resume` bound to ``spec``, so that ``from
    rnnkit.tasks.classify import train`` works without a copy of either in every task."""

    def train_task(config, run_dir: str | Path | None = None, **options) -> RunResult:
        return train(spec, config, run_dir, **options)

    def resume_task(run_dir: str | Path, **options) -> RunResult:
        return resume(run_dir, task=spec.name, **options)

    train_task.__doc__ = (
        f"Train a new {spec.name} run into ``run_dir`` (default ``runs/{spec.name}-...``); "
        "the options of ``rnnkit.tasks.lifecycle.train`` (``data=`` replaces loading the "
        "config's data)."
    )
    resume_task.__doc__ = f"Continue a {spec.name} run from its last checkpoint."
    for function, name in ((train_task, "train"), (resume_task, "resume")):
        function.__name__ = function.__qualname__ = name
    return train_task, resume_task
