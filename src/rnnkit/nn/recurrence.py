"""The readable time loop: any cell, over time, over layers and directions.

This is the path every custom cell takes, and the one a standard layer takes when asked for a
feature the fused kernels lack (per-step states, the lectures' GRU). It is written to be read:

    for layer in layers:
        for direction in (forward, backward):
            for t in time (reversed for the backward direction):
                state = cell(x_t, state)        # masked where t >= length
        x = concat(directions), dropout between layers

Shapes are time-major throughout: inputs (T, N, D), outputs (T, N, D_out * H).

Two details matter for speed. The input matmul ``W_ih x_t`` of a standard cell does not depend
on the recurrence, so it is done for all T steps in one GEMM before the loop. And the sequence
is split with ``unbind`` (one autograd node) rather than indexed step by step: T index
operations each produce a full-size gradient buffer in the backward pass, which makes it
quadratic in T.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = Tensor | tuple[Tensor, ...]


def zip_state(fn, first, second):
    """Combine two states of the same structure tensor by tensor."""
    if isinstance(first, Tensor):
        return fn(first, second)
    return type(first)(fn(a, b) for a, b in zip(first, second, strict=True))


def initial_state(cell: nn.Module, batch_size: int, like: Tensor) -> State:
    """The zero state of any cell: its own ``initial_state`` if it has one; otherwise zeros
    (N, H), as a pair for ``torch.nn.LSTMCell``."""
    if hasattr(cell, "initial_state"):
        return cell.initial_state(batch_size, dtype=like.dtype, device=like.device)
    zeros = like.new_zeros(batch_size, cell.hidden_size)
    if isinstance(cell, nn.LSTMCell):
        return zeros, zeros.clone()
    return zeros


def cell_output(cell: nn.Module) -> Callable[[State], Tensor]:
    """What the layer emits from a state: ``cell.output`` if defined, else the state itself or
    its first element (h of an LSTM's (h, c))."""
    output = getattr(cell, "output", None)
    if output is not None:
        return output
    return lambda state: state if isinstance(state, Tensor) else state[0]


def cell_stepper(cell: nn.Module, inputs: Tensor) -> tuple[Sequence[Tensor], Callable]:
    """The per-step inputs and the step function for a cell.

    Cells that split a step into ``project_input`` and ``step`` get their input matmul done
    once for the whole sequence; any other cell is called as ``cell(x_t, state)``.
    """
    if hasattr(cell, "project_input") and hasattr(cell, "step"):
        return cell.project_input(inputs).unbind(0), cell.step  # T x (N, G*H)
    return inputs.unbind(0), cell


@dataclass
class StepStates:
    """The state of every cell after every time step, as computed in the autograd graph.

    ``steps[k][t]`` is the state of cell ``k`` after step ``t``, where ``k = layer *
    num_directions + direction`` (the order of torch's ``h_n``) and ``t`` indexes the input's
    time axis, also for the backward direction. A state is a tensor (N, H) or, for an LSTM, the
    pair (h, c). These are the tensors the loss depends on, so ``torch.autograd.grad(loss,
    states.steps[k])`` gives ``dL/dh_t`` for every t. Past a sequence's length the state is the
    one carried from its last real step.
    """

    steps: list[list[State]]
    outputs: list[Callable[[State], Tensor]]

    def stacked(self, k: int) -> State:
        """The states of cell ``k`` stacked over time: (T, N, H), or a tuple of those."""
        steps = self.steps[k]
        if isinstance(steps[0], Tensor):
            return torch.stack(steps)
        return tuple(torch.stack(part) for part in zip(*steps, strict=True))

    @property
    def hidden(self) -> Tensor:
        """The outputs ``h_t`` of every cell at every step: (L * num_directions, T, N, H)."""
        return torch.stack(
            [
                torch.stack([out(s) for s in steps])
                for steps, out in zip(self.steps, self.outputs, strict=True)
            ]
        )


def run_cell(
    cell: nn.Module,
    inputs: Tensor,
    state: State,
    masks: Sequence[Tensor] | None,
    reverse: bool,
    keep_steps: bool,
    route: Callable | None = None,
) -> tuple[Tensor, State, list[State] | None]:
    """Run one cell over a sequence. ``inputs`` (T, N, D); ``masks`` T x (N, 1) with 1 where
    t < length. Returns outputs (T, N, H), the final state and, if asked, every step's state.

    A cell with a ``scan`` (a linear recurrence, :mod:`rnnkit.nn.parallel_cells`) runs the
    whole sequence at once, unless every step's state is asked for. So does a cell for which
    ``route(cell)`` gives a whole-sequence function, called as ``scan`` is (the LSTM, GRU and
    MUT cells, :mod:`rnnkit.nn.routes`: the same numbers with a hand-derived backward pass); the
    loop below is their readable reference, and the only path without a ``route``
    (``impl="loop"``: autograd differentiates its steps twice)."""
    begin = getattr(cell, "begin_sequence", None)
    if begin is not None:
        begin(inputs.shape[1], inputs)
    whole = route and (getattr(cell, "scan", None) or route(cell))
    if whole and not keep_steps:
        mask = None if masks is None else torch.stack(list(masks))  # (T, N, 1)
        output, state = whole(cell.project_input(inputs), state, mask, reverse)
        return output, state, None
    xs, advance = cell_stepper(cell, inputs)
    output = cell_output(cell)
    T = len(xs)
    outputs: list[Tensor | None] = [None] * T
    steps: list[State | None] | None = [None] * T if keep_steps else None
    for t in reversed(range(T)) if reverse else range(T):
        new_state = advance(xs[t], state)
        if masks is None:
            outputs[t] = output(new_state)
        else:
            # Past its length a sequence keeps its state and emits zeros (as torch's packed
            # sequences do). For the backward direction this also means the recurrence starts
            # at each sequence's own last step.
            keep = masks[t]  # (N, 1)
            new_state = zip_state(partial(torch.where, keep), new_state, state)
            outputs[t] = output(new_state) * keep
        state = new_state
        if steps is not None:
            steps[t] = state
    return torch.stack(outputs), state, steps  # (T, N, H)


def run_layers(
    cells: Sequence[nn.Module],
    inputs: Tensor,
    states: Sequence[State],
    *,
    num_layers: int,
    bidirectional: bool,
    dropout: float = 0.0,
    training: bool = False,
    lengths: Tensor | None = None,
    keep_steps: bool = False,
    route: Callable | None = None,
) -> tuple[Tensor, list[State], StepStates | None]:
    """Run a stack of cells over time.

    Args:
        cells: ``num_layers * num_directions`` cells in torch's order (layer-major, forward
            direction first).
        inputs: (T, N, D), time-major.
        states: the initial state of each cell.
        lengths: (N,) true lengths of padded sequences, or None when all have length T.
        route: ``route(cell)`` -> a whole-sequence function for the cells that have one, or
            None (see :func:`run_cell`); None: every cell step by step.
    Returns:
        output (T, N, num_directions * H) of the last layer, the final state of each cell, and
        a :class:`StepStates` when ``keep_steps``.
    """
    directions = 2 if bidirectional else 1
    T = inputs.shape[0]
    masks = None
    if lengths is not None:
        steps_idx = torch.arange(T, device=inputs.device).unsqueeze(1)  # (T, 1)
        valid = steps_idx < lengths.to(inputs.device).unsqueeze(0)  # (T, N)
        masks = valid.unsqueeze(-1).unbind(0)  # T x (N, 1)
    finals: list[State] = []
    all_steps: list[list[State]] = []
    layer_input = inputs
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            out, final, steps = run_cell(
                cells[k], layer_input, states[k], masks, direction == 1, keep_steps, route
            )
            outputs.append(out)
            finals.append(final)
            if keep_steps:
                all_steps.append(steps)
        layer_input = torch.cat(outputs, dim=2) if directions == 2 else outputs[0]
        if dropout > 0 and training and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, training=True)
    step_states = StepStates(all_steps, [cell_output(c) for c in cells]) if keep_steps else None
    return layer_input, finals, step_states
