"""A char model's exported ONNX graphs, run by ONNX Runtime behind the calls rnnkit's sampler
and beam search make of a ``LanguageModel`` (``rnnkit sample --backend onnxruntime``).

    model = onnx_model("runs/quick")       # runs/quick/export-onnx, exported first if missing
    generate(model, prime_ids, 500, temperature=0.8, seed=1)   # the same draws as in torch

The logits come from ONNX Runtime; everything after them (temperature, filters, the seeded
draw) is rnnkit's own, so a seed gives the same text as the torch backend wherever the two
backends' logits (equal to 1e-5) do not straddle a draw's threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.export.files import export_run, weights_sha256
from rnnkit.tasks import lifecycle
from rnnkit.training import run_dir as layout


class OnnxLanguageModel(nn.Module):
    """``forward(idx (T, B), state=None)`` and ``step(tokens (B,), state)`` of a
    ``LanguageModel``, on the step and sequence graphs of an export folder."""

    def __init__(self, folder: str | Path):
        super().__init__()
        import onnxruntime as ort

        folder = Path(folder)
        meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        self.meta, self.parts = meta, meta["state"]["parts"]
        self.vocab_size = meta["model"]["vocab_size"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one stream: a second thread only waits
        self.sessions = {
            name: ort.InferenceSession(str(folder / graph["file"]), options)
            for name, graph in meta["graphs"].items()
        }

    def _state(self, state, batch: int) -> dict:
        if state is None:
            shape = (self.meta["model"]["num_layers"], batch, self.meta["model"]["hidden_size"])
            return {part: np.zeros(shape, np.float32) for part in self.parts}
        tensors = state if isinstance(state, tuple) else (state,)
        return {part: t.numpy() for part, t in zip(self.parts, tensors, strict=True)}

    def _wrap(self, parts: list[np.ndarray]):
        tensors = tuple(torch.from_numpy(p) for p in parts)
        return tensors if len(tensors) == 2 else tensors[0]

    def forward(self, idx: Tensor, targets=None, state=None):
        if targets is not None:
            raise ValueError("the ONNX backend generates; it does not score targets")
        if "sequence" not in self.sessions:  # a core ONNX has no operator for: step by step
            logits = []
            for tokens in idx:
                step_logits, state = self.step(tokens, state)
                logits.append(step_logits)
            return torch.stack(logits), None, state
        ids = idx.transpose(0, 1).numpy()  # (B, T)
        out = self.sessions["sequence"].run(None, {"ids": ids, **self._state(state, len(ids))})
        logits = torch.from_numpy(out[0]).transpose(0, 1)  # (T, B, V)
        return logits, None, self._wrap(out[1:])

    def step(self, tokens: Tensor, state=None):
        feed = {"tokens": tokens.numpy(), **self._state(state, len(tokens))}
        out = self.sessions["step"].run(None, feed)
        return torch.from_numpy(out[0]), self._wrap(out[1:])


def onnx_model(run_dir: str | Path, checkpoint: str = "best") -> OnnxLanguageModel:
    """The run's ONNX export (``RUN_DIR/export-onnx``, written first when it is missing), as
    a model for the sampler; a ValueError when the export holds other weights than the
    run's ``checkpoint`` (the run trained on after it was exported)."""
    run_dir = layout.check_run_dir(run_dir)
    folder = run_dir / "export-onnx"
    if not folder.exists():
        export_run(run_dir, "onnx", folder, checkpoint)
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    opened = lifecycle.open_checkpoint(run_dir, checkpoint)
    if meta["weights_sha256"] != weights_sha256(run_dir, opened.checkpoint):
        raise ValueError(
            f"{folder} holds other weights than {run_dir}'s {opened.checkpoint} checkpoint "
            "(exported before the run trained on); remove it to export again"
        )
    return OnnxLanguageModel(folder)
