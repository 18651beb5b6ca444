"""Diagnose freshly initialised recurrent cores, side by side (``rnnkit diagnose gradients
--cells rnn,irnn,lstm,gru``).

Each core is built by :func:`rnnkit.models.recurrent.build_recurrent` (each name with its
customary initialisation) in float64, from the same seed, and diagnosed on the same random
batch by :func:`rnnkit.diagnostics.report.diagnose_layer`. float64 because a vanilla RNN's
gradient falls below float32's smallest number (about 1e-45) within a few hundred steps, and
the curve should show how far it fell, not where float32 gave up.
"""

from __future__ import annotations

import torch

from rnnkit.diagnostics.report import Diagnosis, check_loss, diagnose_layer
from rnnkit.models.recurrent import build_recurrent, parse_cells
from rnnkit.options import check_int


def fresh_layer(
    name: str,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    seed: int,
    seq_len: int | None = None,
):
    """The core ``name`` as initialised from ``seed`` (``seq_len``: the horizon a ``clstm``
    is initialised for), in float64; the global random generator is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layer = build_recurrent(
            name, input_size, hidden_size, num_layers=num_layers, horizon=seq_len
        )
    return layer.to(torch.float64)


def diagnose_cells(
    cells: str | list[str],
    *,
    seq_len: int = 200,
    hidden_size: int = 128,
    input_size: int | None = None,
    batch_size: int = 16,
    num_layers: int = 1,
    loss: str = "last",
    seed: int = 0,
) -> dict[str, Diagnosis]:
    """``{name: Diagnosis}`` for each fresh core in ``cells`` ("rnn,irnn,lstm,gru" or a list).

    ``input_size`` defaults to ``hidden_size``.
    """
    names = parse_cells(cells) if isinstance(cells, str) else parse_cells(",".join(cells))
    check_int("seq_len", seq_len, minimum=2)
    check_int("hidden_size", hidden_size)
    check_int("batch_size", batch_size)
    check_int("num_layers", num_layers)
    input_size = hidden_size if input_size is None else check_int("input_size", input_size)
    check_loss(loss)
    results = {}
    for name in dict.fromkeys(names):
        layer = fresh_layer(name, input_size, hidden_size, num_layers, seed, seq_len)
        results[name] = diagnose_layer(
            layer, seq_len=seq_len, batch_size=batch_size, loss=loss, seed=seed
        )
    return results
