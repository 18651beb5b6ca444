"""A tiny parallel corpus: an English-like toy language and its Spanish-like translation, with
a fixed word order change (adjective after the noun) so that the model has something to align.
"""

from __future__ import annotations

import random
from pathlib import Path

NOUNS = {"dog": "perro", "cat": "gato", "man": "hombre", "king": "rey", "horse": "caballo"}
ADJECTIVES = {"red": "rojo", "old": "viejo", "good": "bueno", "small": "chico"}
VERBS = {"sees": "ve", "loves": "ama", "finds": "halla"}


def toy_pairs(count: int = 80, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` distinct (English, Spanish) sentences such as ("The red dog sees the cat.",
    "El perro rojo ve el gato.")."""
    rng = random.Random(seed)
    pairs: dict[str, str] = {}
    while len(pairs) < count:
        noun, adjective, verb, other = (
            rng.choice(sorted(NOUNS)),
            rng.choice(sorted(ADJECTIVES)),
            rng.choice(sorted(VERBS)),
            rng.choice(sorted(NOUNS)),
        )
        english = f"The {adjective} {noun} {verb} the {other}."
        spanish = f"El {NOUNS[noun]} {ADJECTIVES[adjective]} {VERBS[verb]} el {NOUNS[other]}."
        pairs[english] = spanish
    return list(pairs.items())


def write_pairs(path: Path, count: int = 80) -> Path:
    """The toy corpus as a ``source<TAB>target`` file."""
    path.write_text("".join(f"{s}\t{t}\n" for s, t in toy_pairs(count)), encoding="utf-8")
    return path


def toy_values(path: Path, **overrides) -> dict:
    """Dotted config keys for a tiny seq2seq on the pairs file ``path`` (:func:`write_pairs`),
    every word kept, with ``overrides``."""
    values = {
        "data.dataset": str(path),
        "data.max_words": None,
        "data.min_count": 1,
        "data.batch_size": 8,
        "model.embedding_size": 8,
        "model.hidden_size": 12,
    }
    return {**values, **overrides}
