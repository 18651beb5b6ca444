"""Record what a recurrent layer computed at every step, as tensors of the autograd graph.

    with record_steps(model) as recording:      # an rnnkit layer, or any module holding one
        loss = compute_loss(model)               # any code that runs the model once
    recording.steps.steps[layer][t]             # the state of ``layer`` after step t

While the block runs, the layer's ``forward`` is swapped for one that asks for
``return_states=True`` (the readable loop path of :mod:`rnnkit.nn.recurrence`) and keeps what
it returns; the model's own code runs unchanged. The recorded states are the very tensors each
step hands to the next (``state = cell(x_t, state)``), so ``torch.autograd.grad(loss, h_t)``
is the *total* derivative ``dL/dh_t``: every path from ``h_t`` to the loss, through later steps
and through the layers above.

Shape letters: T time, N batch, D input features, H hidden units.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.nn import GRU, LSTM, RNN, LSTMCell, Recurrent, StepStates, Zoneout
from rnnkit.nn.layers import layer_cells
from rnnkit.nn.recurrence import cell_output
from rnnkit.nn.sequences import prepare_input
from rnnkit.nn.states import split_state, zero_states

State = Tensor | tuple[Tensor, ...]
RECURRENT_LAYERS = (RNN, LSTM, GRU, Recurrent)


@dataclass
class Recording:
    """One run of a recurrent layer, step by step.

    Attributes:
        name: the layer's name inside the model ("" when the model is the layer).
        cells: one cell per layer, bottom first, on the layer's own parameters.
        inputs: (T, N, D) time-major: what the first layer read.
        initial: the state of each cell before step 0.
        steps: every cell's state after every step (``steps.steps[layer][t]``).
    """

    name: str
    cells: list[nn.Module]
    inputs: Tensor | None = None
    initial: list[State] = field(default_factory=list)
    steps: StepStates | None = None

    @property
    def num_layers(self) -> int:
        return len(self.cells)

    @property
    def seq_len(self) -> int:
        return len(self.steps.steps[0])

    def layer_inputs(self, layer: int) -> Tensor:
        """(T, N, D) what layer ``layer`` read: the input, or the outputs of the layer below."""
        if layer == 0:
            return self.inputs
        below = self.steps.outputs[layer - 1]
        return torch.stack([below(state) for state in self.steps.steps[layer - 1]])

    def previous_states(self, layer: int) -> State:
        """The state each step of ``layer`` started from, stacked: (T, N, H), or a tuple."""
        states = [self.initial[layer], *self.steps.steps[layer][:-1]]
        if isinstance(states[0], Tensor):
            return torch.stack(states)
        return tuple(torch.stack(part) for part in zip(*states, strict=True))


def find_recurrent_layer(model: nn.Module, name: str | None = None) -> tuple[str, nn.Module]:
    """The rnnkit recurrent layer inside ``model`` (``model`` itself if it is one).

    A module with several such layers needs ``name`` (as in ``model.named_modules()``).
    """
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, RECURRENT_LAYERS)]
    if name is not None:
        named = dict(found)
        if name not in named:
            raise ValueError(
                f"no rnnkit recurrent layer named {name!r}; the model has "
                f"{', '.join(repr(n) for n in named) or 'none'}"
            )
        return name, named[name]
    if not found:
        raise ValueError(
            f"{type(model).__name__} holds no rnnkit recurrent layer (rnnkit.nn.RNN, LSTM, GRU "
            "or Recurrent); torch.nn's layers run fused kernels that keep no per-step states"
        )
    if len(found) > 1:
        raise ValueError(
            f"{type(model).__name__} holds {len(found)} rnnkit recurrent layers "
            f"({', '.join(repr(n) for n, _ in found)}); choose one by name"
        )
    return found[0]


@contextlib.contextmanager
def record_steps(model: nn.Module, layer_name: str | None = None, *, bidirectional: bool = False):
    """Run the block with the recurrent layer of ``model`` recording every step (see the
    module docstring). The layer must run exactly once, on unpadded input (``lengths`` that
    are all the full length are allowed), unidirectional unless ``bidirectional``: then
    ``steps.steps[k]`` and ``cells[k]`` are cell ``k = layer * 2 + direction``, each step's
    state at its own time step (see ``rnnkit.nn.StepStates``); ``layer_inputs`` and
    ``previous_states`` are for unidirectional layers only."""
    name, layer = find_recurrent_layer(model, layer_name)
    if layer.bidirectional and not bidirectional:
        raise ValueError(
            "bidirectional layers are not supported: half the layer runs backwards in time, so "
            "'distance back from the last step' has no single meaning; diagnose a "
            "unidirectional layer"
        )
    recording = Recording(name=name, cells=layer_cells(layer))
    original = layer.forward
    patched_before = layer.__dict__.get("forward")  # a forward set on the instance, if any

    def forward(input, state=None, *, lengths=None, return_states=False, hx=None):
        kind = type(layer).__name__
        if isinstance(input, PackedSequence) or _padded(lengths, input, layer.batch_first):
            raise ValueError("diagnostics run on unpadded batches (no lengths, no PackedSequence)")
        if recording.steps is not None:
            raise ValueError(
                "the model ran its recurrent layer more than once; diagnostics need one run"
            )
        state = hx if state is None else state
        output, final, steps = original(input, state, lengths=lengths, return_states=True)
        batch = prepare_input(kind, input, layer.input_size, layer.batch_first)
        recording.inputs = batch.x  # (T, N, D)
        recording.initial = split_state(kind, state, zero_states(recording.cells, batch), batch)
        recording.steps = steps
        return (output, final, steps) if return_states else (output, final)

    layer.forward = forward
    try:
        yield recording
    finally:
        if patched_before is None:
            del layer.forward  # the class's forward is visible again
        else:
            layer.forward = patched_before
    if recording.steps is None:
        raise ValueError("the model never ran its recurrent layer inside record_steps")


def _padded(lengths, input: Tensor, batch_first: bool) -> bool:
    """Whether ``lengths`` pads the batch (some sequence shorter than the time axis)."""
    if lengths is None:
        return False
    steps = input.shape[1 if batch_first and input.dim() == 3 else 0]
    return bool((torch.as_tensor(lengths) < steps).any())


def state_parts(cell: nn.Module, state: State) -> tuple[str, ...]:
    """Names of the tensors of a cell's state: ``("h",)`` for a tensor state, ``("h", "c")``
    for an LSTM cell (rnnkit's or torch.nn's), also inside a :class:`rnnkit.nn.Zoneout`
    (recurrent dropout is an attribute of the cell, not a wrapper). For another tuple state,
    ``h`` is the part the cell emits (its ``output``, by default the first) and the others are
    ``s0``, ``s1`` ... by position.

    Under zoneout the recorded ``(h_t, c_t)`` is the zoned state, the one step ``t + 1`` reads
    (``c_t = p c_{t-1} + (1 - p) c~_t`` in evaluation). Krueger et al.'s ``h_t`` is computed
    from the cell's own update ``c~_t``, not from ``c_t``, so nothing reads ``c_T`` after the
    last step: ``dL/dc_T`` is exactly 0 (for either loss), so the ``c`` curve, measured
    against its last-step value, gives horizon 0 and no line in the plot; its norms from one
    step back on are the gradient reaching the cell's memory."""
    if isinstance(state, Tensor):
        return ("h",)
    while isinstance(cell, Zoneout):
        cell = cell.cell
    if isinstance(cell, (LSTMCell, nn.LSTMCell)):
        return ("h", "c")
    emitted = cell_output(cell)(state)
    return tuple("h" if part is emitted else f"s{k}" for k, part in enumerate(state))
