"""Regularisers of the recurrence itself: zoneout and variational recurrent dropout.

    cell = Zoneout(LSTMCell(64, 256), hidden=0.05, cell_state=0.5)  # Krueger et al.'s char LM
    cell = recurrent_dropout(GRUCell(64, 256), 0.25)                  # Gal and Ghahramani
    layer = Recurrent(lambda i, h: Zoneout(LSTMCell(i, h), 0.1), 64, 256, num_layers=2)

Recurrent dropout is off in evaluation mode (``model.eval()``), zoneout there uses its
expectation (as the paper); both are off at rate 0. Neither has a fused kernel: a layer with
them runs its cells, rnnkit's LSTM, GRU and MUT cells on their whole-sequence routes
(:mod:`rnnkit.nn.routes`), the others on the readable loop. ``regularise(layer, zoneout=,
recurrent_dropout=)`` puts both on every cell of a layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.nn.parallel_cells import ParallelCell
from rnnkit.nn.recurrence import State, cell_output, initial_state, zip_state

# the cells whose recurrent matmuls read h_(t-1) through their ``dropped`` hook
DROPPABLE = (
    "rnnkit.nn's RNNCell, LSTMCell, GRUCell, their peephole and layer-norm variants and "
    "MUT1-3 cells"
)


def _check_rate(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)


def recurrent_dropout(cell: nn.Module, p: float) -> nn.Module:
    """Variational recurrent dropout (Gal and Ghahramani 2016) on a cell of rnnkit: every
    recurrent matmul reads ``h_{t-1} * m / (1 - p)`` with one Bernoulli(1 - p) mask ``m`` per
    sequence, drawn by the layer before its time loop (the same units are dropped at every
    step, which is what makes it variational). The state carried (e.g. GRU's ``z * h_{t-1}``,
    LSTM's ``c``) is not masked. A :class:`Zoneout` passes it to the cell inside. Returns
    the cell."""
    target = _droppable(cell)
    if target is None:
        raise ValueError(_refusal(cell))
    target.recurrent_dropout = _check_rate("recurrent dropout", p)
    return cell


def _droppable(cell: nn.Module) -> nn.Module | None:
    """The cell whose recurrent matmuls take the dropout: ``cell``, or the one inside a
    :class:`Zoneout`; None for a cell without a recurrent matmul (or not of rnnkit.nn)."""
    if isinstance(cell, Zoneout):
        cell = cell.cell
    return cell if hasattr(cell, "dropped") else None


def _refusal(cell: nn.Module) -> str:
    """Why ``cell`` takes no recurrent dropout, and which cells do."""
    bare = cell.cell if isinstance(cell, Zoneout) else cell
    name = type(bare).__name__
    if isinstance(bare, ParallelCell):
        why = f"{name} has no recurrent matmul (its gates read x_t only, never h_(t-1))"
        return f"recurrent dropout takes {DROPPABLE}; {why}: use zoneout"
    return f"recurrent dropout takes {DROPPABLE}, got {type(bare).__module__}.{name}"


class Zoneout(nn.Module):
    r"""Zoneout (Krueger et al. 2016) around any cell: in training, each unit of the new state
    keeps its previous value with probability p, a fresh draw at every step and unit,

    .. math::
        s_t = d_t \odot s_{t-1} + (1 - d_t) \odot \tilde s_t, \quad d_t \sim
        \mathrm{Bernoulli}(p)

    where ``\tilde s_t`` is the cell's own update. In evaluation the mask is replaced by its
    expectation, ``s_t = p s_{t-1} + (1 - p) \tilde s_t``, as in the paper (so zoneout at
    p > 0 is not the bare cell at evaluation, unlike dropout). An LSTM's ``(h, c)`` take
    ``hidden`` and ``cell_state`` (default: ``hidden``); a one-tensor state takes ``hidden``.
    Gradients flow through both branches, so a zoned-out unit passes its gradient unchanged
    to the previous step, the identity connection the paper is after.
    """

    def __init__(self, cell: nn.Module, hidden: float, cell_state: float | None = None):
        super().__init__()
        self.cell = cell
        self.hidden = _check_rate("zoneout", hidden)
        self.cell_state = self.hidden if cell_state is None else _check_rate("zoneout", cell_state)
        self.hidden_size = cell.hidden_size
        self.input_size = getattr(cell, "input_size", None)
        self._split = hasattr(cell, "project_input") and hasattr(cell, "step")

    def extra_repr(self) -> str:
        return f"hidden={self.hidden}, cell_state={self.cell_state}"

    def initial_state(self, batch_size: int, *, dtype=None, device=None) -> State:
        like = torch.empty(0, dtype=dtype, device=device)
        return initial_state(self.cell, batch_size, like)

    def output(self, state: State) -> Tensor:
        return cell_output(self.cell)(state)

    def begin_sequence(self, batch_size: int, like: Tensor) -> None:
        begin = getattr(self.cell, "begin_sequence", None)
        if begin is not None:
            begin(batch_size, like)

    def end_sequence(self) -> None:
        end = getattr(self.cell, "end_sequence", None)
        if end is not None:
            end()

    def project_input(self, x: Tensor) -> Tensor:
        return self.cell.project_input(x) if self._split else x

    def step(self, xp: Tensor, state: State) -> State:
        new = self.cell.step(xp, state) if self._split else self.cell(xp, state)
        return zone(state, new, self.hidden, self.cell_state, self.training)

    def forward(self, input: Tensor, state: State | None = None) -> State:
        """One step on what the cell itself takes, (N, D) or unbatched (D,), checked and
        refused as the cell does, then zoneout between ``state`` and the cell's new state."""
        new = self.cell(input, state)
        if state is None:
            h = cell_output(self.cell)(new)  # (N, H), or (H,) for an unbatched input
            state = initial_state(self.cell, h.shape[0] if h.dim() == 2 else 1, input)
        # in the form the cell returned (unbatched: (H,); a cell may take a (1, H) state then)
        state = zip_state(lambda old, fresh: old.reshape(fresh.shape), state, new)
        return zone(state, new, self.hidden, self.cell_state, self.training)


def zone(old: State, new: State, hidden: float, cell_state: float, training: bool) -> State:
    """Zoneout's update of a state (see :class:`Zoneout`): ``h`` (or a one-tensor state) at
    rate ``hidden``, the rest of a tuple state (an LSTM's ``c``) at ``cell_state``."""
    if isinstance(old, Tensor):
        return _zone(old, new, hidden, training)
    rates = iter((hidden, *[cell_state] * (len(old) - 1)))
    return zip_state(lambda o, n: _zone(o, n, next(rates), training), old, new)


def _zone(old: Tensor, fresh: Tensor, p: float, training: bool) -> Tensor:
    if p == 0:
        return fresh
    if not training:
        return p * old + (1 - p) * fresh
    keep = torch.bernoulli(torch.full_like(fresh, p))  # 1: the unit keeps its old value
    return keep * old + (1 - keep) * fresh


def regularise(
    layer: nn.Module, zoneout: float | None = None, recurrent_dropout: float | None = None
):
    """Zoneout and recurrent dropout on every cell of a layer of :mod:`rnnkit.nn` (a standard
    layer or a ``Recurrent``), at the given rates; a rate left out (None) leaves that one as
    the layer has it, 0 turns it off (a layer with neither stays on its fused path). They are
    the layer's attributes ``zoneout`` and ``recurrent_dropout``, applied to the cells the
    layer runs (:func:`regularised_cells`), so the parameters and their names do not change.
    Returns the layer."""
    if zoneout is not None:
        zoneout = _check_rate("zoneout", zoneout)
    rate = recurrent_dropout
    if rate is not None:
        rate = _check_rate("recurrent dropout", rate)
        cells = layer.cells
        if isinstance(cells, nn.ModuleList):  # a Recurrent's own cells keep the rate
            refused = [cell for cell in cells if _droppable(cell) is None]
            if rate and refused:
                raise ValueError(_refusal(refused[0]))
            for cell in cells:
                if cell not in refused:
                    _droppable(cell).recurrent_dropout = rate
        layer.recurrent_dropout = rate
    if zoneout is not None:
        layer.zoneout = zoneout
    return layer


def regularised_cells(layer: nn.Module, cells: list[nn.Module]) -> list[nn.Module]:
    """The cells as ``layer`` runs them: with its recurrent dropout rate and wrapped in
    :class:`Zoneout` at its zoneout rate, in the layer's mode (training or evaluation)."""
    rate, zoneout = getattr(layer, "recurrent_dropout", 0.0), getattr(layer, "zoneout", 0.0)
    if not rate and not zoneout:
        return cells
    for cell in cells:
        target = _droppable(cell)
        if rate and target is not None:
            target.recurrent_dropout = rate
        cell.train(layer.training)
    if not zoneout:
        return cells
    return [Zoneout(cell, zoneout).train(layer.training) for cell in cells]
