"""A run's exported ONNX graphs, run by ONNX Runtime behind the calls rnnkit makes of the
run's model (``--backend onnxruntime`` of ``sample``, ``predict``, ``translate``, ``forecast``).

    model = onnx_model("runs/quick")       # runs/quick/export-onnx, exported first if missing
    generate(model, prime_ids, 500, temperature=0.8, seed=1)   # the same draws as in torch
    run = onnx_run("runs/names")           # the task's loaded run, its model on ONNX Runtime

Each task's export module has ``onnx_model(folder, run)``: an object with the methods of the
task's model that rnnkit's own code calls (forward, step, encode, forecast...), each running
the exported graphs.

The logits come from ONNX Runtime; everything after them (temperature, filters, the seeded
draw) is rnnkit's own, so a seed gives the same text as the torch backend wherever the two
backends' logits (equal to 1e-5) do not straddle a draw's threshold. A char model's sampler
without top-k or top-p runs the export's sample graph, K tokens a call: the draw is then
inside the graph, the same exponential race on the same noise, which rnnkit makes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.export.files import export_folder, export_run, exporter, weights_sha256
from rnnkit.generation.sampling import race_noise
from rnnkit.tasks import lifecycle
from rnnkit.training import run_dir as layout


class OnnxLanguageModel(nn.Module):
    """``forward(idx (T, B), state=None)`` and ``step(tokens (B,), state)`` of a
    ``LanguageModel``, on the step and sequence graphs of an export folder."""

    def __init__(self, folder: str | Path):
        super().__init__()
        self.meta, self.sessions = open_sessions(folder)
        self.parts = self.meta["state"]["parts"]
        self.vocab_size = self.meta["model"]["vocab_size"]

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
        if "sequence" not in self.sessions:  # a core ONNX has no operator for: step by step
            logits = []
            for tokens in idx:
                step_logits, state = self.step(tokens, state)
                logits.append(step_logits)
            logits = torch.stack(logits)
        else:
            ids = idx.transpose(0, 1).numpy()  # (B, T)
            feed = {"ids": ids, **self._state(state, len(ids))}
            out = self.sessions["sequence"].run(None, feed)
            logits = torch.from_numpy(out[0]).transpose(0, 1)  # (T, B, V)
            state = self._wrap(out[1:])
        loss = None
        if targets is not None:  # LanguageModel's: mean nats per token
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss, state

    def step(self, tokens: Tensor, state=None):
        feed = {"tokens": tokens.numpy(), **self._state(state, len(tokens))}
        out = self.sessions["step"].run(None, feed)
        return torch.from_numpy(out[0]), self._wrap(out[1:])

    @property
    def sample_tokens(self):
        """``generate``'s hook (``rnnkit.generation.sampling``): the draws made K a call by
        the sample graph; None for an export without one (a core ONNX has no operator for,
        or an export written before the graph existed): ``generate`` then steps."""
        return self._sample_tokens if "sample" in self.sessions else None

    def _sample_tokens(self, logits, state, length, temperature, generator, blocked, on_token):
        """``length`` tokens drawn after ``logits`` (1, V) and ``state``, K a call
        (``rnnkit.export.charlm.SampleGraph``). The noise is made as the step-by-step loop
        makes it, one ``race_noise`` call per token, so a seed gives the same tokens."""
        session = self.sessions["sample"]
        steps = {i.name: i.shape for i in session.get_inputs()}["noise"][0]
        batch, vocab = logits.shape
        bias = torch.zeros(vocab)
        if blocked is not None:
            bias[blocked] = -math.inf
        feed = {
            "logits": np.ascontiguousarray(logits.float().numpy()),
            "temperature": np.array([temperature], np.float32),
            "bias": bias.numpy(),
            **self._state(state, batch),
        }
        template = torch.empty(batch, vocab)
        tokens: list[int] = []
        while len(tokens) < length:
            draws = min(steps, length - len(tokens))
            noise = [torch.ones(batch, vocab)] * steps
            if temperature > 0:
                noise[:draws] = [race_noise(template, generator) for _ in range(draws)]
            out = session.run(None, {**feed, "noise": torch.stack(noise).numpy()})
            for token in out[0][:draws, 0].tolist():
                tokens.append(token)
                if on_token is not None:
                    on_token(token)
            feed.update(logits=out[1], **dict(zip(self.parts, out[2:], strict=True)))
        return tokens


def open_sessions(folder: str | Path, threads: int = 1) -> tuple[dict, dict]:
    """An export folder's ``export.json`` and an ONNX Runtime session for each graph, on
    ``threads`` threads (one stream: a second thread only waits)."""
    import onnxruntime as ort

    folder = Path(folder)
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sessions = {
        name: ort.InferenceSession(str(folder / graph["file"]), options)
        for name, graph in meta["graphs"].items()
    }
    return meta, sessions


def run_graph(session, feed: dict) -> list[Tensor]:
    """One session run, its inputs given as tensors (by input name), outputs as tensors."""
    wanted = {i.name for i in session.get_inputs()}  # an exporter drops an unread input
    arrays = {name: value.numpy() for name, value in feed.items() if name in wanted}
    return [torch.from_numpy(out) for out in session.run(None, arrays)]


def onnx_folder(run_dir: str | Path, checkpoint: str = "best", quantize=None) -> Path:
    """The run's ONNX export (``RUN_DIR/export-onnx``, or ``export-onnx-int8`` with
    ``quantize``; written first when it is missing); a ValueError when it holds other weights
    than the run's ``checkpoint`` (the run trained on after it was exported)."""
    run_dir = layout.check_run_dir(run_dir)
    folder = export_folder(run_dir, "onnx", quantize)
    if not folder.exists():
        export_run(run_dir, "onnx", folder, checkpoint, quantize)
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    opened = lifecycle.open_checkpoint(run_dir, checkpoint)
    if meta["weights_sha256"] != weights_sha256(run_dir, opened.checkpoint):
        raise ValueError(
            f"{folder} holds other weights than {run_dir}'s {opened.checkpoint} checkpoint "
            "(exported before the run trained on); remove it to export again"
        )
    return folder


def onnx_run(run_dir: str | Path, checkpoint: str = "best", quantize: str | None = None):
    """The task's loaded run (its export module's ``load``) with its model replaced by the
    one on ONNX Runtime (``onnx_model``)."""
    module = exporter(lifecycle.task_of(run_dir), run_dir)
    folder = onnx_folder(run_dir, checkpoint, quantize)
    run = module.load(run_dir, checkpoint)
    run.model = module.onnx_model(folder, run)
    return run


def onnx_model(
    run_dir: str | Path, checkpoint: str = "best", quantize: str | None = None
) -> OnnxLanguageModel:
    """The char model of a run on ONNX Runtime (see :func:`onnx_folder`)."""
    return OnnxLanguageModel(onnx_folder(run_dir, checkpoint, quantize))
