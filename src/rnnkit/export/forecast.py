"""A forecaster as graphs: the window read over a padded batch with lengths, and (recursive
models) one step that feeds a prediction back.

    read:  values (N, T) float32, lengths (N,) int64, h (L, N, H) [, c (L, N, H)]
           -> predictions (N, T, O), h_out [, c_out]
    step:  values (N,) float32, h [, c]  -> prediction (N,), h_out [, c_out]   (recursive)

Values are in the run's scaled units (``export.json``'s ``scaler``, and ``relative``: each
window less its last value). ``predictions[n, t]`` is what the model predicts after reading
``values[n, :t+1]``: O = 1 (the next value) for a recursive model, O = the horizon for a
direct one; read it at ``t = lengths[n] - 1``. The state outputs are each row's state after
its last real value, so a recursive forecast is ``read``, then ``step`` on each prediction.
Padding is handled inside the graph (ONNX: the recurrent operator's ``sequence_lens``; pt2: a
masked scan).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from rnnkit.export.graphs import Graph
from rnnkit.models.forecaster import Forecaster, ForecasterConfig
from rnnkit.models.recurrent import get_core
from rnnkit.tasks import lifecycle
from rnnkit.tasks.forecast import TASK_NAME


@dataclass
class LoadedForecaster:
    run_dir: Path
    model: Forecaster
    checkpoint: str
    step: int
    meta: dict


def state_names(model: Forecaster) -> list[str]:
    return ["h", "c"] if get_core(model.config.cell).has_cell_state else ["h"]


class ReadGraph(nn.Module):
    """The core over the padded window from the given state, the head at every step."""

    def __init__(self, model: Forecaster):
        super().__init__()
        self.model, self.pair = model, len(state_names(model)) == 2

    def forward(self, values: Tensor, lengths: Tensor, h: Tensor, c: Tensor | None = None):
        state = (h, c) if self.pair else h
        output, new = self.model.core(values.unsqueeze(-1), state, lengths=lengths)
        predictions = self.model.head(output)  # (N, T, O)
        return (predictions, *(new if self.pair else (new,)))


class StepGraph(nn.Module):
    """``Forecaster.step``: one value a row in, the next value's prediction out."""

    def __init__(self, model: Forecaster):
        super().__init__()
        self.model, self.pair = model, len(state_names(model)) == 2

    def forward(self, values: Tensor, h: Tensor, c: Tensor | None = None):
        prediction, new = self.model.step(values, (h, c) if self.pair else h)
        return (prediction, *(new if self.pair else (new,)))


def _build(values: dict) -> Forecaster:
    values = dict(values)
    horizon = values.pop("horizon")
    return Forecaster(ForecasterConfig(**values), horizon)


def load(run_dir, checkpoint: str = "best") -> LoadedForecaster:
    opened, model = lifecycle.open_model(run_dir, checkpoint, TASK_NAME, _build)
    meta = opened.loaded.meta["task"]
    return LoadedForecaster(opened.run_dir, model, opened.checkpoint, opened.step, meta)


def graphs(run: LoadedForecaster, fmt: str) -> dict[str, Graph]:
    model = run.model
    c = model.config
    names = state_names(model)
    state = {part: torch.zeros(c.num_layers, 2, c.hidden_size) for part in names}
    outs = [f"{part}_out" for part in names]
    axes = {part: {1: "N"} for part in (*names, *outs)}
    read_axes = {"values": {0: "N", 1: "T"}, "lengths": {0: "N"}, "predictions": {0: "N", 1: "T"}}
    read_inputs = {"values": torch.zeros(2, 3), "lengths": torch.tensor([3, 2]), **state}
    made = {
        "read": Graph(
            ReadGraph(model).eval(), read_inputs, ["predictions", *outs],
            {**axes, **read_axes}, over_time=True,
        )
    }  # fmt: skip
    if c.mode == "recursive":
        step_axes = {**axes, "values": {0: "N"}, "prediction": {0: "N"}}
        step_inputs = {"values": torch.zeros(2), **state}
        made["step"] = Graph(StepGraph(model).eval(), step_inputs, ["prediction", *outs], step_axes)
    return made


def describe(run: LoadedForecaster) -> dict:
    keys = ("window", "relative", "scaler")
    return {
        "model": run.meta["model"],
        **{key: run.meta[key] for key in keys if key in run.meta},
        "state": {
            "parts": state_names(run.model),
            "layout": "(num_layers, N, hidden_size) each; zeros to start; feed *_out back",
        },
    }


class OnnxForecaster(nn.Module):
    """``Forecaster.forecast`` (rnnkit's own: read the window, feed predictions back or
    iterate blocks) on the exported read and step graphs."""

    forecast = Forecaster.forecast
    _forecast_direct = Forecaster._forecast_direct

    def __init__(self, folder, model: Forecaster):
        super().__init__()
        from rnnkit.export.runtime import open_sessions

        self.meta, self.sessions = open_sessions(folder)
        self.config, self.horizon = model.config, model.horizon
        self.parts = state_names(model)

    def _read(self, inputs: Tensor):
        from rnnkit.export.runtime import run_graph

        if inputs.dim() != 2:
            raise ValueError(f"inputs must be (N, T) values, got shape {tuple(inputs.shape)}")
        n, steps = inputs.shape
        zeros = torch.zeros(self.config.num_layers, n, self.config.hidden_size)
        feed = {"values": inputs.float(), "lengths": torch.full((n,), steps, dtype=torch.long)}
        out = run_graph(self.sessions["read"], {**feed, **{p: zeros for p in self.parts}})
        return out[0], self._wrap(out[1:])

    def _wrap(self, parts: list[Tensor]):
        return tuple(parts) if len(parts) == 2 else parts[0]

    def step(self, x_t: Tensor, state):
        from rnnkit.export.runtime import run_graph

        tensors = state if isinstance(state, tuple) else (state,)
        feed = {"values": x_t.float(), **dict(zip(self.parts, tensors, strict=True))}
        out = run_graph(self.sessions["step"], feed)
        return out[0], self._wrap(out[1:])

    def forward(self, inputs: Tensor, targets=None):
        if targets is not None:
            raise ValueError("the ONNX backend forecasts; it does not score targets")
        predictions, _ = self._read(inputs)
        if self.config.mode == "direct":
            return predictions[:, -1], None
        return predictions.squeeze(-1), None


def onnx_model(folder, run) -> OnnxForecaster:
    return OnnxForecaster(folder, run.model)
