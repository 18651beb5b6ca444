"""Run an experiment: every cell at every length, each a full ``Trainer`` run, then a table and
learning-curve plots.

    report = run_experiment(experiment_config("adding", cells=("rnn", "lstm")), "runs/exp")
    print(format_table(report))

Each run (one cell at one length) trains with the one ``Trainer`` into
``<out>/<task>/<cell>-T<seq_len>/`` (config.json, metrics.jsonl, TensorBoard events,
checkpoints/, plots/loss.png) and is summed up as a ``RunResult``:

- ``value``: the reported metric (``metric``: adding ``test_mse``, copy ``test_nats``, images
  ``test_accuracy``) of the final model, at the run's last evaluation on the held-out set;
- ``solved``: the task's criterion (``solved_when``) met by that final evaluation;
- ``steps_to_solve``: the step of the first evaluation that met it, else None;
- ``diverged``: the training loss became NaN or infinite (the Trainer's FloatingPointError);
  the run stops there, has no value and is not solved, and the next run goes on.

The first Ctrl-C or SIGTERM stops the run in progress after its current step (the Trainer
saves ``last``; its ``stop_reason`` is "interrupted" and its value that of its last evaluation)
and ends the experiment there; one that comes between two runs, or in a run's final
evaluation, ends it before the next run. The report holds the runs done so far,
``interrupted`` is True and ``not_run`` names the runs that never started. An experiment's
runs cannot be resumed; the ones not run can be trained into the same ``out_dir`` by naming
only them.

The plots, ``<out>/<task>/<task>-T<seq_len>.png``, draw the metric against step for every cell
run at that length under ``<out>/<task>/`` (earlier experiments' runs in the same ``out_dir``
included), with the trivial predictor's value (``baseline``) dashed.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnkit.data.output_paths import make_folder
from rnnkit.experiments import image_sequences
from rnnkit.experiments.adding import MIN_SEQ_LEN, AddingTask
from rnnkit.experiments.config import ExperimentConfig
from rnnkit.experiments.copy_memory import CopyTask
from rnnkit.experiments.image_sequences import IMAGE_TASKS, ImageSequenceTask, check_seq_len
from rnnkit.options import validate_section
from rnnkit.plots.curves import plot_learning_curves
from rnnkit.training import run_dir as layout
from rnnkit.training.config import OptimizerConfig, ScheduleConfig, TrainerConfig, resolve_precision
from rnnkit.training.devices import resolve_device
from rnnkit.training.metrics import read_metrics
from rnnkit.training.progress import LogReporter, Reporter, stop_on_signals
from rnnkit.training.state import seed_everything
from rnnkit.training.trainer import Trainer

logger = logging.getLogger(__name__)

TASKS = ("adding", "copy", *IMAGE_TASKS)
SOLVED_WHEN = {
    "adding": "test MSE < 0.01",
    "copy": "recall accuracy >= 0.99",
    "digits": "test accuracy >= 0.95",
    "seqmnist": "test accuracy >= 0.95",
}


@dataclass
class RunResult:
    """One cell at one length (see the module docstring for the fields' meaning)."""

    cell: str
    seq_len: int
    metric: str
    value: float | None
    solved: bool
    steps_to_solve: int | None
    steps: int
    seconds: float
    baseline: float
    diverged: bool
    stop_reason: str
    run_dir: str
    final: dict = field(default_factory=dict)  # every metric of the last evaluation
    lr: float | None = None  # the learning rate this cell trained with
    memory_horizon: int | None = None  # at the last --diagnose-every measurement
    precision: str = "fp32"  # what the training steps ran in ("auto" resolved)


@dataclass
class ExperimentReport:
    task: str
    config: ExperimentConfig
    out_dir: Path
    results: list[RunResult]
    plots: list[Path]
    interrupted: bool = False  # a stop request ended the experiment early
    not_run: list[tuple[str, int]] = field(default_factory=list)  # (cell, seq_len) not started

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "solved_when": SOLVED_WHEN[self.task],
            "results": [asdict(result) for result in self.results],
            "plots": [str(path) for path in self.plots],
            "interrupted": self.interrupted,
            "not_run": [{"cell": cell, "seq_len": seq_len} for cell, seq_len in self.not_run],
            "out_dir": str(self.out_dir),
            "config": asdict(self.config),
        }


def check_seq_lens(task: str, seq_lens) -> None:
    """A ValueError for the first length ``task`` cannot run."""
    for seq_len in seq_lens:
        if task == "adding" and seq_len < MIN_SEQ_LEN:
            raise ValueError(f"the adding problem needs --seq-len >= {MIN_SEQ_LEN}, got {seq_len}")
        if task == "copy" and seq_len < 1:
            raise ValueError(f"the copy task needs --seq-len (the delay) >= 1, got {seq_len}")
        if task in IMAGE_TASKS:
            check_seq_len(task, seq_len)


def make_task(config: ExperimentConfig, cell: str, seq_len: int, images=None):
    """The Trainer task of one run; ``images`` is the loaded ImageData of an image task."""
    if config.task == "adding":
        return AddingTask(cell, seq_len, config)
    if config.task == "copy":
        return CopyTask(cell, seq_len, config)
    return ImageSequenceTask(config.task, cell, seq_len, config, data=images)


def run_experiment(
    config: ExperimentConfig,
    out_dir: str | Path,
    reporter_factory: Callable[[], Reporter] = LogReporter,
    images=None,
) -> ExperimentReport:
    """Train every cell at every length of ``config`` into ``out_dir`` (see the module
    docstring). Everything is checked (cells, lengths, the Trainer's settings of every run,
    free run directories, the image data, ``out_dir`` made a folder) before the first run
    starts. ``images`` replaces loading an image task's data set."""
    config.validate()
    if config.task not in TASKS:
        raise ValueError(f"unknown experiment {config.task!r}; choose from {', '.join(TASKS)}")
    check_seq_lens(config.task, config.seq_lens)
    check_trainer_settings(config)
    out_dir = Path(out_dir).expanduser()  # "--out=~/x": the shell leaves the ~ to rnnkit
    task_dir = out_dir / config.task
    runs = [(cell, seq_len) for seq_len in config.seq_lens for cell in config.cells]
    for cell, seq_len in runs:
        _check_free(run_dir_of(task_dir, cell, seq_len))
    if config.task in IMAGE_TASKS and images is None:
        images = image_sequences.load_image_data(IMAGE_TASKS[config.task].data)
    make_folder(out_dir, "--out", "the experiment's runs")
    results: list[RunResult] = []
    stop: list[str] = []  # a stop request between runs, or in a run's final evaluation
    with stop_on_signals(lambda: stop[-1] if stop else None, stop.append, reporter_factory()):
        for number, (cell, seq_len) in enumerate(runs, 1):
            if stop or (results and results[-1].stop_reason == "interrupted"):
                break
            reporter = reporter_factory()
            reporter.message(f"run {number}/{len(runs)}: {config.task} {cell} T={seq_len}")
            task = make_task(config, cell, seq_len, images)
            results.append(run_one(task, config, run_dir_of(task_dir, cell, seq_len), reporter))
    lengths = dict.fromkeys(result.seq_len for result in results)
    plots = [plot_seq_len(task_dir, config, seq_len, results) for seq_len in lengths]
    interrupted = bool(stop) or any(r.stop_reason == "interrupted" for r in results)
    report = ExperimentReport(config.task, config, out_dir, results, plots, interrupted)
    report.not_run = runs[len(results) :]
    return report


def check_trainer_settings(config: ExperimentConfig) -> None:
    """What the Trainer checks when it starts, for every run of ``config``: its settings and
    the precision on the device it will train on (a ValueError saying what is wrong)."""
    settings = trainer_config(config)
    validate_section(settings)
    validate_section(ScheduleConfig(name=config.schedule))
    for cell in config.cells:
        validate_section(optimizer_config(config, cell))
    resolve_precision(settings.precision, resolve_device(settings.device).type)


def run_one(task, config: ExperimentConfig, run_dir: Path, reporter: Reporter) -> RunResult:
    """Train ``task``'s model with the ``Trainer``; a diverged run is reported, not raised.
    The Trainer is set up (and its settings checked) before ``run_dir`` is made."""
    seed_everything(config.seed)
    model = task.build_model()
    trainer = Trainer(
        task,
        model,
        run_dir,
        trainer_config(config),
        optimizer_config(config, task.cell),
        ScheduleConfig(name=config.schedule),
        reporter=reporter,
        callbacks=diagnostics_callbacks(task, config),
    )
    _check_free(run_dir)
    layout.create_run_dir(run_dir)
    layout.write_json(
        run_dir / layout.CONFIG,
        {
            "task": f"experiment-{task.name}",
            "cell": task.cell,
            "seq_len": task.seq_len,
            "config": asdict(config),
        },
    )
    started = time.perf_counter()
    diverged, stop_reason = False, "diverged"
    try:
        stop_reason = trainer.fit().stop_reason
    except FloatingPointError as error:
        diverged = True
        reporter.message(f"{task.cell} T={task.seq_len} diverged: {error}")
    seconds = time.perf_counter() - started
    evaluations = [r for r in read_metrics(run_dir / layout.METRICS) if r.get("kind") == "eval"]
    final = {} if diverged or not evaluations else _metrics_of(evaluations[-1])
    value = final.get(task.metric)
    if value is not None and not math.isfinite(value):
        value = None
    solved_at = next((r["step"] for r in evaluations if task.solved(r)), None)
    return RunResult(
        cell=task.cell,
        seq_len=task.seq_len,
        metric=task.metric,
        value=value,
        solved=bool(value is not None and task.solved(final)),
        steps_to_solve=solved_at,
        steps=trainer.state.step,
        seconds=seconds,
        baseline=task.baseline,
        diverged=diverged,
        stop_reason=stop_reason,
        run_dir=str(run_dir),
        final=final,
        lr=config.lr_for(task.cell),
        memory_horizon=_last_horizon(trainer),
        precision=trainer.precision,
    )


def diagnostics_callbacks(task, config: ExperimentConfig) -> list:
    """``--diagnose-every N``: gradient flow through time, ``W_hh`` spectra and saturation on
    a fixed batch of test sequences, logged as "diagnostics" records (``rnnkit.diagnostics``).

    The norms need the loss summed, not averaged, to be each sequence's own. Each model returns
    the mean over its targets (N for adding and the images, N * T for copy's every step):
    times ``targets.numel()``, the count that mean divided by, it is the sum for every task."""
    if not config.diagnose_every:
        return []
    from rnnkit.diagnostics.callback import GradientDiagnostics

    inputs, targets = task.diagnostics_batch()

    def compute_loss(model):
        _, loss = model(inputs.double(), targets)
        return loss * targets.numel()

    return [GradientDiagnostics(config.diagnose_every, compute_loss, loss=task.diagnostics_loss)]


def _last_horizon(trainer) -> int | None:
    for callback in trainer.callbacks:
        last = getattr(callback, "last", None)
        if last is not None:
            return int(last.memory_horizon())
    return None


def optimizer_config(config: ExperimentConfig, cell: str) -> OptimizerConfig:
    """Adam at the cell's learning rate; AdamW when ``config.weight_decay`` > 0."""
    name = "adamw" if config.weight_decay else "adam"
    return OptimizerConfig(name=name, lr=config.lr_for(cell), weight_decay=config.weight_decay)


def trainer_config(config: ExperimentConfig) -> TrainerConfig:
    """Every run's Trainer settings, ``device`` included (left out, "auto" would choose)."""
    return TrainerConfig(
        max_steps=config.max_steps,
        time_budget=config.time_budget,
        eval_every=config.eval_every,
        log_every=config.log_every,
        clip_norm=config.clip_norm,
        seed=config.seed,
        threads=config.threads,
        adapt_threads=config.adapt_threads,
        precision=config.precision,
        device=config.device,
    )


def run_dir_of(task_dir: Path, cell: str, seq_len: int) -> Path:
    return task_dir / f"{cell}-T{seq_len}"


def plot_seq_len(
    task_dir: Path, config: ExperimentConfig, seq_len: int, results: list[RunResult]
) -> Path:
    """The learning curves of every cell run at ``seq_len`` under ``task_dir``: this
    experiment's ``results``, then the runs that earlier experiments left there."""
    chosen = [r for r in results if r.seq_len == seq_len]
    metric = chosen[0].metric
    runs = {_label(r): Path(r.run_dir) for r in chosen}
    ours = set(runs.values())
    for run_dir in sorted(task_dir.glob(f"*-T{seq_len}")):
        cell = _earlier_run(run_dir, config.task, seq_len)
        if cell is not None and run_dir not in ours:
            runs.setdefault(cell, run_dir)
    curves = {
        label: [
            (r["step"], r[metric])
            for r in read_metrics(run_dir / layout.METRICS)
            if r.get("kind") == "eval" and metric in r
        ]
        for label, run_dir in runs.items()
    }
    return plot_learning_curves(
        curves,
        task_dir / f"{config.task}-T{seq_len}.png",
        metric=metric,
        baseline=chosen[0].baseline,
        title=f"{config.task}, T = {seq_len}",
        log_y=not metric.endswith("accuracy"),
    )


def _earlier_run(run_dir: Path, task: str, seq_len: int) -> str | None:
    """The cell of ``run_dir`` if it holds a run of experiment ``task`` at ``seq_len`` with
    metrics, else None."""
    if not (run_dir / layout.METRICS).is_file():
        return None
    try:
        recorded = layout.read_json(run_dir / layout.CONFIG)
    except (OSError, ValueError):
        return None
    if recorded.get("task") != f"experiment-{task}" or recorded.get("seq_len") != seq_len:
        return None
    return str(recorded.get("cell", run_dir.name))


def _label(result: RunResult) -> str:
    """The run's name in the table and the plots: its cell, and how it ended if not normally."""
    if result.diverged:
        return f"{result.cell} (diverged)"
    if result.stop_reason == "interrupted":
        return f"{result.cell} (interrupted)"
    return result.cell


def format_table(report: ExperimentReport) -> str:
    """The results as a plain-text table, one line per run, and a note on an interrupted
    experiment."""
    metric = report.results[0].metric if report.results else "value"
    baseline = report.results[0].baseline if report.results else None
    width = max([len("cell")] + [len(_label(r)) for r in report.results])
    lines = [
        f"{report.task}: {metric} of the final model; solved: {SOLVED_WHEN[report.task]}"
        + (f"; baseline {baseline:.4f}" if len({r.baseline for r in report.results}) == 1 else ""),
        f"{'cell':<{width}} {'T':>5} {metric:>14} {'baseline':>9} {'solved':>6} "
        f"{'steps to solve':>14} {'steps':>7} {'seconds':>8}",
    ]
    for r in report.results:
        value = "diverged" if r.diverged else ("-" if r.value is None else f"{r.value:.4f}")
        lines.append(
            f"{_label(r):<{width}} {r.seq_len:>5} {value:>14} {r.baseline:>9.4f} "
            f"{'yes' if r.solved else 'no':>6} "
            f"{'-' if r.steps_to_solve is None else r.steps_to_solve:>14} {r.steps:>7} "
            f"{r.seconds:>8.1f}"
        )
    if report.interrupted:
        note = ["the experiment was stopped on request"]
        if any(r.stop_reason == "interrupted" for r in report.results):
            note.append("(interrupted): the numbers of its last evaluation")
        if report.not_run:
            note.append(f"not run: {describe_runs(report.not_run)}")
        lines.append("; ".join(note))
    return "\n".join(lines)


def describe_runs(runs: list[tuple[str, int]]) -> str:
    """``[("lstm", 10), ("gru", 10)]`` -> ``"lstm T=10, gru T=10"``."""
    return ", ".join(f"{cell} T={seq_len}" for cell, seq_len in runs)


def _metrics_of(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("kind", "step", "best")}


def _check_free(run_dir: Path) -> None:
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise ValueError(
            f"{run_dir} already holds a run; choose another --out, or leave that run out of "
            "--cells/--seq-len (rnnkit never overwrites a run; an experiment's runs cannot be "
            "resumed)"
        )
