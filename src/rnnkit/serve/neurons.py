"""The studio's Neurons view: what each unit of a recurrent run does over a text.

Karpathy, Johnson and Fei-Fei ("Visualizing and Understanding Recurrent Networks", 2015)
coloured text by one cell's activation and found cells that track quotes, line length and
bracket depth, and they plotted each gate's saturation: the fraction of steps a unit's gate
spends below 0.1 (left-saturated) or above 0.9 (right-saturated). Here, for any text:

    traced = tracing.trace(model, reading)     # every unit's h (and c) at every step
    traced.unit(layer=1, kind="c", unit=17)   # one unit's activations, (T,)
    best_units(traced)                         # per feature of the text, the unit that tracks it
    saturation(traced)                         # per cell and gate, each unit's two fractions

A feature is a number per step computed from the text alone: per character for a model that
reads characters (``FEATURES``), per token for one that reads words (``TOKEN_FEATURES``); a
unit "tracks" it by the Pearson correlation of its activation with it over the text. A
classifier of vectors reads frames, not text: only the position in the input is searched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import torch

from rnnkit.diagnostics.saturation import gate_activations, measured_cell
from rnnkit.serve.tracing import Traced

MAX_TEXT = 5000  # characters of text a request may trace
SATURATED = (0.1, 0.9)  # a gate below / above these is left- / right-saturated, as in the paper


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


def _token_quotes(tokens: list[str]) -> np.ndarray:
    return _inside_quotes("".join('"' if '"' in t else "x" for t in tokens))


def _token_brackets(tokens: list[str]) -> np.ndarray:
    return _bracket_depth("".join(t if t in "()[]{}" else "x" for t in tokens))


TOKEN_FEATURES: dict[str, tuple[str, Callable[[list[str]], np.ndarray]]] = {
    "position": ("position in the input", lambda ts: np.arange(len(ts), dtype=np.float64)),
    "quotes": ("inside double quotes", _token_quotes),
    "brackets": ("bracket depth: ( [ { open, ) ] } close", _token_brackets),
    "punctuation": (
        "a punctuation token",
        lambda ts: np.array([not any(c.isalnum() for c in t) for t in ts], dtype=np.float64),
    ),
    "capital": (
        "a word that starts with a capital",
        lambda ts: np.array([t[:1].isupper() for t in ts], dtype=np.float64),
    ),
}


FRAME_FEATURES = {"position": TOKEN_FEATURES["position"]}  # frames of vectors: no text
FRAMES_NOTE = (
    "this run reads frames of vectors, not text: the features of text (quotes, brackets, "
    "words...) do not apply; only the position in the input is searched"
)


def features_note(traced: Traced) -> str | None:
    """What the feature search leaves out for this input (None: nothing)."""
    return FRAMES_NOTE if traced.level == "frame" else None


def features_of(traced: Traced) -> dict[str, tuple[str, np.ndarray]]:
    """Each feature's description and values over the traced input (one per step)."""
    if traced.level == "frame":
        features = FRAME_FEATURES
        return {name: (about, f(traced.pieces)) for name, (about, f) in features.items()}
    if traced.level == "char":
        text = "".join(traced.pieces)
        return {name: (about, compute(text)) for name, (about, compute) in FEATURES.items()}
    return {
        name: (about, compute(traced.pieces)) for name, (about, compute) in TOKEN_FEATURES.items()
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
    found = []
    for name, (description, feature) in features_of(traced).items():
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


def gate_values(traced: Traced) -> list[dict[str, np.ndarray]]:
    """Per cell, each sigmoid gate's value at every step, (T, H): LSTM input, forget and
    output gates, GRU reset and update gates, and those of every other cell of rnnkit.nn
    (``rnnkit.diagnostics.saturation`` recomputes them with the cell's own code); ``[]`` for
    cells without such gates."""
    out = []
    for cell, x, previous in zip(traced.modules, traced.inputs, traced.previous, strict=True):
        device = next(cell.parameters()).device  # the studio's --device
        prev = tuple(part.to(device) for part in previous)  # (T, 1, H) each
        with torch.no_grad():
            x = x.unsqueeze(1).to(device, next(cell.parameters()).dtype)  # (T, 1, D)
            gates = gate_activations(cell, x, prev if len(prev) == 2 else prev[0])
        titles = {**GATE_NAMES, **getattr(measured_cell(cell), "gate_titles", {})}
        out.append(
            {
                titles.get(name, name): values[:, 0].float().cpu().numpy()
                for name, (values, kind) in gates.items()
                if kind == "sigmoid"
            }
        )
    return out if any(out) else []


def saturation(traced: Traced) -> list[dict]:
    """Per cell and gate, each unit's fraction of steps left-saturated (< 0.1) and
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
        for layer in gate_values(traced)
    ]
