"""Make the learning problem visible: gradient flow through time, ``W_hh`` spectra, gate
saturation and memory horizons, for any model with an rnnkit recurrent layer and any cell.

    from rnnkit.diagnostics import diagnose, diagnose_layer, diagnose_cells
    diagnosis = diagnose_layer(layer, seq_len=200)            # a bare layer on random input
    diagnosis = diagnose(model, compute_loss, loss="last")    # any model, your batch and loss
    diagnosis.flow.curve(layer=0, part="h")                   # ||dL/dh_{T-d}|| for d = 0, 1, ...
    diagnosis.memory_horizon()                                 # last d with norm >= 1e-3 norm_0
    diagnosis.spectrum, diagnosis.saturation, diagnosis.summary()

    Trainer(..., callbacks=[GradientDiagnostics(every=200, compute_loss=...)])

Modules: ``recording`` (per-step states of a real forward pass), ``gradient_flow``,
``spectrum``, ``saturation``, ``report`` (all of them on one batch), ``fresh`` (freshly
initialised cores), ``language_model`` (a batch of text and its cross-entropy), ``callback``
and ``gradients`` (what ``rnnkit diagnose gradients`` calls; the plot is
``rnnkit.plots.gradient_flow``). See
docs/diagnostics.md for the mathematics and measured figures.
"""

from rnnkit.diagnostics.callback import GradientDiagnostics
from rnnkit.diagnostics.fresh import diagnose_cells
from rnnkit.diagnostics.gradient_flow import GradientFlow, gradient_flow, memory_horizon
from rnnkit.diagnostics.recording import Recording, record_steps
from rnnkit.diagnostics.report import Diagnosis, diagnose, diagnose_layer
from rnnkit.diagnostics.saturation import saturation
from rnnkit.diagnostics.spectrum import cell_spectrum, recurrent_spectrum

__all__ = [
    "Diagnosis",
    "GradientDiagnostics",
    "GradientFlow",
    "Recording",
    "cell_spectrum",
    "diagnose",
    "diagnose_cells",
    "diagnose_layer",
    "gradient_flow",
    "memory_horizon",
    "record_steps",
    "recurrent_spectrum",
    "saturation",
]
