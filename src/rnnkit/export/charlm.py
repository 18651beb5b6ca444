"""A char model as two graphs with explicit state, for streaming outside rnnkit.

    step:      tokens (N,) int64, state...      -> logits (N, V), state...
    sequence:  ids (N, T) int64, state...       -> logits (N, T, V), state...
    sample:    logits (N, V), noise (K, N, V), temperature (1,), bias (V,), state...
               -> tokens (K, N) int64, logits (N, V), state...       (ONNX only)

The state is the recurrent layer's, in torch's layout, one input and one output per part:
``h`` (L, N, H), and ``c`` (L, N, H) for a core whose state is (h, c). Start from zeros; feed
each call's state outputs to the next call. Batch (N) and length (T) are dynamic. Logits are
raw (no softmax). Padding is the caller's: every row of ``ids`` is read whole.

The step graph runs the cells one step each (the path ``rnnkit sample`` takes); the sequence
graph runs the layer over T steps (the fused kernel for the standard cores; in ONNX only for
the cores ONNX has an operator for, and without zoneout or recurrent dropout, which make the
layer run its own loop: ``rnnkit.export.graphs``). Both hold the same weights, and they agree
with eager PyTorch (tests/export).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.export.graphs import Graph, onnx_refusal
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.recurrent import get_core
from rnnkit.tasks.charlm_runs import load_run


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


SAMPLE_STEPS = 16  # tokens a call of the sample graph draws


class SampleGraph(nn.Module):
    """K tokens per stream drawn inside the graph: what ``rnnkit sample --backend onnxruntime``
    runs, one call per K characters instead of one per character.

        sample: logits (N, V), noise (K, N, V), temperature (1,), bias (V,), state...
                -> tokens (K, N) int64, logits (N, V), state...

    ``logits`` predict the first token (the prime's last, or the previous call's); each of
    the K draws is rnnkit's (``rnnkit.generation.sampling``): ``bias`` added (0, or -inf for
    a token never to generate), then at temperature 0 the argmax, else the exponential race
    ``argmax softmax(logits / temperature) / noise[k]`` with ``noise[k]`` the Exp(1) draws
    that ``race_noise`` makes; the token is then read through the recurrent layer (ONNX's
    own recurrent operator, one step) and the decoder. The outputs continue the stream."""

    def __init__(self, model: LanguageModel, steps: int = SAMPLE_STEPS):
        super().__init__()
        self.model = model
        self.steps = steps
        self.pair = len(state_names(model)) == 2

    def forward(self, logits, noise, temperature, bias, h, c=None):
        state = (h, c) if self.pair else h
        tokens = []
        for k in range(self.steps):
            masked = logits + bias  # (N, V)
            drawn = torch.softmax(masked / temperature, dim=-1).div(noise[k]).argmax(-1)
            token = torch.where(temperature > 0, drawn, masked.argmax(-1))  # (N,)
            tokens.append(token)
            output, state = self.model.recurrent(self.model.embed(token.unsqueeze(0)), state)
            logits = self.model.decoder(output[0]).float()  # (N, V)
        return (torch.stack(tokens), logits, *(state if self.pair else (state,)))


def example_inputs(model: LanguageModel, graph: str, batch: int = 2, steps: int = 3):
    """Inputs of the right shapes (zeros state) for tracing ``graph``."""
    c = model.config
    state = [torch.zeros(c.num_layers, batch, c.hidden_size) for _ in state_names(model)]
    ids = torch.ones(batch, dtype=torch.long)
    if graph == "sequence":
        ids = torch.ones(batch, steps, dtype=torch.long)
    if graph == "sample":
        vocab = model.vocab_size
        noise = torch.ones(SAMPLE_STEPS, batch, vocab)
        return (torch.zeros(batch, vocab), noise, torch.ones(1), torch.zeros(vocab), *state)
    return (ids, *state)


def load(run_dir, checkpoint: str = "best"):
    return load_run(run_dir, checkpoint)


def onnx_model(folder, run):
    """The model on ONNX Runtime, for the sampler (``rnnkit sample --backend onnxruntime``)."""
    from rnnkit.export.runtime import OnnxLanguageModel

    return OnnxLanguageModel(folder)


def graphs(run, fmt: str) -> dict[str, Graph]:
    """The step graph, and the sequence graph (in ONNX where the layer runs fused: a core
    ONNX has an operator for, without zoneout or recurrent dropout, which run its loop)."""
    model = run.model
    names = ["step"]
    fused = onnx_refusal(model, "sequence") is None
    if fmt == "pt2" or fused:
        names.append("sequence")
    if fmt == "onnx" and fused:
        names.append("sample")  # for ONNX Runtime's sampler; a pt2 program has no sampler
    made = {}
    for name in names:
        inputs, outputs = io_names(model, name)
        examples = dict(zip(inputs, example_inputs(model, name), strict=True))
        axes = {f"{part}{end}": {1: "N"} for part in state_names(model) for end in ("", "_out")}
        axes[inputs[0]] = {0: "N", 1: "T"} if name == "sequence" else {0: "N"}
        axes[outputs[0]] = axes[inputs[0]]
        if name == "sample":
            axes.update(noise={1: "N"}, tokens={1: "N"}, logits_out={0: "N"})
        module = GRAPHS[name](model).eval()
        made[name] = Graph(module, examples, outputs, axes, over_time=name != "step")
    return made


def describe(run) -> dict:
    """export.json's state layout, vocabulary and model configuration."""
    return {
        "state": {
            "parts": state_names(run.model),
            "layout": "(num_layers, N, hidden_size) each; zeros to start; feed *_out back",
        },
        "vocab": {"level": run.vocab.level, "unk_id": 0, "symbols": run.vocab.itos},
        "model": run.model.config.to_dict(run.model.vocab_size),
    }


def io_names(model: LanguageModel, graph: str) -> tuple[list[str], list[str]]:
    names = state_names(model)
    outs = [f"{name}_out" for name in names]
    if graph == "sample":
        return ["logits", "noise", "temperature", "bias", *names], ["tokens", "logits_out", *outs]
    first = "ids" if graph == "sequence" else "tokens"
    return [first, *names], ["logits", *outs]


GRAPHS = {"step": StepGraph, "sequence": SequenceGraph, "sample": SampleGraph}
