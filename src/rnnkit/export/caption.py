"""A captioner as two graphs, so beam search and sampling run outside them.

    encoder:       images (N, 3, P, P) float32 in [0, 1]
                   -> h (N, H) [, c], [image (N, C)], [values (N, S, C), keys (N, S, A), mask]
    decoder_step:  tokens (N,) int64, h [, c], [image], [values, keys, mask (N, S) bool]
                   -> logits (N, V), h_out [, c_out], [weights (N, S)]

The encoder's outputs are the decoder's state before ``<start>``: the cell's ``h`` (and ``c``
for an LSTM), and the image as the run's conditioning needs it (``every-step``: the mean
feature vector; ``attention``: the memory of S positions and its mask). Feed ``h_out`` and
``c_out`` back with each next word; the image parts stay as the encoder made them. The logits
are raw; never emit the ids of ``export.json``'s ``never_generated``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.export.graphs import Graph
from rnnkit.models.captioner import CaptionDecoder, Captioner, CaptionState
from rnnkit.nn.attention import Memory
from rnnkit.tasks.caption_runs import load_run
from rnnkit.tasks.caption_tensors import END_ID, NEVER_GENERATED, START_ID

MEMORY = ("values", "keys", "mask")


def state_parts(config, has_cell_state: bool) -> list[str]:
    parts = ["h", "c"] if has_cell_state else ["h"]
    if config.conditioning == "every-step":
        parts.append("image")
    if config.conditioning == "attention":
        parts += MEMORY
    return parts


def flatten(state: CaptionState) -> tuple:
    tensors = [state.h] + ([] if state.c is None else [state.c])
    if state.image is not None:
        tensors.append(state.image)
    if state.memory is not None:
        tensors += [state.memory.values, state.memory.keys, state.memory.mask]
    return tuple(tensors)


def unflatten(parts: list[str], tensors) -> CaptionState:
    named = dict(zip(parts, tensors, strict=True))
    memory = Memory(*(named[k] for k in MEMORY)) if "values" in named else None
    return CaptionState(named["h"], named.get("c"), named.get("image"), memory)


class EncoderGraph(nn.Module):
    def __init__(self, model: Captioner):
        super().__init__()
        self.model = model

    def forward(self, images: Tensor):
        return flatten(self.model.start_state(images))


class DecoderStepGraph(nn.Module):
    def __init__(self, model: Captioner):
        super().__init__()
        self.decoder = model.decoder
        self.parts = state_parts(model.config, model.decoder.has_cell_state)

    def forward(self, tokens, h, c=None, image=None, values=None, keys=None, mask=None):
        given = [t for t in (h, c, image, values, keys, mask) if t is not None]
        logits, new, weights = self.decoder.step_with_weights(tokens, unflatten(self.parts, given))
        out = [logits, new.h] + ([] if new.c is None else [new.c])
        return tuple(out + ([] if weights is None else [weights]))


def load(run_dir, checkpoint: str = "best"):
    return load_run(run_dir, checkpoint)


def step_outputs(parts: list[str]) -> list[str]:
    outs = ["logits", *(f"{p}_out" for p in parts if p in ("h", "c"))]
    return outs + (["weights"] if "values" in parts else [])


def graphs(run, fmt: str) -> dict[str, Graph]:
    model = run.model
    parts = state_parts(model.config, model.decoder.has_cell_state)
    images = torch.full((2, 3, model.image_size, model.image_size), 0.5)
    encoder = EncoderGraph(model).eval()
    with torch.no_grad():
        state = encoder(images)
    axes = {name: {0: "N"} for name in (*parts, "h_out", "c_out", "images", "tokens", "logits")}
    axes.update(values={0: "N"}, keys={0: "N"}, mask={0: "N"}, weights={0: "N"})
    step_inputs = {"tokens": torch.full((2,), START_ID), **dict(zip(parts, state, strict=True))}
    step = DecoderStepGraph(model).eval()
    return {
        "encoder": Graph(encoder, {"images": images}, parts, axes),
        "decoder_step": Graph(step, step_inputs, step_outputs(parts), axes),
    }


def describe(run) -> dict:
    model = run.model
    return {
        "model": model.to_dict(),
        "image_size": model.image_size,
        "special_ids": {"start_id": START_ID, "end_id": END_ID, "pad_id": model.pad_id},
        "never_generated": list(NEVER_GENERATED),
        "state": {"parts": state_parts(model.config, model.decoder.has_cell_state)},
        "vocab": {"unk_id": run.vocab.unk_id, "symbols": run.vocab.itos},
    }


class OnnxDecoder(nn.Module):
    """``CaptionDecoder``'s step (and, on it, ``step``, ``run`` and ``forward``: rnnkit's
    own) on the decoder-step graph, for beam search and sampling."""

    step = CaptionDecoder.step
    run = CaptionDecoder.run
    forward = CaptionDecoder.forward

    def __init__(self, session, parts: list[str]):
        super().__init__()
        self.session, self.parts = session, parts
        self.attention = "attention" if "values" in parts else None
        self.cell = None  # the cell is inside the graph (no recurrent dropout at inference)

    def step_with_weights(self, tokens: Tensor, state: CaptionState):
        from rnnkit.export.runtime import run_graph

        feed = {"tokens": tokens, **dict(zip(self.parts, flatten(state), strict=True))}
        out = run_graph(self.session, feed)
        named = dict(zip(step_outputs(self.parts), out, strict=True))
        new = CaptionState(named["h_out"], named.get("c_out"), state.image, state.memory)
        return named["logits"], new, named.get("weights")


class OnnxCaptioner(nn.Module):
    """``Captioner.start_state`` on the encoder graph, its decoder on the decoder-step graph;
    greedy decoding and attention weights are the captioner's own, on them."""

    greedy = Captioner.greedy
    attention_weights = Captioner.attention_weights

    def __init__(self, folder, model: Captioner):
        super().__init__()
        from rnnkit.export.runtime import open_sessions

        self.meta, sessions = open_sessions(folder)
        self.config, self.image_size, self.pad_id = model.config, model.image_size, model.pad_id
        self.parts = state_parts(model.config, model.decoder.has_cell_state)
        self.encoder_session = sessions["encoder"]
        self.decoder = OnnxDecoder(sessions["decoder_step"], self.parts)

    def start_state(self, images: Tensor) -> CaptionState:
        from rnnkit.export.runtime import run_graph

        return unflatten(self.parts, run_graph(self.encoder_session, {"images": images}))


def onnx_model(folder, run) -> OnnxCaptioner:
    return OnnxCaptioner(folder, run.model)
