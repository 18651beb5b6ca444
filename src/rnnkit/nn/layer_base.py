"""What rnnkit's recurrent layers (:mod:`rnnkit.nn.layers`) share: the checks of their
options, the loop path, and ``StandardLayer``, which adds rnnkit's features to torch.nn's
RNN, LSTM and GRU (their fused path is torch.nn's own, the loop path runs rnnkit's cells on
the same parameter tensors).

Shape letters as in :mod:`rnnkit.nn.layers`.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.rnn import pad_packed_sequence

from rnnkit.nn import cells as standard_cells
from rnnkit.nn.recurrence import run_layers
from rnnkit.nn.regularise import regularised_cells
from rnnkit.nn.routes import default_route, sequence_route
from rnnkit.nn.sequences import Batch, finish_output, loop_lengths, pack_for_fused, prepare_input
from rnnkit.nn.states import split_state, stack_states, zero_states
from rnnkit.options import check_int

IMPLS = ("auto", "fused", "loop", "route")
ROUTES = {"auto": default_route, "route": sequence_route}  # impl -> the cells' fast route


def check_impl(impl: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}, got {impl!r}")
    return impl


def check_layer_options(num_layers, dropout) -> None:
    check_int("num_layers", num_layers)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout must be a probability in [0, 1], got {dropout!r}")


def run_loop(layer, cells, input, state, lengths, return_states):
    """The loop path shared by every layer: checks, loop, output in the input's form. With
    ``impl="auto"`` the LSTM, GRU and MUT cells of rnnkit take their whole-sequence route
    where it is measured faster than the loop (:mod:`rnnkit.nn.routes`), with
    ``impl="route"`` wherever there is one; ``impl="loop"`` is the readable step-by-step
    loop."""
    name = type(layer).__name__
    batch = prepare_input(
        name, input, layer.input_size, layer.batch_first, lengths, layer.parameters()
    )
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
        route=ROUTES.get(layer.impl),
    )
    result = finish_output(output, batch), stack_states(finals, batch.unbatched)
    return (*result, steps) if return_states else result


class StandardLayer:
    """What rnnkit adds to torch.nn.RNN/LSTM/GRU: ``lengths=``, per-step states, the readable
    loop on the same parameters, and errors that say what was expected.

    The parameters, their names and the fused path are torch.nn's own (these classes
    subclass it), so a state dict moves between the two unchanged and the fused path is
    exactly as fast as torch.nn, cuDNN weight flattening included.
    """

    cell_class: type[standard_cells.RecurrentCell]
    zoneout: float = 0.0  # rnnkit.nn.regularise.regularise: the loop runs the cells with them
    recurrent_dropout: float = 0.0

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
            return run_loop(self, self.cells(), input, state, lengths, return_states)
        return self._forward_fused(input, state, lengths)

    def _loop_reasons(self, return_states: bool) -> list[str]:
        reasons = []
        if return_states:
            reasons.append("return_states=True")
        if self.zoneout or self.recurrent_dropout:
            reasons.append("zoneout or recurrent dropout")
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
        batch = prepare_input(
            name, input, self.input_size, self.batch_first, lengths, self.parameters()
        )
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
        return regularised_cells(self, cells)

    def _cell_options(self) -> dict:
        return {}

    def extra_repr(self) -> str:
        text = regularised_repr(self, super().extra_repr())
        return text if self.impl == "auto" else f"{text}, impl={self.impl!r}"


def regularised_repr(layer, text: str) -> str:
    """``text`` and the layer's zoneout and recurrent dropout rates where they are set."""
    for name in ("zoneout", "recurrent_dropout"):
        if getattr(layer, name, 0.0):
            text += f", {name}={getattr(layer, name)}"
    return text


def standard_init(layer_cls, self, input_size, hidden_size, num_layers, dropout, impl, kwargs):
    """``layer_cls.__init__`` (torch's) on ``self``, the arguments checked first."""
    check_int("input_size", input_size)
    check_int("hidden_size", hidden_size)
    check_layer_options(num_layers, dropout)
    check_impl(impl)
    layer_cls.__init__(self, input_size, hidden_size, num_layers, **kwargs)
    self.impl = impl
