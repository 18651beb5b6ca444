"""A Trainer callback that records gradient flow, ``W_hh`` spectra and gate saturation while a
model trains.

    Trainer(..., callbacks=[GradientDiagnostics(every=200, compute_loss=...)])

Every ``every`` steps it diagnoses a float64 copy of the model on a fixed batch
(:func:`rnnkit.diagnostics.report.diagnose`) and logs one record to ``metrics.jsonl`` and
TensorBoard (under ``diagnostics/``)::

    {"kind": "diagnostics", "step": 400, "loss": "last", "seq_len": 200,
     "memory_horizon": H, "clip_fraction": C,
     "grad_norm/l0/h/d0": ..., "grad_norm/l0/h/d10": ..., "grad_norm/l0/c/d100": ...,
     "memory_horizon/l0/h": H, "memory_horizon/l0/c": ...,
     "sigma_max/l0/f": ..., "spectral_radius/l0/f": ..., "saturation/l0/f": ..., ...}

(one ``grad_norm`` per layer, state part and distance in ``distances`` below the sequence
length; one ``sigma_max`` / ``spectral_radius`` per layer and gate block; one ``saturation``
per layer and gate: the share saturated, see :mod:`rnnkit.diagnostics.saturation`).

``clip_fraction`` is the share of all steps so far whose gradient was clipped. Training is not
disturbed: the copy is what runs (the model's mode and parameters' ``.grad`` stay as they
are), and it runs under ``torch.random.fork_rng``, so the training run's random stream is the
same with or without the callback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.report import DISTANCES, Diagnosis, check_loss, diagnose
from rnnkit.options import check_int


def detached_copy(model: nn.Module, dtype: torch.dtype | None = torch.float64) -> nn.Module:
    """A copy of ``model`` without gradients, in ``dtype`` (None: the model's own); the
    original is untouched."""
    duplicate = copy.deepcopy(model)
    for parameter in duplicate.parameters():
        parameter.grad = None
    return duplicate if dtype is None else duplicate.to(dtype)


class GradientDiagnostics:
    """Diagnose ``compute_loss`` (a fixed batch, see :func:`~rnnkit.diagnostics.report.diagnose`)
    every ``every`` optimizer steps; see the module docstring for the record.

    ``compute_loss`` receives the copy, in ``dtype`` (float64 unless given; None keeps the
    model's own), so floating-point inputs it feeds the model must be of that dtype.
    """

    def __init__(
        self,
        every: int,
        compute_loss: Callable[[nn.Module], Tensor],
        *,
        loss: str = "last",
        distances: Sequence[int] = DISTANCES,
        layer_name: str | None = None,
        dtype: torch.dtype | None = torch.float64,
    ):
        self.every = check_int("every", every)
        self.compute_loss = compute_loss
        self.loss = check_loss(loss)
        self.distances = tuple(distances)
        self.layer_name = layer_name
        self.dtype = dtype
        self.last: Diagnosis | None = None

    def __call__(self, trainer) -> None:
        step = trainer.state.step
        if step % self.every:
            return
        with torch.random.fork_rng(devices=[]):
            self.last = diagnose(
                detached_copy(trainer.model, self.dtype),
                self.compute_loss,
                loss=self.loss,
                layer_name=self.layer_name,
            )
        clip_fraction = trainer.state.clip_count / step if step else 0.0
        record = {"kind": "diagnostics", "step": step, **self.last.record(self.distances)}
        record["clip_fraction"] = clip_fraction
        trainer.metrics.log(record)
