"""The gradient-flow plot: log10 gradient norm against distance back in time.

One curve per model (and per layer when there are several): solid for ``||dL/dh_k||``, dashed
for an LSTM's cell state ``||dL/dc_k||``. Each curve is divided by its own value at the last
step, so every curve starts at 0 and the dotted line at log10(threshold) = -3 marks the memory
horizon; the unscaled norms are in the JSON.
"""

from __future__ import annotations

import math
from pathlib import Path

from rnnkit.plots.canvas import new_figure, save_png

PART_NAMES = {"c": "cell state c"}


def relative_log10(curve: list[float]) -> list[float]:
    """``log10(norm_d / norm_0)``; NaN where a norm is zero or not finite (not drawn)."""
    reference = curve[0]
    if not (math.isfinite(reference) and reference > 0):
        return [math.nan] * len(curve)
    return [
        math.log10(value / reference) if math.isfinite(value) and value > 0 else math.nan
        for value in curve
    ]


def plot_gradient_flow(
    norms: dict[str, list[dict[str, list[float]]]],
    path: str | Path,
    title: str = "",
    threshold: float | None = None,
) -> Path:
    """Draw ``norms`` (name -> one ``{part: [||dL/d part_{T-d}|| for d = 0, 1, ...]}`` per
    layer, e.g. a ``Diagnosis.flow.norms``) into a PNG at ``path``, with the memory horizon's
    ``threshold`` as a dotted line; returns the path."""

    figure = new_figure(8, 4.5)
    axes = figure.add_subplot()
    for index, (name, layers) in enumerate(norms.items()):
        color = f"C{index % 10}"
        for layer, parts in enumerate(layers):
            for part, norms_back in parts.items():
                curve = relative_log10(norms_back)
                label = name if len(layers) == 1 else f"{name} layer {layer}"
                label = label if part == "h" else f"{label}, {PART_NAMES.get(part, part)}"
                style = "-" if part == "h" else "--"
                alpha = 1.0 if layer == 0 else 0.55
                axes.plot(curve, style, color=color, alpha=alpha, linewidth=1.4, label=label)
    if threshold is not None:
        axes.axhline(math.log10(threshold), color="0.4", linestyle=":", linewidth=1)
    axes.set_xlabel("distance back in time, k steps before the last step")
    axes.set_ylabel("log10 gradient norm k steps back / at the last step")
    axes.set_title(title or "gradient flow through time")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    return save_png(figure, path)
