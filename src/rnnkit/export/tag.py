"""A tagger as one graph: its forward pass over a padded batch of sentences with lengths.

    forward:  words (N, T) int64, lengths (N,) int64
              [, chars (N, T, C) int64, char_lengths (N, T) int64]   -> logits (N, T, K)

Padding is handled inside the graph (ONNX: the recurrent operator's ``sequence_lens``; pt2: a
masked scan); the logits of padded words are to be ignored. Logits are raw; a CRF tagger's are
its emission scores, to be decoded with the CRF's transitions (``rnnkit predict`` does that
outside the graph). ``export.json`` has the tag set and the word vocabulary (``<unk>``: 0),
and for a tagger with character features the character vocabulary: each word's characters
(its first ``max_word_chars``) padded to C, their number in ``char_lengths`` (0 for a padded
word). In eager PyTorch the character layer reads only the real words, picked out of the
batch; a graph cannot pick (the number is data-dependent), so the graph's layer reads every
position, a padded word as one padding character, and zeroes the padded words' features:
the same features (:class:`EveryWord`).
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from rnnkit.export.graphs import Graph
from rnnkit.tasks.tag_runs import load_run


class ForwardGraph(nn.Module):
    """``model(words, lengths[, chars, char_lengths])``'s logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, words: Tensor, lengths: Tensor, chars=None, char_lengths=None) -> Tensor:
        return self.model(words, lengths, chars, char_lengths)[0]


def load(run_dir, checkpoint: str = "best"):
    return load_run(run_dir, checkpoint)


class EveryWord(nn.Module):
    """A tagger's character layer (``CharFeatures``) over every position of the padded batch:
    a padded word (``char_lengths`` 0) is read as one character and its features are then
    zeroed, as the layer, which reads only the real words, leaves them."""

    def __init__(self, chars: nn.Module):
        super().__init__()
        self.chars = chars

    def forward(self, chars: Tensor, char_lengths: Tensor) -> Tensor:
        batch, steps, width = chars.shape
        words = self.chars.embedding(chars.reshape(batch * steps, width))  # (N T, C, E)
        lengths = char_lengths.reshape(batch * steps).clamp(min=1)
        output, _ = self.chars.recurrent(words, lengths=lengths)  # (N T, C, 2 Hc)
        # the final states, read from the output (the TorchScript exporter fails on a packed
        # layer whose output is left unread): forward at each word's last character,
        # backward at its first
        hidden = self.chars.hidden_size
        last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden)  # (N T, 1, Hc)
        forward = output[:, :, :hidden].gather(1, last).squeeze(1)  # (N T, Hc)
        features = torch.cat([forward, output[:, 0, hidden:]], dim=1)  # (N T, 2 Hc)
        # back to (N, T, 2 Hc) by indexing: a reshape that splits N T has torch.export assume
        # N T != N, and the program would refuse T = 1
        rows = torch.arange(batch, device=chars.device)[:, None] * steps
        features = features[rows + torch.arange(steps, device=chars.device)]  # (N, T, 2 Hc)
        real = (char_lengths > 0).unsqueeze(-1)  # (N, T, 1)
        return torch.where(real, features, torch.zeros_like(features))  # (N, T, 2 Hc)


def graphs(run, fmt: str) -> dict[str, Graph]:
    inputs = {"words": torch.ones(2, 3, dtype=torch.long), "lengths": torch.tensor([3, 2])}
    axes = {"words": {0: "N", 1: "T"}, "lengths": {0: "N"}, "logits": {0: "N", 1: "T"}}
    model = run.model
    if model.config.char_features:
        model = copy.deepcopy(model)  # the run's model keeps its own character layer
        model.chars = EveryWord(model.chars)
        inputs["chars"] = torch.ones(2, 3, 4, dtype=torch.long)
        inputs["char_lengths"] = torch.tensor([[4, 2, 1], [3, 1, 0]])
        axes.update(chars={0: "N", 1: "T", 2: "C"}, char_lengths={0: "N", 1: "T"})
    module = ForwardGraph(model).eval()
    return {"forward": Graph(module, inputs, ["logits"], axes, over_time=True)}


def describe(run) -> dict:
    encoder = run.encoder
    described = {"tags": encoder.tag_set, "model": run.meta["model"]}
    described["encoder"] = encoder.to_dict()
    described["vocab"] = {"unk_id": 0, "symbols": encoder.words.itos}
    if encoder.chars is not None:
        described["chars"] = {"unk_id": 0, "pad_id": 0, "symbols": encoder.chars.itos}
    described["crf"] = bool(run.model.config.crf)
    return described


class OnnxTagger(nn.Module):
    """``SequenceTagger.forward`` on the exported graph; ``decode`` (softmax and argmax, or a
    CRF's marginals and Viterbi path) is the model's own, outside the graph."""

    def __init__(self, folder, model: nn.Module):
        super().__init__()
        from rnnkit.export.runtime import open_sessions

        self.meta, self.sessions = open_sessions(folder)
        self.config, self.decode = model.config, model.decode

    def forward(self, words, lengths, chars=None, char_lengths=None, targets=None):
        from rnnkit.export.runtime import run_graph

        if targets is not None:
            raise ValueError("the ONNX backend predicts; it does not score targets")
        feed = {"words": words, "lengths": torch.as_tensor(lengths, dtype=torch.long)}
        feed.update(chars=chars, char_lengths=char_lengths)
        return run_graph(self.sessions["forward"], feed)[0], None


def onnx_model(folder, run) -> OnnxTagger:
    return OnnxTagger(folder, run.model)
