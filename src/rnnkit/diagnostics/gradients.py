"""``rnnkit diagnose gradients`` as library calls: diagnose, plot, write the JSON report.

    gradients_for_cells("rnn,irnn,lstm,gru", seq_len=200)   # fresh cores, side by side

returns ``{"cells": {name: Diagnosis.summary()}, "plot": PNG path, "report": JSON path,
"settings": {...}}`` after writing ``gradients.png`` and ``gradients.json`` into ``out``
(default: ``runs/diagnose-gradients-<time>/``). A trained character model goes through the
same ``write_report`` from ``rnnkit.tasks.charlm_gradients.gradients_for_run`` (into
``RUN_DIR/plots/``): opening a run is the tasks' business, not the diagnostics'.
"""

from __future__ import annotations

import json
from pathlib import Path

from rnnkit.data.atomic import atomic_write_text
from rnnkit.data.output_paths import make_folder
from rnnkit.diagnostics.fresh import diagnose_cells
from rnnkit.diagnostics.report import Diagnosis
from rnnkit.plots.gradient_flow import plot_gradient_flow
from rnnkit.training import run_dir as layout

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
    out = out if out is not None else layout.default_run_dir("diagnose-gradients")
    title = f"fresh cores, H={hidden_size}, T={seq_len}, loss at {loss_words(loss)}"
    return write_report(diagnoses, out, title, settings)


def write_report(diagnoses: dict[str, Diagnosis], out, title: str, settings: dict) -> dict:
    """Write ``gradients.png`` and ``gradients.json`` into ``out``; return the report."""
    out = make_folder(out, "--out", f"{PLOT} and {REPORT}")  # a leading ~ expanded
    norms = {name: diagnosis.flow.norms for name, diagnosis in diagnoses.items()}
    thresholds = [diagnosis.threshold for diagnosis in diagnoses.values()]
    plot = plot_gradient_flow(norms, out / PLOT, title, thresholds[-1] if thresholds else None)
    report = {
        "cells": {name: diagnosis.summary() for name, diagnosis in diagnoses.items()},
        "plot": str(plot),
        "report": str(out / REPORT),
        "settings": settings,
    }
    atomic_write_text(out / REPORT, json.dumps(report, indent=1) + "\n")
    return report


def loss_words(loss: str) -> str:
    """The loss in a plot's title: at the last step, or summed over every step."""
    return "the last step" if loss == "last" else "every step (summed)"
