"""What a stopped run may go on with (``rnnkit.tasks.lifecycle.resume``): the stopping point
and device a resume may change, the checks that the new stop is still ahead, and the run
directory that an earlier attempt of a torchrun job left behind; a run started over (killed
before its first checkpoint) reads the data it recorded, or refuses changed data.

    changed = set_stop(config, max_steps=2000, time_budget=None, device="cpu")
    refuse_a_spent_stop(run_dir, checkpoint, recorded, max_steps=2000, budget=None)
    retry = restarted_attempt("runs/ner")   # under torchrun --max-restarts, else None
    recorded_data(config, record)           # a run started over reads what it recorded
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from rnnkit.training import run_dir as layout
from rnnkit.training.checkpoint import Checkpoint


def set_stop(config, max_steps: int | None, time_budget: float | None, device: str | None):
    """Put a resume's ``device`` and new stopping point (``max_steps`` / ``time_budget``,
    both counting the whole run) into ``config``, validated; whether the stop changed (it is
    then written back to config.json)."""
    if device is not None:
        config.trainer.device = device
        config.validate()
    new_stop = max_steps is not None or time_budget is not None
    if new_stop:
        config.trainer.max_steps = max_steps
        config.trainer.time_budget = time_budget
        config.validate()
    return new_stop


def refuse_a_spent_stop(run_dir: Path, checkpoint: Checkpoint, recorded, max_steps, budget):
    """A ValueError for a stop other than the ``recorded`` one (the run's TrainerConfig) that
    the run has passed: both count the whole run, so it would stop at once, training nothing."""
    step, elapsed = (checkpoint.meta.get("trainer", {}).get(key, 0) for key in ("step", "elapsed"))
    if max_steps not in (None, recorded.max_steps) and max_steps <= step:
        raise ValueError(
            f"--max-steps {max_steps} is already reached: steps count the whole run, and "
            f"{run_dir} is at step {step}; for {max_steps} more, give --max-steps "
            f"{step + max_steps}"
        )
    if budget not in (None, recorded.time_budget) and budget <= elapsed:
        raise ValueError(
            f"--time-budget {budget:g}s is already spent: the budget counts the whole run, "
            f"and {run_dir} has trained for {elapsed:.0f}s; for {budget:g}s more, give "
            f"--time-budget {math.ceil(elapsed + budget)}s"
        )


def restarted_attempt(run_dir: str | Path | None) -> Path | None:
    """Under ``torchrun --max-restarts``, the run directory (``--out``) that an earlier
    attempt of this same job made before a rank failed: the job goes on from its last
    checkpoint, or starts again in it when it has none yet. None otherwise."""
    again = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0
    if not again or run_dir is None:
        return None
    run_dir = Path(run_dir).expanduser()
    return run_dir if (run_dir / layout.CONFIG).exists() else None


def recorded_data(config, record: dict) -> None:
    """Point ``config`` at the data set its run recorded (a file's absolute path), for a run
    started over (killed before its first checkpoint): it reads the file it started on,
    wherever the resume runs, not a file of that name in the current folder."""
    data = record.get("data")
    if isinstance(data, dict) and isinstance(data.get("dataset"), str):
        if hasattr(getattr(config, "data", None), "dataset"):
            config.data.dataset = data["dataset"]


def refuse_changed_data(run_dir, earlier: dict, now: dict) -> None:
    """A ValueError when a run started over has read other data than its first attempt
    recorded (``earlier``, ``now``: config.json's records; a new run's ``earlier`` has no
    data): a resume from a checkpoint refuses changed data, and so does this."""
    before, after = (r["data"] if isinstance(r.get("data"), dict) else {} for r in (earlier, now))
    if "fingerprint" in before and before["fingerprint"] != after.get("fingerprint"):
        raise ValueError(
            f"the data {before.get('dataset', '')} has changed since {run_dir} was started "
            "(a different fingerprint); it cannot be trained again on the same data"
        )


def with_stop(record: dict, config) -> dict:
    """config.json's ``record`` with ``config``'s stopping point written in, and nothing else
    of ``config``: a resume's ``--device`` says where this resume goes on, not where the run
    lives (written in too, it became every later resume's device)."""
    stop = {"max_steps": config.trainer.max_steps, "time_budget": config.trainer.time_budget}
    trainer = {**record["config"].get("trainer", {}), **stop}
    return {**record, "config": {**record["config"], "trainer": trainer}}
