"""All the diagnostics of one model on one batch, and the two ways of getting a batch.

    diagnosis = diagnose(model, compute_loss, loss="last")   # any model with an rnnkit layer
    diagnosis = diagnose_layer(build_recurrent("lstm", 128, 128), seq_len=200)   # fresh
    diagnosis.summary()      # JSON: grad_norms, memory_horizon, sigma_max, ... per layer

``compute_loss(model) -> scalar`` runs the model once on a fixed batch; the loss must be summed
over the batch (see :mod:`rnnkit.diagnostics.gradient_flow`). The model runs in eval mode (no
dropout) and goes back to the mode it was in; parameters' ``.grad`` are not touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.gradient_flow import HORIZON_THRESHOLD, GradientFlow, gradient_flow
from rnnkit.diagnostics.recording import record_steps
from rnnkit.diagnostics.saturation import saturation
from rnnkit.diagnostics.spectrum import recurrent_spectrum
from rnnkit.options import check_int
from rnnkit.training.threads import one_thread

LOSSES = ("last", "sum")
DISTANCES = (0, 1, 10, 50, 100, 200)  # distances back at which the callback logs the norm


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; allowed: last (the last step's), sum (all steps)")
    return loss


@dataclass
class Diagnosis:
    """Gradient flow, ``W_hh`` spectrum and gate saturation of one model on one batch.

    ``spectrum[layer][block]`` and ``saturation[layer][gate]`` are dicts of plain numbers
    (see :mod:`~rnnkit.diagnostics.spectrum` and :mod:`~rnnkit.diagnostics.saturation`);
    ``flow.norms[layer][part][d]`` the gradient norm ``d`` steps back from the last step.
    """

    loss: str
    flow: GradientFlow
    spectrum: list[dict[str, dict[str, float]]]
    saturation: list[dict[str, dict[str, float]]]
    threshold: float = HORIZON_THRESHOLD

    @property
    def num_layers(self) -> int:
        return len(self.flow.norms)

    @property
    def seq_len(self) -> int:
        return self.flow.seq_len

    def parts(self, layer: int = 0) -> list[str]:
        """The state parts measured in ``layer``: ``["h"]``, or ``["h", "c"]`` for an LSTM."""
        return list(self.flow.norms[layer])

    def main_part(self, layer: int = 0) -> str:
        """``"h"``, or for a custom cell whose state has no part it emits, the first part."""
        parts = self.parts(layer)
        return "h" if "h" in parts else parts[0]

    def memory_horizon(self, layer: int = 0, part: str | None = None) -> int:
        part = part or self.main_part(layer)
        return self.flow.memory_horizon(layer, part, self.threshold)

    def largest(self, key: str) -> float | None:
        """The largest ``sigma_max`` or ``spectral_radius`` over every layer and gate block;
        NaN when any block's is NaN (``max`` alone would skip a NaN or not, depending on where
        it stands), so a model with one non-finite block is never reported as finite."""
        values = [block[key] for layer in self.spectrum for block in layer.values()]
        if any(math.isnan(value) for value in values):
            return math.nan
        return max(values) if values else None

    def summary(self) -> dict:
        """JSON-ready: the bottom layer's curve and horizon (the gradient that reaches the
        input), the largest sigma_max / spectral radius, and everything per layer."""
        main = self.main_part(0)
        result = {
            "grad_norms": self.flow.curve(0, main),
            "memory_horizon": self.memory_horizon(0, main),
            "sigma_max": self.largest("sigma_max"),
            "spectral_radius": self.largest("spectral_radius"),
        }
        if "c" in self.parts(0):
            result["cell_grad_norms"] = self.flow.curve(0, "c")
            result["cell_memory_horizon"] = self.memory_horizon(0, "c")
        result.update(
            seq_len=self.seq_len,
            loss=self.loss,
            horizon_threshold=self.threshold,
            layers=[self._layer_summary(layer) for layer in range(self.num_layers)],
        )
        return _finite(result)

    def _layer_summary(self, layer: int) -> dict:
        return {
            "grad_norms": dict(self.flow.norms[layer]),
            "memory_horizon": {p: self.memory_horizon(layer, p) for p in self.parts(layer)},
            "spectrum": self.spectrum[layer],
            "saturation": self.saturation[layer],
        }

    def record(self, distances: Sequence[int] = DISTANCES) -> dict:
        """Flat numbers for metrics.jsonl and TensorBoard: ``memory_horizon`` (bottom layer),
        and per layer ``l0`` ...: ``grad_norm/l0/h/d10`` (the norm 10 steps back),
        ``memory_horizon/l0/h``, ``sigma_max/l0/i``, ``spectral_radius/l0/i``,
        ``saturation/l0/f``."""
        record = {"loss": self.loss, "seq_len": self.seq_len}
        record["memory_horizon"] = self.memory_horizon(0)
        for layer in range(self.num_layers):
            tag = f"l{layer}"
            for part, curve in self.flow.norms[layer].items():
                for d in distances:
                    if d < len(curve):
                        record[f"grad_norm/{tag}/{part}/d{d}"] = curve[d]
                record[f"memory_horizon/{tag}/{part}"] = self.memory_horizon(layer, part)
            for block, values in self.spectrum[layer].items():
                record[f"sigma_max/{tag}/{block}"] = values["sigma_max"]
                record[f"spectral_radius/{tag}/{block}"] = values["spectral_radius"]
            for gate, values in self.saturation[layer].items():
                record[f"saturation/{tag}/{gate}"] = values["saturated"]
        return _finite(record)


def diagnose(
    model: nn.Module,
    compute_loss: Callable[[nn.Module], Tensor],
    *,
    loss: str = "last",
    layer_name: str | None = None,
    threshold: float = HORIZON_THRESHOLD,
) -> Diagnosis:
    """Run ``compute_loss(model)`` once with the recurrent layer recording, then measure.

    ``loss`` only names what ``compute_loss`` computes (``"last"`` or ``"sum"``).
    ``layer_name`` picks the layer when the model holds several. Runs on one thread
    (:func:`one_thread`).
    """
    check_loss(loss)
    was_training = model.training
    model.eval()
    try:
        with one_thread(), torch.enable_grad():
            with record_steps(model, layer_name) as recording:
                value = compute_loss(model)
            flow = gradient_flow(value, recording)
            sat = saturation(recording)
            spectrum = recurrent_spectrum(recording.cells)  # LAPACK: slow on spinning threads
    finally:
        model.train(was_training)
    return Diagnosis(loss, flow, spectrum, sat, threshold)


def readout_loss(inputs: Tensor, direction: Tensor, loss: str = "last"):
    """``compute_loss`` for a bare recurrent layer: the top layer's ``h_t`` dotted with a fixed
    unit vector ``u``, at the last step (``L = sum_n u . h_T[n]``) or summed over every step
    (``L = sum_n sum_t u . h_t[n]``)."""
    check_loss(loss)

    def compute(layer: nn.Module) -> Tensor:
        output = layer(inputs)[0]
        output = output if layer.batch_first else output.transpose(0, 1)  # (N, T, H)
        projected = output @ direction  # (N, T)
        return projected[:, -1].sum() if loss == "last" else projected.sum()

    return compute


def diagnose_layer(
    layer: nn.Module,
    *,
    seq_len: int = 200,
    batch_size: int = 16,
    loss: str = "last",
    seed: int = 0,
    threshold: float = HORIZON_THRESHOLD,
) -> Diagnosis:
    """Diagnose a bare recurrent layer (e.g. a fresh one) on random input.

    Inputs ``x_t ~ N(0, 1)`` (N, T, D), the loss :func:`readout_loss` with ``u`` a random unit
    vector; both drawn from a generator seeded with ``seed`` (the global one is not touched),
    in the layer's dtype.
    """
    check_int("seq_len", seq_len, minimum=2)
    check_int("batch_size", batch_size)
    dtype = next(layer.parameters()).dtype
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, seq_len) if layer.batch_first else (seq_len, batch_size)
    inputs = torch.randn(*shape, layer.input_size, generator=generator, dtype=dtype)
    direction = torch.randn(layer.hidden_size, generator=generator, dtype=dtype)
    direction = direction / direction.norm()
    return diagnose(layer, readout_loss(inputs, direction, loss), loss=loss, threshold=threshold)


def _finite(value):
    """JSON has no inf or NaN: those become None (null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
