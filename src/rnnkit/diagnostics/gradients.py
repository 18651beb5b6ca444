"""``rnnkit diagnose gradients`` as library calls: diagnose, plot, write the JSON report.

    gradients_for_cells("rnn,irnn,lstm,gru", seq_len=200)   # fresh cores, side by side
    gradients_for_run("runs/charlm-lstm", seq_len=200)      # a trained character model

Each returns ``{"cells": {name: Diagnosis.summary()}, "plot": PNG path, "report": JSON path,
"settings": {...}}`` after writing ``gradients.png`` and ``gradients.json`` into ``out``
(default: ``runs/diagnose-gradients-<time>/`` for fresh cores, ``RUN_DIR/plots/`` for a run).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from rnnkit.diagnostics.fresh import diagnose_cells
from rnnkit.diagnostics.language_model import language_model_loss, text_batch
from rnnkit.diagnostics.plots import plot_gradient_flow
from rnnkit.diagnostics.report import Diagnosis, check_loss, check_positive, diagnose
from rnnkit.training import run_dir as layout
from rnnkit.training.checkpoint import atomic_write_text

PLOT = "gradients.png"
REPORT = "gradients.json"


def gradients_for_cells(
    cells: str | list[str],
    *,
    out: str | Path | None = None,
    seq_len: int = 200,
    hidden_size: int = 128,
    input_size: int | None = None,
    batch_size: int = 16,
    num_layers: int = 1,
    loss: str = "last",
    seed: int = 0,
) -> dict:
    """Fresh cores (see :func:`rnnkit.diagnostics.fresh.diagnose_cells`), plotted and written."""
    diagnoses = diagnose_cells(
        cells,
        seq_len=seq_len,
        hidden_size=hidden_size,
        input_size=input_size,
        batch_size=batch_size,
        num_layers=num_layers,
        loss=loss,
        seed=seed,
    )
    settings = {
        "source": "fresh",
        "seq_len": seq_len,
        "hidden_size": hidden_size,
        "input_size": hidden_size if input_size is None else input_size,
        "batch_size": batch_size,
        "num_layers": num_layers,
        "loss": loss,
        "seed": seed,
        "dtype": "float64",
    }
    out = Path(out) if out is not None else layout.default_run_dir("diagnose-gradients")
    title = f"fresh cores, H={hidden_size}, T={seq_len}, loss at {_loss_words(loss)}"
    return write_report(diagnoses, out, title, settings)


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
    from rnnkit.data.encoding import encode_with_vocab
    from rnnkit.data.provenance import read_recorded_corpus
    from rnnkit.tasks.charlm_runs import load_run

    check_positive("seq_len", seq_len, minimum=2)
    check_positive("batch_size", batch_size)
    check_loss(loss)
    with torch.random.fork_rng(devices=[]):  # building the model draws its initial weights
        run = load_run(run_dir, checkpoint)
    text = read_recorded_corpus(run.record["data"], run.config.data.max_chars)
    val = encode_with_vocab(text, run.vocab, run.config.data.split).val
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
    """A trained run (see :func:`diagnose_run`), plotted and written."""
    name, diagnosis, settings = diagnose_run(
        run_dir, seq_len=seq_len, batch_size=batch_size, loss=loss, checkpoint=checkpoint
    )
    out = Path(out) if out is not None else Path(run_dir) / "plots"
    title = (
        f"{name} run at step {settings['step']}, T={seq_len}, cross-entropy at {_loss_words(loss)}"
    )
    return write_report({name: diagnosis}, out, title, settings)


def write_report(diagnoses: dict[str, Diagnosis], out: Path, title: str, settings: dict) -> dict:
    """Write ``gradients.png`` and ``gradients.json`` into ``out``; return the report."""
    out.mkdir(parents=True, exist_ok=True)
    plot = plot_gradient_flow(diagnoses, out / PLOT, title)
    report = {
        "cells": {name: diagnosis.summary() for name, diagnosis in diagnoses.items()},
        "plot": str(plot),
        "report": str(out / REPORT),
        "settings": settings,
    }
    atomic_write_text(out / REPORT, json.dumps(report, indent=1) + "\n")
    return report


def _loss_words(loss: str) -> str:
    return "the last step" if loss == "last" else "every step (summed)"
