"""The studio's Neurons view: what each unit of a char model does over a text.

Karpathy, Johnson and Fei-Fei ("Visualizing and Understanding Recurrent Networks", 2015)
coloured text by one cell's activation and found cells that track quotes, line length and
bracket depth, and they plotted each gate's saturation: the fraction of steps a unit's gate
spends below 0.1 (left-saturated) or above 0.9 (right-saturated). Here, for any text:

    traced = trace_text(model, vocab, text)   # every unit's h (and c) at every character
    traced.unit(layer=1, kind="c", unit=17)   # one unit's activations, (T,)
    best_units(traced)                         # per feature of the text, the unit that tracks it
    saturation(model, traced)                  # per layer and gate, each unit's two fractions

A feature is a number per character computed from the text alone (``FEATURES``); a unit
"tracks" it by the Pearson correlation of its activation with it over the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from rnnkit.data.vocab import Vocab
from rnnkit.diagnostics.saturation import gate_activations
from rnnkit.models.recurrent import get_core
from rnnkit.nn.layers import layer_cells

MAX_TEXT = 5000  # characters of text a request may trace
SATURATED = (0.1, 0.9)  # a gate below / above these is left- / right-saturated, as in the paper


@dataclass
class Traced:
    """The text's characters and every unit's activation: ``values[layer, kind]`` (T, H), kind
    0 = h, 1 = c (an LSTM's cell state); ``inputs[layer]`` (T, D) is what the layer read."""

    chars: list[str]
    kinds: tuple[str, ...]
    values: np.ndarray  # (L, K, T, H)
    inputs: list[torch.Tensor]

    @property
    def layers(self) -> int:
        return self.values.shape[0]

    @property
    def units(self) -> int:
        return self.values.shape[3]

    def unit(self, layer: int, kind: str, unit: int) -> np.ndarray:
        """One unit's activation over the text, (T,); a ValueError names what exists."""
        if not 0 <= layer < self.layers:
            raise ValueError(f"layer must be in 0..{self.layers - 1}, got {layer}")
        if kind not in self.kinds:
            raise ValueError(f"kind must be one of {', '.join(self.kinds)}, got {kind!r}")
        if not 0 <= unit < self.units:
            raise ValueError(f"unit must be in 0..{self.units - 1}, got {unit}")
        return self.values[layer, self.kinds.index(kind), :, unit]


def trace_text(model, vocab: Vocab, text: str) -> Traced:
    """Every unit's h (and c) at every character of ``text`` (characters the model does not
    know are read as <unk>)."""
    if not text:
        raise ValueError("give some text to trace")
    if len(text) > MAX_TEXT:
        raise ValueError(f"the text has {len(text)} characters; at most {MAX_TEXT}")
    ids = torch.tensor(vocab.encode(text), dtype=torch.long).unsqueeze(1)  # (T, 1)
    x, steps = model.trace(ids)
    kinds = ("h", "c") if get_core(model.config.cell).has_cell_state else ("h",)
    layers = []
    for k in range(len(steps.steps)):
        stacked = steps.stacked(k)  # (T, 1, H) or a pair of them
        parts = stacked if isinstance(stacked, tuple) else (stacked,)
        layers.append(torch.stack([part[:, 0] for part in parts]))  # (K, T, H)
    values = torch.stack(layers).float().numpy()  # (L, K, T, H)
    inputs = [x[:, 0]] + [torch.from_numpy(values[k, 0]) for k in range(len(layers) - 1)]
    return Traced(list(text), kinds, values, inputs)


def _inside_quotes(text: str) -> np.ndarray:
    inside, out = False, []
    for char in text:
        if char == '"':
            inside = not inside
        out.append(inside)
    return np.array(out, dtype=np.float64)


def _bracket_depth(text: str) -> np.ndarray:
    depth, out = 0, []
    for char in text:
        depth = depth + 1 if char in "([{" else max(0, depth - 1) if char in ")]}" else depth
        out.append(depth)
    return np.array(out, dtype=np.float64)


def _position_in_line(text: str) -> np.ndarray:
    position, out = 0, []
    for char in text:
        position = 0 if char == "\n" else position + 1
        out.append(position)
    return np.array(out, dtype=np.float64)


def _word_start(text: str) -> np.ndarray:
    return np.array(
        [c.isalnum() and (i == 0 or not text[i - 1].isalnum()) for i, c in enumerate(text)],
        dtype=np.float64,
    )


SPEAKER = re.compile(r"^[A-Z][A-Za-z' ]*:$")  # "ROMEO:", "First Citizen:" on a line alone


def _speaker_name(text: str) -> np.ndarray:
    out = []
    for line in text.split("\n"):
        out += [1.0 if SPEAKER.match(line) else 0.0] * len(line) + [0.0]
    return np.array(out[: len(text)], dtype=np.float64)


FEATURES: dict[str, tuple[str, Callable[[str], np.ndarray]]] = {
    "quotes": ("inside double quotes", _inside_quotes),
    "brackets": ("bracket depth: ( [ { open, ) ] } close", _bracket_depth),
    "line": ("position in the line", _position_in_line),
    "word": ("first character of a word", _word_start),
    "speaker": ("inside a speaker's name (a line such as ROMEO:)", _speaker_name),
}


def correlations(feature: np.ndarray, activations: np.ndarray) -> np.ndarray:
    """Pearson r of ``feature`` (T,) with each column of ``activations`` (T, H); 0 where
    either is constant over the text."""
    f = feature - feature.mean()
    a = activations - activations.mean(axis=0)
    scale = np.sqrt((f**2).sum() * (a**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (f @ a) / scale
    return np.where(scale > 0, r, 0.0)


def best_units(traced: Traced) -> list[dict]:
    """Per feature of ``FEATURES``: the unit (layer, kind, index) whose activation correlates
    most strongly with it over the text, and r; features constant over the text are left out."""
    text = "".join(traced.chars)
    found = []
    for name, (description, compute) in FEATURES.items():
        feature = compute(text)
        if feature.std() == 0:
            continue
        best = None
        for layer in range(traced.layers):
            for k, kind in enumerate(traced.kinds):
                r = correlations(feature, traced.values[layer, k])
                unit = int(np.abs(r).argmax())
                if best is None or abs(r[unit]) > abs(best["r"]):
                    best = {"layer": layer, "kind": kind, "unit": unit, "r": float(r[unit])}
        found.append({"feature": name, "description": description, **best})
    return found


GATE_NAMES = {"i": "input", "f": "forget", "o": "output", "r": "reset", "z": "update"}


def gate_values(model, traced: Traced) -> list[dict[str, np.ndarray]]:
    """Per layer, each sigmoid gate's value at every step, (T, H): LSTM input, forget and
    output gates, GRU reset and update gates (``rnnkit.diagnostics.saturation`` recomputes
    them with the cell's own equations); ``[]`` for cells without such gates."""
    out = []
    for k, cell in enumerate(layer_cells(model.recurrent)):
        kinds = range(len(traced.kinds))  # h, and c for an LSTM
        device = next(cell.parameters()).device  # the studio's --device
        states = [torch.from_numpy(traced.values[k, j]).unsqueeze(1).to(device) for j in kinds]
        prev = [torch.cat([torch.zeros_like(s[:1]), s[:-1]]) for s in states]  # (T, 1, H)
        x = traced.inputs[k].float().unsqueeze(1).to(device)  # (T, 1, D)
        with torch.no_grad():
            gates = gate_activations(cell, x, tuple(prev) if len(prev) == 2 else prev[0])
        out.append(
            {
                GATE_NAMES[name]: values[:, 0].cpu().numpy()
                for name, (values, kind) in gates.items()
                if kind == "sigmoid"
            }
        )
    return out if any(out) else []


def saturation(model, traced: Traced) -> list[dict]:
    """Per layer and gate, each unit's fraction of steps left-saturated (< 0.1) and
    right-saturated (> 0.9)."""
    low, high = SATURATED
    return [
        {
            gate: {
                "left": np.round((values < low).mean(axis=0), 4).tolist(),
                "right": np.round((values > high).mean(axis=0), 4).tolist(),
            }
            for gate, values in layer.items()
        }
        for layer in gate_values(model, traced)
    ]
