r"""The spectrum of each recurrent weight matrix ``W_hh``: largest singular value and spectral
radius, per layer and per gate block.

Why these two numbers (the lectures' argument, Pascanu et al. 2013): backpropagation through a
vanilla RNN multiplies by ``W_hh^T diag(tanh')`` once per step, and ``|tanh'| <= 1``, so

    ||dL/dh_k|| <= (sigma_max(W_hh))^(T-k) ||dL/dh_T||

``sigma_max < 1`` is *sufficient* for the gradient to vanish; ``sigma_max > 1`` is *necessary*
for it to explode. The spectral radius ``rho = max |eigenvalue|`` governs the long-run growth
of the plain product ``W_hh^t`` (``||W^t||^(1/t) -> rho``); ``rho <= sigma_max`` always.

A gated cell stacks one ``(H, H)`` block per gate (LSTM ``i|f|g|o``, GRU ``r|z|n``); each block
is reported separately, since only the stack as a whole is not square.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.saturation import measured_cell


def block_spectrum(weight: Tensor) -> dict[str, float]:
    """``{"sigma_max": ..., "spectral_radius": ...}`` of a square matrix, in float64.

    A matrix with an inf or NaN (a diverged run's checkpoint) is reported, not refused: LAPACK
    cannot decompose it, yet the diagnosis of such a model is exactly what its user wants.
    Its ``sigma_max`` is inf when it holds an inf and no NaN (``sigma_max >= max |w_ij|``),
    NaN when one is NaN; its spectral radius is NaN (the eigenvalues are not defined).
    """
    if weight.dim() != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {tuple(weight.shape)}")
    matrix = weight.detach().to(torch.float64)
    if not bool(torch.isfinite(matrix).all()):
        has_nan = bool(torch.isnan(matrix).any())
        return {"sigma_max": math.nan if has_nan else math.inf, "spectral_radius": math.nan}
    return {
        "sigma_max": float(torch.linalg.svdvals(matrix)[0]),
        "spectral_radius": float(torch.linalg.eigvals(matrix).abs().max()),
    }


def cell_spectrum(cell: nn.Module) -> dict[str, dict[str, float]]:
    """Each gate block of the cell's ``weight_hh``: ``{gate: {"sigma_max", "spectral_radius"}}``.

    A cell is measured if it has a ``weight_hh`` of shape ``(G*H, H)``; its blocks are named
    by its ``gate_names`` (every cell of rnnkit.nn has them: ``i, f, g, o`` for the LSTMs,
    ``r, z, n`` for the GRUs, ``z, r, n`` for MUT1-3; torch.nn's cells are read as rnnkit's),
    else ``"0"``, ``"1"`` ...; a cell without ``weight_hh`` gives ``{}``, a zoneout wrapper
    its cell's.
    """
    cell = measured_cell(cell)
    weight = getattr(cell, "weight_hh", None)
    if not isinstance(weight, Tensor) or weight.dim() != 2:
        return {}
    rows, hidden = weight.shape
    if rows % hidden:
        return {}
    names = getattr(cell, "gate_names", None)
    if names is None or len(names) != rows // hidden:
        names = tuple(str(k) for k in range(rows // hidden))
    blocks = weight.chunk(len(names), dim=0)  # G x (H, H)
    return {name: block_spectrum(block) for name, block in zip(names, blocks, strict=True)}


def recurrent_spectrum(cells: list[nn.Module]) -> list[dict[str, dict[str, float]]]:
    """:func:`cell_spectrum` of every layer's cell, bottom first."""
    return [cell_spectrum(cell) for cell in cells]
