"""Which whole-sequence route runs a cell, the fast path of the readable loop
(:func:`rnnkit.nn.recurrence.run_cell` takes it under ``impl="auto"``): the LSTM cells of
:mod:`rnnkit.nn.lstm_bptt`, the MUT cells and the lectures' GRU (``reset_after=False``) of
:mod:`rnnkit.nn.mut_bptt` and the GRU cells of :mod:`rnnkit.nn.gru_bptt`, each bare or in a
:class:`rnnkit.nn.Zoneout`. Exactly those classes: a subclass may step differently, and the
loop runs it."""

from __future__ import annotations

from functools import partial

from rnnkit.nn.cells import GRUCell
from rnnkit.nn.gru_bptt import gru_kind, run_gru_sequence
from rnnkit.nn.lstm_bptt import KINDS as LSTM_KINDS
from rnnkit.nn.lstm_bptt import NATIVE_DTYPES, run_lstm_sequence
from rnnkit.nn.mut_bptt import KINDS as MUT_KINDS
from rnnkit.nn.mut_bptt import run_lectures_gru_sequence, run_mut_sequence
from rnnkit.nn.native import ops
from rnnkit.nn.regularise import Zoneout

# Cells whose readable loop trained faster than their route's Python loops on the 2-core AVX2
# EPYC this was built on (`rnnkit bench layers --cells lnlstm,lngru`, T,N = 100,32 and
# 512,32: lnlstm's route 2.4x / 2.8x torch.nn.LSTM against the loop's 1.8x / 1.8x; lngru's
# 1.9x against 1.4x at 512,32): under impl="auto" they take the loop, under impl="route" the
# route. The routes' compiled loops (rnnkit.nn.native) are faster than both, so both take the
# route wherever those run (float32 or float64 on the CPU).
LOOP_FASTER = {"lnlstm", "lngru"}


def default_route(cell):
    """:func:`sequence_route` for the cells whose route is measured faster than their loop
    (not :data:`LOOP_FASTER`): what ``impl="auto"`` takes."""
    bare = cell.cell if type(cell) is Zoneout else cell
    kind = LSTM_KINDS.get(type(bare)) or MUT_KINDS.get(type(bare)) or gru_kind(bare)
    if kind in LOOP_FASTER and not _compiled(bare):
        return None
    return sequence_route(cell)


def _compiled(cell) -> bool:
    """Whether the routes' compiled loops will run this cell's sequences."""
    weight = cell.weight_hh
    return weight.device.type == "cpu" and weight.dtype in NATIVE_DTYPES and ops() is not None


def sequence_route(cell):
    """``run(xp, state, keep, reverse)`` for a cell that has a whole-sequence route, else
    None."""
    zone = None
    if type(cell) is Zoneout:
        zone = (cell.hidden, cell.cell_state, cell.training)
        cell = cell.cell
    if type(cell) in LSTM_KINDS:
        return partial(run_lstm_sequence, cell, zone=zone)
    if type(cell) in MUT_KINDS:
        return partial(run_mut_sequence, cell, zone=zone)
    if gru_kind(cell) is not None:
        return partial(run_gru_sequence, cell, zone=zone)
    if type(cell) is GRUCell and not cell.reset_after:  # the lectures' form: MUT2's route
        return partial(run_lectures_gru_sequence, cell, zone=zone)
    return None
