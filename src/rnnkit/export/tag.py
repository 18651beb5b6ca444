"""A tagger as one graph: its forward pass over a padded batch of sentences with lengths.

    forward:  words (N, T) int64, lengths (N,) int64  -> logits (N, T, K)

Padding is handled inside the graph (ONNX: the recurrent operator's ``sequence_lens``; pt2: a
masked scan); the logits of padded words are to be ignored. Logits are raw; a CRF tagger's are
its emission scores, to be decoded with the CRF's transitions (``rnnkit predict`` does that
outside the graph). ``export.json`` has the tag set and the word vocabulary (``<unk>``: 0).
A tagger with character features is refused for now: its character layer picks the real
words out of the batch (a data-dependent size, which neither exporter can trace).
"""

from __future__ import annotations

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


def graphs(run, fmt: str) -> dict[str, Graph]:
    inputs = {"words": torch.ones(2, 3, dtype=torch.long), "lengths": torch.tensor([3, 2])}
    axes = {"words": {0: "N", 1: "T"}, "lengths": {0: "N"}, "logits": {0: "N", 1: "T"}}
    if run.model.config.char_features:
        raise ValueError(
            "a tagger with character features (char_features) has no export yet: its "
            "character layer reads only the real words, a number the graph cannot know"
        )
    module = ForwardGraph(run.model).eval()
    return {"forward": Graph(module, inputs, ["logits"], axes, over_time=True)}


def describe(run) -> dict:
    encoder = run.encoder
    described = {"tags": encoder.tag_set, "model": run.meta["model"]}
    described["encoder"] = encoder.to_dict()
    described["vocab"] = {"unk_id": 0, "symbols": encoder.words.itos}
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
