"""``rnnkit diagnose gradients RUN_DIR``: the gradient diagnostics of a trained character model.

    gradients_for_run("runs/charlm-lstm", seq_len=200)   # writes RUN_DIR/plots/gradients.*

The diagnostics themselves know nothing of tasks (``rnnkit.diagnostics``); this module opens
a charlm run, reads a batch of its validation text and hands the model to them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rnnkit.diagnostics.gradients import loss_words, write_report
from rnnkit.diagnostics.language_model import language_model_loss, text_batch
from rnnkit.diagnostics.report import Diagnosis, check_loss, diagnose
from rnnkit.options import check_int
from rnnkit.tasks.charlm import SPEC
from rnnkit.tasks.charlm_runs import load_run


def diagnose_run(
    run_dir: str | Path,
    *,
    seq_len: int = 200,
    batch_size: int = 16,
    loss: str = "last",
    checkpoint: str = "best",
) -> tuple[str, Diagnosis, dict]:
    """A trained character model on a batch of its validation text, in float64 (see
    :mod:`rnnkit.diagnostics.language_model`): ``(cell name, Diagnosis, settings)``. The
    global random generator is left as it was."""
    check_int("seq_len", seq_len, minimum=2)
    check_int("batch_size", batch_size)
    check_loss(loss)
    with torch.random.fork_rng(devices=[]):  # building the model draws its initial weights
        run = load_run(run_dir, checkpoint)
    val = SPEC.reopen(run.run_dir, run.record, run.config).corpus.val
    try:
        idx, targets = text_batch(val, batch_size, seq_len)
    except ValueError as error:
        raise ValueError(f"{run.run_dir}'s validation text: {error}") from None
    model = run.model.to(torch.float64)
    diagnosis = diagnose(model, language_model_loss(idx, targets, loss), loss=loss)
    settings = {
        "source": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "step": run.step,
        "seq_len": seq_len,
        "batch_size": int(idx.shape[1]),
        "loss": loss,
        "dtype": "float64",
    }
    return run.config.model.cell, diagnosis, settings


def gradients_for_run(
    run_dir: str | Path,
    *,
    out: str | Path | None = None,
    seq_len: int = 200,
    batch_size: int = 16,
    loss: str = "last",
    checkpoint: str = "best",
) -> dict:
    """A trained run (see :func:`diagnose_run`), plotted and written (default: into
    ``RUN_DIR/plots/``)."""
    name, diagnosis, settings = diagnose_run(
        run_dir, seq_len=seq_len, batch_size=batch_size, loss=loss, checkpoint=checkpoint
    )
    out = out if out is not None else Path(run_dir).expanduser() / "plots"
    title = (
        f"{name} run at step {settings['step']}, T={seq_len}, cross-entropy at {loss_words(loss)}"
    )
    return write_report({name: diagnosis}, out, title, settings)
