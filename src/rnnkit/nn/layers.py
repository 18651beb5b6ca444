"""Recurrent layers: the torch.nn-compatible RNN, LSTM and GRU, and one layer for any cell.

Shape letters: T time, N batch, D input features, H hidden units, L layers,
``num_directions`` 2 when bidirectional else 1.

Two paths, one set of parameters (:mod:`rnnkit.nn.layer_base` holds what the layers share):

* the **fused path** hands the whole stack to the kernels torch.nn uses (oneDNN on the CPU,
  cuDNN on the GPU). It is taken whenever the cells are standard ones and nothing the kernels
  lack is asked for;
* the **loop path** (:mod:`rnnkit.nn.recurrence`) runs the cells of :mod:`rnnkit.nn.cells`
  step by step, readable and open to any cell. It runs on the same parameter tensors.

``impl`` chooses: ``"auto"`` (the fused path where it can, else a cell's whole-sequence
route where that is measured faster than its loop: :mod:`rnnkit.nn.routes`), ``"fused"`` (an
error where it cannot), ``"route"`` (every cell that has a route takes it) or ``"loop"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from rnnkit.nn import cells as standard_cells
from rnnkit.nn.fused import flatten_weights, fused_mode, fused_stack, is_flat
from rnnkit.nn.layer_base import (
    StandardLayer,
    check_impl,
    check_layer_options,
    regularised_repr,
    run_loop,
    standard_init,
)
from rnnkit.nn.recurrence import StepStates
from rnnkit.nn.regularise import regularised_cells
from rnnkit.nn.sequences import finish_output, prepare_input
from rnnkit.nn.states import map_state, split_state, stack_states, zero_states
from rnnkit.options import check_int


class RNN(StandardLayer, nn.RNN):
    r"""Elman RNN, a stack of :class:`rnnkit.nn.RNNCell`:
    ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``, act = tanh or relu.

    Same signature, parameters and call as ``torch.nn.RNN``, plus ``lengths=``,
    ``return_states=`` and ``impl=``.
    """

    cell_class = standard_cells.RNNCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        impl: str = "auto",
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        kwargs = dict(
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            device=device,
            dtype=dtype,
        )
        standard_init(nn.RNN, self, input_size, hidden_size, num_layers, dropout, impl, kwargs)

    def _cell_options(self) -> dict:
        return {"nonlinearity": self.nonlinearity}


class LSTM(StandardLayer, nn.LSTM):
    r"""LSTM, a stack of :class:`rnnkit.nn.LSTMCell` (gates ``i|f|g|o``;
    ``c_t = f*c_{t-1} + i*g``, ``h_t = o*tanh(c_t)``).

    Same signature, parameters and call as ``torch.nn.LSTM`` (``proj_size`` included, on the
    fused path only), plus ``lengths=``, ``return_states=`` and ``impl=``.
    """

    cell_class = standard_cells.LSTMCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        impl: str = "auto",
    ) -> None:
        kwargs = dict(
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            proj_size=proj_size,
            device=device,
            dtype=dtype,
        )
        standard_init(nn.LSTM, self, input_size, hidden_size, num_layers, dropout, impl, kwargs)

    def _loop_reasons(self, return_states: bool) -> list[str]:
        reasons = super()._loop_reasons(return_states)
        if self.impl == "loop" and self.proj_size:
            self.cells()  # raises: the loop has no projection
        return reasons


class GRU(StandardLayer, nn.GRU):
    r"""GRU, a stack of :class:`rnnkit.nn.GRUCell` (gates ``r|z|n``).

    Same signature, parameters and call as ``torch.nn.GRU``, plus ``lengths=``,
    ``return_states=``, ``impl=`` and ``reset_after``: True (default) is torch's form, False
    the form of Cho et al. 2014 and the lectures, which has the same parameters but no fused
    kernel: it runs its cells, on MUT2's whole-sequence route (see :class:`rnnkit.nn.GRUCell`).
    """

    cell_class = standard_cells.GRUCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        impl: str = "auto",
        reset_after: bool = True,
    ) -> None:
        self_kwargs = dict(
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            device=device,
            dtype=dtype,
        )
        standard_init(nn.GRU, self, input_size, hidden_size, num_layers, dropout, impl, self_kwargs)
        self.reset_after = bool(reset_after)

    def _cell_options(self) -> dict:
        return {"reset_after": self.reset_after}

    def _loop_reasons(self, return_states: bool) -> list[str]:
        reasons = super()._loop_reasons(return_states)
        if not self.reset_after:
            reasons.append("reset_after=False")
        return reasons

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.reset_after else f"{text}, reset_after=False"


# -- the generic layer -------------------------------------------------------------------------

CellSpec = nn.Module | Sequence[nn.Module] | Callable[[int, int], nn.Module]


class Recurrent(nn.Module):
    """Runs ANY cell over time, with the features of the standard layers: stacked layers,
    bidirectional, dropout between layers, padded input with ``lengths=`` or a
    PackedSequence, an initial state, and every step's state on request.

    A cell is a module with ``hidden_size`` (the size of what it emits) that maps
    ``cell(x_t, state) -> new_state``; it may define ``initial_state(N, dtype=, device=)``
    (default: zeros (N, H)) and ``output(state)`` (default: the state, or its first element).
    rnnkit's cells and torch.nn's ``RNNCell``/``LSTMCell``/``GRUCell`` all qualify.

    Args:
        cell: a cell class or factory called as ``cell(input_size, hidden_size)`` for every
            layer and direction; or one cell instance (one layer, one direction); or a list of
            ``num_layers * num_directions`` cells in torch's order (layer-major, forward first).
        input_size, hidden_size: needed when ``cell`` is a class or factory.
        impl: ``"auto"`` runs a stack of standard cells (rnnkit's or torch.nn's, not
            subclasses) on the fused kernels, rnnkit's LSTM, GRU and MUT cells that cannot
            (peephole, lnlstm, lngru, mut1-3, zoneout, recurrent dropout) on their
            whole-sequence route with a hand-derived backward pass (:mod:`rnnkit.nn.routes`),
            everything else on the loop;
            ``"loop"`` runs every cell step by step (the readable reference).
    """

    zoneout: float = 0.0  # rnnkit.nn.regularise.regularise: the loop runs the cells with them
    recurrent_dropout: float = 0.0

    def __init__(
        self,
        cell: CellSpec,
        input_size: int | None = None,
        hidden_size: int | None = None,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        check_layer_options(num_layers, dropout)
        self.num_layers = num_layers
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.impl = check_impl(impl)
        self.cells = nn.ModuleList(self._build_cells(cell, input_size, hidden_size))
        self.input_size = getattr(self.cells[0], "input_size", input_size)
        self._check_chain()
        if self.impl == "fused" and fused_mode(self.cells) is None:
            raise ValueError(
                "Recurrent: impl='fused' needs standard cells (rnnkit or torch.nn RNNCell, "
                "LSTMCell, GRUCell with reset_after=True), all of one kind and size"
            )

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def hidden_size(self) -> int:
        return self.cells[-1].hidden_size

    def _build_cells(self, cell, input_size, hidden_size) -> list[nn.Module]:
        count = self.num_layers * self.num_directions
        if isinstance(cell, nn.Module):
            if count != 1:
                raise ValueError(
                    f"Recurrent: one cell instance can run one layer in one direction, but "
                    f"num_layers * num_directions = {count}; pass a cell class or factory, or a "
                    f"list of {count} cells"
                )
            return [cell]
        if isinstance(cell, str) or not (isinstance(cell, Sequence) or callable(cell)):
            got = f"the string {cell!r}" if isinstance(cell, str) else type(cell).__name__
            hint = ""
            if isinstance(cell, str):  # a name in rnnkit.models' registry of cores, perhaps
                hint = (
                    f"; for a core by its name pass functools.partial("
                    f"rnnkit.models.recurrent.build_cell, {cell!r})"
                )
            raise ValueError(
                "Recurrent: cell must be a cell class or factory (called as cell(input_size, "
                f"hidden_size)), a cell instance or a list of cells, got {got}{hint}"
            )
        if isinstance(cell, Sequence):
            cells = list(cell)
            strays = [type(c).__name__ for c in cells if not isinstance(c, nn.Module)]
            if strays:
                raise ValueError(
                    f"Recurrent: a list of cells must hold cell modules, got {strays[0]}"
                )
            if len(cells) != count:
                raise ValueError(
                    f"Recurrent: a list of cells needs {count} modules (num_layers * "
                    f"num_directions), got {len(cells)}"
                )
            return cells
        if input_size is None or hidden_size is None:
            raise ValueError(
                "Recurrent: building cells from a factory needs input_size and hidden_size"
            )
        check_int("input_size", input_size)
        check_int("hidden_size", hidden_size)
        sizes = [input_size] + [hidden_size * self.num_directions] * (self.num_layers - 1)
        return [cell(size, hidden_size) for size in sizes for _ in range(self.num_directions)]

    def _check_chain(self) -> None:
        """Each layer's cells must take what the layer below emits."""
        for k, cell in enumerate(self.cells):
            if not isinstance(getattr(cell, "hidden_size", None), int):
                raise ValueError(
                    f"Recurrent: cell {k} ({type(cell).__name__}) has no integer hidden_size; "
                    "a cell must say how many features it emits"
                )
        directions = self.num_directions
        for layer in range(1, self.num_layers):
            below = self.cells[(layer - 1) * directions : layer * directions]
            emitted = sum(c.hidden_size for c in below)
            for cell in self.cells[layer * directions : (layer + 1) * directions]:
                takes = getattr(cell, "input_size", emitted)
                if takes != emitted:
                    raise ValueError(
                        f"Recurrent: layer {layer} cells take input_size={takes}, but the layer "
                        f"below emits {emitted} features"
                    )

    def extra_repr(self) -> str:
        text = f"num_layers={self.num_layers}, bidirectional={self.bidirectional}"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        text = regularised_repr(self, text)
        return text if self.impl == "auto" else f"{text}, impl={self.impl!r}"

    def forward(self, input, state=None, *, lengths=None, return_states: bool = False):
        """Same call as the standard layers: ``(input, state=None) -> (output, final_state)``.

        The final state is in torch's stacked layout (L * num_directions, N, H) (a tuple for
        pair states) when every cell's state has the same shapes, else a list of cell states.
        """
        looped = self.impl == "loop" or return_states or self.zoneout or self.recurrent_dropout
        mode = None if looped else fused_mode(self.cells)
        if self.impl == "fused" and looped:
            raise ValueError(
                "Recurrent: impl='fused' cannot return per-step states nor run zoneout or "
                "recurrent dropout"
            )
        if mode is None:
            cells = regularised_cells(self, list(self.cells))
            try:
                return run_loop(self, cells, input, state, lengths, return_states)
            finally:  # the recurrent dropout masks were for these sequences only
                for cell in cells:
                    end = getattr(cell, "end_sequence", None)
                    if end is not None:
                        end()
        return self._forward_fused(mode, input, state, lengths)

    def _apply(self, fn, recurse=True):
        """After a move (``.to``, ``.cuda``, ``.half``), lay a stack of standard cells' weights
        out for cuDNN again, as torch.nn.LSTM does (``flatten_weights``)."""
        result = super()._apply(fn, recurse)
        self.flatten_parameters()
        return result

    def flatten_parameters(self) -> bool:
        """On cuDNN, a stack of standard cells gets its weights in one contiguous buffer,
        shared with the cells' parameters (no copy at each call); elsewhere nothing to do.
        Returns whether the weights are now laid out that way."""
        mode = fused_mode(self.cells)
        if mode is None or self.impl == "loop":
            return False
        return flatten_weights(mode, self.cells, bidirectional=self.bidirectional)

    def _forward_fused(self, mode: str, input, state, lengths):
        batch = prepare_input(
            "Recurrent", input, self.input_size, self.batch_first, lengths, self.parameters()
        )
        if batch.x.is_cuda and not is_flat(self.cells):  # built on the GPU, or a weight replaced
            self.flatten_parameters()
        states = split_state("Recurrent", state, zero_states(self.cells, batch), batch)
        hx = stack_states(states, unbatched=False)
        output, final = fused_stack(
            mode,
            batch,
            hx,
            self.cells,
            num_layers=self.num_layers,
            dropout=self.dropout,
            training=self.training,
            bidirectional=self.bidirectional,
        )
        if batch.unbatched:
            final = map_state(final, lambda t: t.squeeze(1))
        return finish_output(output, batch), final


__all__ = ["GRU", "LSTM", "RNN", "Recurrent", "StepStates", "fused_mode"]


def layer_cells(layer: nn.Module) -> list[nn.Module]:
    """A layer's cells in torch's order (layer-major, forward first), as it runs them (with
    its zoneout and recurrent dropout): a ``Recurrent``'s own, or those a standard layer
    builds on its parameter tensors (``cells()``)."""
    cells = layer.cells
    return regularised_cells(layer, list(cells)) if isinstance(cells, nn.ModuleList) else cells()
