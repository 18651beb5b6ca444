"""A char model as two graphs with explicit state, for streaming outside rnnkit.

    step:      tokens (N,) int64, state...      -> logits (N, V), state...
    sequence:  ids (N, T) int64, state...       -> logits (N, T, V), state...

The state is the recurrent layer's, in torch's layout, one input and one output per part:
``h`` (L, N, H), and ``c`` (L, N, H) for a core whose state is (h, c). Start from zeros; feed
each call's state outputs to the next call. Batch (N) and length (T) are dynamic. Logits are
raw (no softmax). Padding is the caller's: every row of ``ids`` is read whole.

The step graph runs the cells one step each (the path ``rnnkit sample`` takes); the sequence
graph runs the layer over T steps (the fused kernel for the standard cores). Both hold the
same weights, and they agree with eager PyTorch (tests/export).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.models.language_model import LanguageModel
from rnnkit.models.recurrent import get_core


def state_names(model: LanguageModel) -> list[str]:
    return ["h", "c"] if get_core(model.config.cell).has_cell_state else ["h"]


class StepGraph(nn.Module):
    """One token per stream: ``LanguageModel.step`` (eval mode: one cell step a layer)."""

    def __init__(self, model: LanguageModel):
        super().__init__()
        self.model = model
        self.pair = len(state_names(model)) == 2

    def forward(self, tokens: Tensor, h: Tensor, c: Tensor | None = None):
        logits, state = self.model.step(tokens, (h, c) if self.pair else h)
        return (logits, *(state if self.pair else (state,)))


class SequenceGraph(nn.Module):
    """T tokens per stream through the whole layer, batch-first outside."""

    def __init__(self, model: LanguageModel):
        super().__init__()
        self.model = model
        self.pair = len(state_names(model)) == 2

    def forward(self, ids: Tensor, h: Tensor, c: Tensor | None = None):
        x = self.model.embed(ids.transpose(0, 1))  # (T, N, E)
        output, new = self.model.recurrent(x, (h, c) if self.pair else h)
        logits = self.model.decoder(output).transpose(0, 1)  # (N, T, V)
        return (logits, *(new if self.pair else (new,)))


def example_inputs(model: LanguageModel, graph: str, batch: int = 2, steps: int = 3):
    """Inputs of the right shapes (zeros state) for tracing ``graph``."""
    c = model.config
    state = [torch.zeros(c.num_layers, batch, c.hidden_size) for _ in state_names(model)]
    ids = torch.ones(batch, dtype=torch.long)
    if graph == "sequence":
        ids = torch.ones(batch, steps, dtype=torch.long)
    return (ids, *state)


def dynamic_shapes(model: LanguageModel, graph: str) -> dict:
    """Batch (and for the sequence graph, time) dynamic, keyed by ``forward``'s names."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    first = {0: batch}
    if graph == "sequence":
        first = {0: batch, 1: torch.export.Dim("time", min=1, max=1_000_000)}
    name = "ids" if graph == "sequence" else "tokens"
    return {name: first, **{part: {1: batch} for part in state_names(model)}}


def io_names(model: LanguageModel, graph: str) -> tuple[list[str], list[str]]:
    names = state_names(model)
    first = "ids" if graph == "sequence" else "tokens"
    return [first, *names], ["logits", *(f"{name}_out" for name in names)]


GRAPHS = {"step": StepGraph, "sequence": SequenceGraph}
