"""What an experiment runs: ``ExperimentConfig`` and the per-task defaults it starts from.

    config = experiment_config("adding", cells=("rnn", "lstm"), seq_lens=(50, 100))

``TASK_DEFAULTS`` is the one place the per-task numbers live (model size, batch, learning
rate, clipping, budget, evaluation interval); a flag or keyword given explicitly overrides
them. The time budget and ``max_steps`` apply to each run (one cell at one length) separately.

Runs use one torch thread unless told otherwise: at these sizes (hidden 128, batch 50) a step
takes about 20 ms on one thread of the project's shared 2-core CPU and three times as long on
two threads that wait for each other (``--threads auto`` lets the Trainer choose).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from rnnkit.experiments.augment import Distortion
from rnnkit.models.recurrent import check_cell
from rnnkit.options import check_int
from rnnkit.training.config import PRECISIONS, SCHEDULES
from rnnkit.training.devices import check_device_name


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: every cell in ``cells`` trained at every length in ``seq_lens``.

    ``seq_lens`` means, per task: adding, the sequence length T; copy, the delay T between
    the symbols and the delimiter (the sequence is T + 20 steps); digits, 8 (rows) or 64
    (pixels); seqmnist, 28 (rows) or 784 (pixels). ``clip_norm`` None: no clipping.
    ``test_size`` is the size of the fixed test batch of the generated problems (adding, copy).
    ``augment_shift`` (digits, seqmnist): each training image is moved by a random whole number
    of pixels in [-s, s] along each axis, the uncovered border filled with background, a fresh
    draw every time it is seen; validation and test images are never moved.
    ``augment_rotate`` (degrees), ``augment_scale`` (relative) and ``augment_elastic`` (pixels)
    distort training images further (``rnnkit.experiments.augment``).
    ``weight_decay`` > 0 trains with AdamW (decoupled decay) instead of Adam; ``dropout`` is
    the probability of zeroing each unit of the state the output layer reads, in training only:
    the last step's (adding, images), every step's (copy, which answers at every step).
    ``precision``: "fp32", "bf16" (autocast; evaluation stays fp32) or "auto".
    ``device``: where every run trains (``auto|cpu|cuda|cuda:N|mps``); "auto", CUDA where there
    is one, is what experiments did before the field existed, so a config recorded without it
    means the same.
    """

    task: str
    cells: tuple[str, ...] = ("rnn", "irnn", "lstm", "gru")
    seq_lens: tuple[int, ...] = (50,)
    hidden_size: int = 128
    batch_size: int = 50
    lr: float = 1e-3
    cell_lr: tuple[tuple[str, float], ...] = ()  # per-cell learning rates overriding ``lr``
    clip_norm: float | None = 1.0
    schedule: str = "constant"
    time_budget: float | None = 60.0
    max_steps: int | None = None
    eval_every: int = 100
    log_every: int = 20
    test_size: int = 2000
    seed: int = 0
    diagnose_every: int | None = None  # gradient-flow diagnostics every N steps (None: off)
    augment_shift: int = 0  # images: shift each training image by up to this many pixels
    augment_rotate: float = 0.0  # images: rotate by up to this many degrees each way
    augment_scale: float = 0.0  # images: magnify by a factor in [1 - s, 1 + s]
    augment_elastic: float = 0.0  # images: elastic warp moving pixels by up to this much
    weight_decay: float = 0.0  # > 0: AdamW with this decoupled weight decay
    dropout: float = 0.0  # on the state the output layer reads (every task)
    precision: str = "fp32"
    threads: int | None = 1  # these models are small: one thread is fastest on a shared CPU
    adapt_threads: bool = False
    device: str = "auto"

    def validate(self) -> ExperimentConfig:
        if not self.cells:
            raise ValueError("give at least one cell, e.g. --cells rnn,irnn,lstm,gru")
        canonical = [check_cell(cell) for cell in self.cells]
        if len(set(canonical)) < len(canonical):
            raise ValueError(
                f"cells {', '.join(self.cells)} name a cell twice; give each cell once"
            )
        if not self.seq_lens:
            raise ValueError("give at least one sequence length, e.g. --seq-len 50,100")
        for name in ("hidden_size", "batch_size", "eval_every", "log_every", "test_size"):
            check_int(name, getattr(self, name))
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"the learning rate must be a positive number, got {self.lr}")
        for cell, lr in self.cell_lr:
            try:
                check_cell(cell)
            except ValueError as error:
                raise ValueError(f"a learning rate for {error}") from None
            if not (math.isfinite(lr) and lr > 0):
                raise ValueError(f"the learning rate of {cell} must be positive, got {lr}")
        if self.clip_norm is not None and not (
            math.isfinite(self.clip_norm) and self.clip_norm > 0
        ):
            raise ValueError(f"the clip norm must be positive (or off), got {self.clip_norm}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; allowed: {', '.join(SCHEDULES)}")
        if self.time_budget is None and self.max_steps is None:
            raise ValueError("set a stopping point for each run: --time-budget or --max-steps")
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps)
        if self.diagnose_every is not None:
            check_int("diagnose_every", self.diagnose_every)
        check_int("augment_shift", self.augment_shift, minimum=0)
        if self.augment_shift and self.task not in ("digits", "seqmnist"):
            raise ValueError(
                f"--augment-shift shifts images: it applies to digits and seqmnist, not {self.task}"
            )
        distortion = self.distortion()  # checks the three ranges
        if distortion.active and self.task not in ("digits", "seqmnist"):
            raise ValueError(
                "--augment-rotate, --augment-scale and --augment-elastic distort images: they "
                f"apply to digits and seqmnist, not {self.task}"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay}")
        if not (math.isfinite(self.dropout) and 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"unknown precision {self.precision!r}; allowed: {', '.join(PRECISIONS)}"
            )
        check_device_name(self.device)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"the seed must be an integer >= 0, got {self.seed!r}")
        return self

    def distortion(self) -> Distortion:
        """The rotations, scalings and elastic warps of training images."""
        return Distortion(self.augment_rotate, self.augment_scale, self.augment_elastic)

    def lr_for(self, cell: str) -> float:
        """``cell``'s learning rate: its entry in ``cell_lr`` (under its name or an alias),
        else ``lr``."""
        rates = {check_cell(name): lr for name, lr in self.cell_lr}
        return rates.get(check_cell(cell), self.lr)


# The per-task starting points. Budgets are per run, on a 2-core CPU.
TASK_DEFAULTS: dict[str, dict] = {
    "adding": {  # lstm, T=50: solved (MSE 0.004) at step 500 of 1219 in 60 s (lr 3e-3: 1100)
        "seq_lens": (50,),
        "hidden_size": 128,
        "batch_size": 50,
        "lr": 1e-2,
        # Adam at 1e-2 throws the identity-initialised ReLU RNN off its identity at once; at
        # 1e-4 it learns T=200 (MSE 0.0107 after 600 s, 6,650 steps; docs/experiments.md).
        "cell_lr": (("irnn", 1e-4),),
        "clip_norm": 1.0,
        "time_budget": 120.0,
        "eval_every": 100,
        "test_size": 2000,
    },
    "copy": {
        "seq_lens": (50,),
        "hidden_size": 128,
        "batch_size": 50,
        "lr": 1e-3,
        "clip_norm": 1.0,
        "time_budget": 120.0,
        "eval_every": 100,
        "test_size": 1000,
    },
    "digits": {
        "seq_lens": (8,),
        "hidden_size": 64,
        "batch_size": 32,
        "lr": 2e-3,
        "clip_norm": 1.0,
        "time_budget": 60.0,
        "eval_every": 100,
    },
    # clstm, 784 pixels, lr 2e-3: 88.4% test after 3,293 steps (40 min); with images shifted by
    # up to 2 pixels and a cosine schedule 91.5% after 9,908 steps (75 min); with rotations,
    # scalings, elastic warps, dropout 0.1 and bf16 (AMX) above 95% from step 5,000 (about 20
    # min) in two seeds (docs/experiments.md)
    "seqmnist": {
        "seq_lens": (784,),
        "hidden_size": 128,
        "batch_size": 64,
        "lr": 2e-3,
        "schedule": "cosine",
        "augment_shift": 2,
        "augment_rotate": 10.0,
        "augment_scale": 0.1,
        "augment_elastic": 1.5,
        "dropout": 0.1,
        "precision": "auto",
        "clip_norm": 1.0,
        "time_budget": 600.0,
        "eval_every": 500,
    },
}


def experiment_config(task: str, **overrides) -> ExperimentConfig:
    """``task``'s defaults (``TASK_DEFAULTS``) with ``overrides`` applied, validated."""
    if task not in TASK_DEFAULTS:
        raise ValueError(f"unknown experiment {task!r}; choose from {', '.join(TASK_DEFAULTS)}")
    known = {field.name for field in dataclasses.fields(ExperimentConfig)} - {"task"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    values = {**TASK_DEFAULTS[task], **overrides}
    values["cells"] = unique_cells(values.get("cells", ExperimentConfig.cells))
    values["seq_lens"] = tuple(values["seq_lens"])
    values["cell_lr"] = tuple((str(c), float(lr)) for c, lr in values.get("cell_lr", ()))
    return ExperimentConfig(task=task, **values).validate()


def unique_cells(cells) -> tuple[str, ...]:
    """``cells`` without repeats (a name, or an alias of a cell named before it), as
    ``rnnkit diagnose`` drops them; each checked by ``check_cell``."""
    seen: dict[str, str] = {}
    for cell in cells:
        seen.setdefault(check_cell(cell), cell)
    return tuple(seen.values())
