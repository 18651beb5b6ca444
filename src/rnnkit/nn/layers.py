"""Recurrent layers: the torch.nn-compatible RNN, LSTM and GRU, and one layer for any cell.

Shape letters: T time, N batch, D input features, H hidden units, L layers,
``num_directions`` 2 when bidirectional else 1.

Two paths, one set of parameters:

* the **fused path** hands the whole stack to the kernels torch.nn uses (oneDNN on the CPU,
  cuDNN on the GPU). It is taken whenever the cells are standard ones and nothing the kernels
  lack is asked for;
* the **loop path** (:mod:`rnnkit.nn.recurrence`) runs the cells of :mod:`rnnkit.nn.cells`
  step by step, readable and open to any cell. It runs on the same parameter tensors.

``impl`` chooses: ``"auto"`` (the fused path where it can), ``"fused"`` (an error where it
cannot) or ``"loop"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn
from torch.nn.utils.rnn import pad_packed_sequence

from rnnkit.nn import cells as standard_cells
from rnnkit.nn.fused import fused_mode, fused_stack
from rnnkit.nn.recurrence import StepStates, run_layers
from rnnkit.nn.sequences import Batch, finish_output, loop_lengths, pack_for_fused, prepare_input
from rnnkit.nn.states import map_state, split_state, stack_states, zero_states

IMPLS = ("auto", "fused", "loop")


def _check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}, got {impl!r}")
    return impl


def _check_layer_options(num_layers, dropout) -> None:
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"num_layers must be a positive integer, got {num_layers!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout must be a probability in [0, 1], got {dropout!r}")


def _run_loop(layer, cells, input, state, lengths, return_states):
    """The loop path shared by every layer: checks, loop, output in the input's form."""
    name = type(layer).__name__
    batch = prepare_input(name, input, layer.input_size, layer.batch_first, lengths)
    states = split_state(name, state, zero_states(cells, batch), batch)
    output, finals, steps = run_layers(
        cells,
        batch.x,
        states,
        num_layers=layer.num_layers,
        bidirectional=layer.bidirectional,
        dropout=layer.dropout,
        training=layer.training,
        lengths=loop_lengths(batch),
        keep_steps=return_states,
    )
    result = finish_output(output, batch), stack_states(finals, batch.unbatched)
    return (*result, steps) if return_states else result


# -- the torch.nn-compatible layers ------------------------------------------------------------


class _StandardLayer:
    """What rnnkit adds to torch.nn.RNN/LSTM/GRU: ``lengths=``, per-step states, the readable
    loop on the same parameters, and errors that say what was expected.

    The parameters, their names and the fused path are torch.nn's own (these classes
    subclass it), so a state dict moves between the two unchanged and the fused path is
    exactly as fast as torch.nn, cuDNN weight flattening included.
    """

    cell_class: type[standard_cells.RecurrentCell]

    def forward(
        self,
        input,
        state=None,
        *,
        lengths=None,
        return_states: bool = False,
        hx=None,
    ):
        """Run the layer.

        Args:
            input: (T, N, D), (N, T, D) with ``batch_first``, (T, D) unbatched, or a
                PackedSequence.
            state: the initial state in torch's layout, (L * num_directions, N, H) (a tuple
                (h_0, c_0) for an LSTM), or a list of one state per cell; zeros if None.
                ``hx=`` is accepted as torch.nn's name for it.
            lengths: (N,) true lengths when ``input`` is padded; outputs past a length are
                zero and the final state is the one at each sequence's last real step.
            return_states: also return a :class:`StepStates` with every cell's state at every
                step (runs the loop path).
        Returns:
            ``(output, final_state)``, or ``(output, final_state, step_states)``.
        """
        if hx is not None:
            if state is not None:
                raise ValueError(
                    f"{type(self).__name__}: pass the state as state= or hx=, not both"
                )
            state = hx
        if self._needs_loop(return_states):
            return _run_loop(self, self.cells(), input, state, lengths, return_states)
        return self._forward_fused(input, state, lengths)

    def _loop_reasons(self, return_states: bool) -> list[str]:
        reasons = []
        if return_states:
            reasons.append("return_states=True")
        return reasons

    def _needs_loop(self, return_states: bool) -> bool:
        reasons = self._loop_reasons(return_states)
        if self.impl == "fused" and reasons:
            raise ValueError(
                f"{type(self).__name__}: impl='fused' cannot run with {' and '.join(reasons)}; "
                "use impl='auto' or 'loop'"
            )
        return self.impl == "loop" or bool(reasons)

    def _forward_fused(self, input, state, lengths):
        name = type(self).__name__
        batch = prepare_input(name, input, self.input_size, self.batch_first, lengths)
        if state is not None:
            # Check the shapes here, so that a wrong state is a ValueError that says what was
            # expected; the kernel then takes the state in torch's stacked layout.
            states = split_state(name, state, self._zero_states(batch), batch)
            if isinstance(state, list):
                state = stack_states(states, batch.unbatched)
        if lengths is None:
            return super().forward(input, state)
        output, final = super().forward(pack_for_fused(batch), state)
        output = pad_packed_sequence(
            output, batch_first=self.batch_first, total_length=batch.x.shape[0]
        )[0]
        return output, final

    def _zero_states(self, batch: Batch) -> list:
        """Each cell's zero state: (N, H), or (h, c) with h of proj_size for a projected LSTM."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        h = batch.x.new_zeros(batch.batch_size, getattr(self, "proj_size", 0) or self.hidden_size)
        if isinstance(self, nn.LSTM):
            c = batch.x.new_zeros(batch.batch_size, self.hidden_size)
            return [(h, c)] * count
        return [h] * count

    def cells(self) -> list[standard_cells.RecurrentCell]:
        """One cell per layer and direction, in torch's order, running on this layer's own
        parameter tensors (shared, not copied)."""
        if getattr(self, "proj_size", 0):
            raise ValueError(
                f"{type(self).__name__}: proj_size > 0 runs only on the fused path; the "
                "readable loop (impl='loop', return_states) has no projection"
            )
        suffixes = ("", "_reverse") if self.bidirectional else ("",)
        cells = []
        for layer in range(self.num_layers):
            for suffix in suffixes:
                params = [
                    getattr(self, f"{kind}_l{layer}{suffix}", None)
                    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                ]
                cells.append(self.cell_class.from_parameters(*params, **self._cell_options()))
        return cells

    def _cell_options(self) -> dict:
        return {}

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.impl == "auto" else f"{text}, impl={self.impl!r}"


def _standard_init(layer_cls, self, input_size, hidden_size, num_layers, dropout, impl, kwargs):
    standard_cells._check_size("input_size", input_size)
    standard_cells._check_size("hidden_size", hidden_size)
    _check_layer_options(num_layers, dropout)
    _check_impl(impl)
    layer_cls.__init__(self, input_size, hidden_size, num_layers, **kwargs)
    self.impl = impl


class RNN(_StandardLayer, nn.RNN):
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
        _standard_init(nn.RNN, self, input_size, hidden_size, num_layers, dropout, impl, kwargs)

    def _cell_options(self) -> dict:
        return {"nonlinearity": self.nonlinearity}


class LSTM(_StandardLayer, nn.LSTM):
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
        _standard_init(nn.LSTM, self, input_size, hidden_size, num_layers, dropout, impl, kwargs)

    def _loop_reasons(self, return_states: bool) -> list[str]:
        reasons = super()._loop_reasons(return_states)
        if self.impl == "loop" and self.proj_size:
            self.cells()  # raises: the loop has no projection
        return reasons


class GRU(_StandardLayer, nn.GRU):
    r"""GRU, a stack of :class:`rnnkit.nn.GRUCell` (gates ``r|z|n``).

    Same signature, parameters and call as ``torch.nn.GRU``, plus ``lengths=``,
    ``return_states=``, ``impl=`` and ``reset_after``: True (default) is torch's form, False
    the form of Cho et al. 2014 and the lectures, which has the same parameters but runs only
    on the loop path (see :class:`rnnkit.nn.GRUCell`).
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
        _standard_init(
            nn.GRU, self, input_size, hidden_size, num_layers, dropout, impl, self_kwargs
        )
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
            subclasses) on the fused kernels, everything else on the loop.
    """

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
        _check_layer_options(num_layers, dropout)
        self.num_layers = num_layers
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.impl = _check_impl(impl)
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
        if isinstance(cell, Sequence):
            cells = list(cell)
            if len(cells) != count or not all(isinstance(c, nn.Module) for c in cells):
                raise ValueError(
                    f"Recurrent: a list of cells needs {count} modules (num_layers * "
                    f"num_directions), got {len(cells)}"
                )
            return cells
        if not callable(cell):
            raise ValueError(
                f"Recurrent: cell must be a module, a list of modules or a cell factory, got "
                f"{type(cell).__name__}"
            )
        if input_size is None or hidden_size is None:
            raise ValueError(
                "Recurrent: building cells from a factory needs input_size and hidden_size"
            )
        standard_cells._check_size("input_size", input_size)
        standard_cells._check_size("hidden_size", hidden_size)
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
        return text if self.impl == "auto" else f"{text}, impl={self.impl!r}"

    def forward(self, input, state=None, *, lengths=None, return_states: bool = False):
        """Same call as the standard layers: ``(input, state=None) -> (output, final_state)``.

        The final state is in torch's stacked layout (L * num_directions, N, H) (a tuple for
        pair states) when every cell's state has the same shapes, else a list of cell states.
        """
        mode = None if self.impl == "loop" or return_states else fused_mode(self.cells)
        if self.impl == "fused" and return_states:
            raise ValueError("Recurrent: impl='fused' cannot return per-step states")
        if mode is None:
            return _run_loop(self, list(self.cells), input, state, lengths, return_states)
        return self._forward_fused(mode, input, state, lengths)

    def _forward_fused(self, mode: str, input, state, lengths):
        batch = prepare_input("Recurrent", input, self.input_size, self.batch_first, lengths)
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
