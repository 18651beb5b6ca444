"""An encoder-decoder (seq2seq) as two graphs, so beam search runs outside them.

    encoder:       src (N, S) int64, src_lengths (N,) int64
                   -> h (L, N, H) [, c], [values (N, S, K), keys (N, S, A), mask (N, S) bool],
                      [feed (1, N, F)]
    decoder_step:  tokens (N,) int64, h [, c], [values, keys, mask], [feed]
                   -> logits (N, V), h_out [, c_out], [feed_out], [weights (N, S)]

The encoder's outputs are the decoder's state: the recurrent state (``c`` for a core whose
state is (h, c)), the attention memory and its mask (with attention), and the fed-back vector
(attention ``none``: the encoder's summary; ``multiplicative``: the previous attentional
state, zeros to start). Feed the state outputs (``*_out``; the memory does not change) back
with each next token, starting from ``<bos>``; the logits are raw. The encoder reads the
padded source with its lengths inside the graph. ``export.json`` has both vocabularies, the
special ids and the parts of the state (``state.parts``).
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from rnnkit.export.graphs import Graph
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.nn.attention import Memory
from rnnkit.tasks.seq2seq_runs import load_run

MEMORY = ("values", "keys", "mask")


def state_parts(model) -> list[str]:
    """The names of the decoder state's tensors, in the graphs' order."""
    parts = ["h", "c"] if model._lstm else ["h"]
    if model.config.attention != "none":
        parts += MEMORY
    if model.config.attention != "additive":
        parts.append("feed")
    return parts


def flatten(model, state) -> tuple:
    """``Seq2Seq``'s state ``(recurrent, memory, feed)`` -> its tensors in ``state_parts``."""
    recurrent, memory, feed = state
    tensors = list(recurrent) if model._lstm else [recurrent]
    if memory is not None:
        tensors += [memory.values, memory.keys, memory.mask]
    if feed is not None:
        tensors.append(feed)
    return tuple(tensors)


def unflatten(model, tensors) -> tuple:
    """The inverse of :func:`flatten`."""
    named = dict(zip(state_parts(model), tensors, strict=True))
    recurrent = (named["h"], named["c"]) if model._lstm else named["h"]
    memory = Memory(*(named[k] for k in MEMORY)) if "values" in named else None
    return recurrent, memory, named.get("feed")


class EncoderGraph(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, src: Tensor, src_lengths: Tensor):
        return flatten(self.model, self.model.encode(src, src_lengths))


class ReadOutput(nn.Module):
    """The encoder layer with its top layer's final ``h`` read from its output: forward at
    each source's last token, backward at its first (the same numbers). With attention
    ``none`` the model reads only the final state, and the TorchScript exporter fails on a
    packed layer whose output is left unread."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, input: Tensor, state=None, *, lengths: Tensor):
        output, final = self.layer(input, state, lengths=lengths)
        h = final[0] if isinstance(final, tuple) else final  # (L * D, N, H)
        out = output if self.layer.batch_first else output.transpose(0, 1)  # (N, S, D * H)
        hidden = h.shape[-1]
        last = (lengths.to(out.device) - 1).view(-1, 1, 1).expand(-1, 1, hidden)  # (N, 1, H)
        top = [out[:, :, :hidden].gather(1, last).squeeze(1)]  # (N, H)
        if self.layer.bidirectional:
            top.append(out[:, 0, hidden:])
        h = torch.cat([h[: h.shape[0] - len(top)], torch.stack(top)])
        return output, (h, final[1]) if isinstance(final, tuple) else h


class DecoderStepGraph(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(
        self, tokens: Tensor, h: Tensor, c=None, values=None, keys=None, mask=None, feed=None
    ):
        given = (h, c, values, keys, mask, feed)
        state = tuple(t for t in given if t is not None)  # in state_parts' order
        logits, new, weights = self.model.step(tokens, unflatten(self.model, state))
        recurrent, _, feed = new
        out = [logits, *(recurrent if self.model._lstm else (recurrent,))]
        if feed is not None:
            out.append(feed)
        if weights is not None:
            out.append(weights)
        return tuple(out)


def load(run_dir, checkpoint: str = "best"):
    return load_run(run_dir, checkpoint)


def step_outputs(model) -> list[str]:
    parts = state_parts(model)
    outs = ["logits", *(f"{p}_out" for p in parts if p not in MEMORY)]
    return outs + (["weights"] if "values" in parts else [])


AXES = {"h": {1: "N"}, "c": {1: "N"}, "values": {0: "N", 1: "S"}, "keys": {0: "N", 1: "S"}}
AXES.update(mask={0: "N", 1: "S"}, feed={1: "N"}, weights={0: "N", 1: "S"})


def graphs(run, fmt: str) -> dict[str, Graph]:
    model = run.model
    if model.config.attention == "none":  # the graph reads the encoder's output
        model = copy.deepcopy(model)
        model.encoder = ReadOutput(model.encoder)
    src, lengths = torch.full((2, 3), 4, dtype=torch.long), torch.tensor([3, 2])
    encoder = EncoderGraph(model).eval()
    with torch.no_grad():
        state = encoder(src, lengths)
    parts = state_parts(model)
    axes = {**AXES, **{f"{p}_out": AXES[p] for p in ("h", "c", "feed")}}
    axes.update(src={0: "N", 1: "S"}, src_lengths={0: "N"}, tokens={0: "N"}, logits={0: "N"})
    step_inputs = {"tokens": torch.full((2,), model.bos_id), **dict(zip(parts, state, strict=True))}
    return {
        "encoder": Graph(encoder, {"src": src, "src_lengths": lengths}, parts, axes, True),
        "decoder_step": Graph(
            DecoderStepGraph(model).eval(), step_inputs, step_outputs(model), axes
        ),
    }


def describe(run) -> dict:
    model, vocabs = run.model, run.vocab
    ids = {"pad_id": model.pad_id, "bos_id": model.bos_id, "eos_id": model.eos_id}
    return {
        "model": model.to_dict(),
        "special_ids": ids,
        "state": {"parts": state_parts(model), "memory_unchanged": list(MEMORY)},
        "source_vocab": {"unk_id": vocabs.source.unk_id, "symbols": vocabs.source.itos},
        "target_vocab": {"unk_id": vocabs.target.unk_id, "symbols": vocabs.target.itos},
        "lowercase": vocabs.lowercase,
    }


class OnnxSeq2Seq(nn.Module):
    """``Seq2Seq``'s ``encode``, ``step``, ``greedy`` and ``attention_weights`` on the
    exported graphs, for rnnkit's beam search, sampling and ``translate``."""

    greedy = Seq2Seq.greedy

    def __init__(self, folder, model: Seq2Seq):
        super().__init__()
        from rnnkit.export.runtime import open_sessions

        self.meta, self.sessions = open_sessions(folder)
        self.config, self._lstm = model.config, model._lstm
        self.pad_id, self.bos_id, self.eos_id = model.pad_id, model.bos_id, model.eos_id
        self.attention = None if self.config.attention == "none" else self.config.attention

    def encode(self, src: Tensor, src_lengths: Tensor):
        from rnnkit.export.runtime import run_graph

        lengths = torch.as_tensor(src_lengths, dtype=torch.long)
        out = run_graph(self.sessions["encoder"], {"src": src, "src_lengths": lengths})
        return unflatten(self, out)

    def step(self, tokens: Tensor, state):
        from rnnkit.export.runtime import run_graph

        names = ["tokens", *state_parts(self)]
        feed = dict(zip(names, (tokens, *flatten(self, state)), strict=True))
        out = run_graph(self.sessions["decoder_step"], feed)
        named = dict(zip(step_outputs(self), out, strict=True))
        recurrent = (named["h_out"], named["c_out"]) if self._lstm else named["h_out"]
        return named["logits"], (recurrent, state[1], named.get("feed_out")), named.get("weights")

    @torch.no_grad()
    def attention_weights(self, src: Tensor, src_lengths: Tensor, tgt: Tensor):
        """The weights (N, T, S) while the decoder reads ``tgt[:, :-1]``; None without."""
        if self.attention is None:
            return None
        state, weights = self.encode(src, src_lengths), []
        for t in range(tgt.shape[1] - 1):
            _, state, step_weights = self.step(tgt[:, t], state)
            weights.append(step_weights)
        return torch.stack(weights, 1)


def onnx_model(folder, run) -> OnnxSeq2Seq:
    return OnnxSeq2Seq(folder, run.model)
