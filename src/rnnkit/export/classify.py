"""A classifier as one graph: its forward pass over a padded batch with its lengths.

    forward:  inputs (N, T) int64 token ids  [or (N, T, F) float32 frames],
              lengths (N,) int64                               -> logits (N, K)

Padding is handled inside the graph (ONNX: the recurrent operator's ``sequence_lens``; pt2: a
masked scan), so each row gives what it gives alone, whatever is in its padding. Logits are
raw: a softmax gives the class probabilities. ``export.json`` has the classes and (for text)
the vocabulary: tokens -> ids as the run's encoder does (``<unk>`` is id 0).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.export.graphs import Graph
from rnnkit.tasks.classify_runs import load_run


class ForwardGraph(nn.Module):
    """``model(inputs, lengths)``'s logits."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor, lengths: Tensor) -> Tensor:
        return self.model(inputs, lengths)[0]


def load(run_dir, checkpoint: str = "best"):
    return load_run(run_dir, checkpoint)


def example_inputs(model) -> dict[str, Tensor]:
    lengths = torch.tensor([3, 2])
    if model.config.embedding == "vectors":
        return {"inputs": torch.zeros(2, 3, model.input_size), "lengths": lengths}
    return {"inputs": torch.ones(2, 3, dtype=torch.long), "lengths": lengths}


def graphs(run, fmt: str) -> dict[str, Graph]:
    axes = {"inputs": {0: "N", 1: "T"}, "lengths": {0: "N"}, "logits": {0: "N"}}
    inputs = example_inputs(run.model)
    module = ForwardGraph(run.model).eval()
    return {"forward": Graph(module, inputs, ["logits"], axes, over_time=True)}


def describe(run) -> dict:
    encoder = run.encoder
    described = {"classes": run.meta["classes"], "model": run.meta["model"]}
    described["encoder"] = encoder.to_dict()
    if encoder.vocab is not None:
        described["vocab"] = {"unk_id": 0, "symbols": encoder.vocab.itos}
    return described


class OnnxClassifier(nn.Module):
    """``SequenceClassifier.forward(inputs, lengths)`` on the exported graph."""

    def __init__(self, folder, model: nn.Module):
        super().__init__()
        from rnnkit.export.runtime import open_sessions

        self.meta, self.sessions = open_sessions(folder)
        self.num_classes, self.config = model.num_classes, model.config

    def forward(self, inputs: Tensor, lengths: Tensor, targets=None):
        from rnnkit.export.runtime import run_graph

        if targets is not None:
            raise ValueError("the ONNX backend predicts; it does not score targets")
        feed = {"inputs": inputs, "lengths": torch.as_tensor(lengths, dtype=torch.long)}
        return run_graph(self.sessions["forward"], feed)[0], None


def onnx_model(folder, run) -> OnnxClassifier:
    return OnnxClassifier(folder, run.model)
