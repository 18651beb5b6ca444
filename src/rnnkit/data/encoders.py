"""From labelled examples to model inputs: tokens, vocabularies, input encoders.

Shared by the classification and tagging tasks (``rnnkit.tasks.classify``, ``tag``).

- ``tokenize_words``: lowercase words (letters, digits, inner apostrophes) and single
  punctuation marks: ``"Don't stop!" -> ["don't", "stop", "!"]``.
- ``build_vocab``: the symbols of the *training split* seen at least ``min_count`` times, in
  an ``rnnkit.data.vocab.Vocab`` (``<unk>`` at id 0 for everything else). With
  ``min_count >= 2`` the rare training words are ``<unk>`` too, so the model learns what to
  make of a word it does not know.
- ``InputEncoder``: a classification set's raw inputs (text, or real-valued frames) -> the
  arrays the classifier reads, with the vocabulary of the training split, padded into batches
  by ``rnnkit.data.buckets``.
- ``TagEncoder``: tagged sentences -> word ids (and character ids) and tag ids; its ``batch``
  pads encoded sentences into the tagger's keyword arguments: words (N, T), lengths (N,), and
  chars (N, T, C) with char_lengths (N, T), 0 for a padded word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rnnkit.data.buckets import pad_ids, pad_vectors
from rnnkit.data.vocab import UNK_TOKEN, Vocab
from rnnkit.options import check_int

KINDS = ("chars", "words", "vectors")
WORD_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")


def tokenize_words(text: str) -> list[str]:
    """Lowercase word and punctuation tokens of ``text`` (see the module docstring)."""
    return WORD_TOKEN.findall(text.lower())


def build_vocab(token_lists: Iterable[Sequence[str]], level: str, min_count: int = 1) -> Vocab:
    """The sorted symbols that occur at least ``min_count`` times in ``token_lists``."""
    check_int("min_count", min_count)
    counts = Counter(token for tokens in token_lists for token in tokens)
    symbols = sorted(s for s, n in counts.items() if n >= min_count and s != UNK_TOKEN)
    return Vocab(symbols, level=level)


def encode_tokens(tokens: Sequence[str], vocab: Vocab) -> np.ndarray:
    """int64 ids of ``tokens``; an unknown token is ``vocab.unk_id``."""
    return np.array([vocab.stoi.get(token, vocab.unk_id) for token in tokens], dtype=np.int64)


class InputEncoder:
    """Raw inputs of one kind -> the arrays the model reads.

    Text: characters (``level="char"``) or ``tokenize_words`` tokens (``"word"``) -> ids of
    ``vocab`` (an empty text becomes one ``<unk>``, so every sequence has a step). Vectors:
    (T, F) float32 frames. ``max_length`` keeps the first steps only.
    """

    def __init__(
        self,
        kind: str,
        level: str | None,
        vocab: Vocab | None,
        features: int | None = None,
        max_length: int | None = None,
    ):
        self.kind, self.level, self.vocab = kind, level, vocab
        self.features, self.max_length = features, max_length

    @classmethod
    def fit(
        cls,
        data,
        level: str | None = None,
        min_count: int | None = None,
        max_length: int | None = None,
    ) -> InputEncoder:
        """The encoder for ``data`` (a ``ClassificationData``), its vocabulary built on the
        training split: ``level`` None is characters for names, words for other text;
        ``min_count`` None is 1 for characters, 2 for words."""
        if data.kind not in KINDS:
            raise ValueError(f"unknown kind of input {data.kind!r}; expected {', '.join(KINDS)}")
        train = [data.inputs[i] for i in data.splits["train"]]
        if data.kind == "vectors":
            if level is not None:
                raise ValueError(f"{data.name} holds vectors, not text; --level does not apply")
            return cls("vectors", None, None, int(np.asarray(train[0]).shape[1]), max_length)
        level = level or ("char" if data.kind == "chars" else "word")
        min_count = min_count or (1 if level == "char" else 2)
        encoder = cls("text", level, None, None, max_length)
        encoder.vocab = build_vocab((encoder.tokens(text) for text in train), level, min_count)
        return encoder

    @property
    def baseline_kind(self) -> str:
        """The baseline features that suit these inputs: chars, words or vectors."""
        if self.kind == "vectors":
            return "vectors"
        return "chars" if self.level == "char" else "words"

    def tokens(self, text: str) -> list[str]:
        return list(text) if self.level == "char" else tokenize_words(text)

    def encode(self, raw) -> np.ndarray:
        if self.kind == "vectors":
            frames = np.asarray(raw, dtype=np.float32)
            if frames.ndim != 2 or frames.shape[1] != self.features or len(frames) == 0:
                raise ValueError(
                    f"expected a sequence of frames of shape (T >= 1, {self.features}), got "
                    f"{frames.shape}"
                )
            return frames[: self.max_length]
        ids = encode_tokens(self.tokens(raw), self.vocab)[: self.max_length]
        return ids if len(ids) else np.array([Vocab.unk_id], dtype=np.int64)

    def batch(self, rows: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded inputs and lengths of encoded ``rows``."""
        return pad_vectors(rows) if self.kind == "vectors" else pad_ids(rows)

    @property
    def input_size(self) -> int:
        return self.features if self.kind == "vectors" else len(self.vocab)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "level": self.level,
            "features": self.features,
            "max_length": self.max_length,
        }

    @classmethod
    def from_dict(cls, values: dict, vocab: Vocab | None) -> InputEncoder:
        return cls(values["kind"], values["level"], vocab, values["features"], values["max_length"])


@dataclass
class EncodedSentence:
    words: np.ndarray  # (T,) word ids
    chars: list[np.ndarray] | None  # T arrays of character ids, or None


class TagEncoder:
    """Sentences -> word ids (and character ids); tag names <-> tag ids."""

    def __init__(
        self,
        words: Vocab,
        chars: Vocab | None,
        tag_set: list[str],
        lowercase: bool,
        max_word_chars: int,
    ):
        self.words, self.chars, self.tag_set = words, chars, list(tag_set)
        self.lowercase, self.max_word_chars = lowercase, max_word_chars
        self.tag_index = {tag: k for k, tag in enumerate(self.tag_set)}

    @classmethod
    def fit(
        cls, data, lowercase: bool, min_count: int, max_word_chars: int, char_features: bool
    ) -> TagEncoder:
        """The vocabularies of the training split's words (and, with ``char_features``, its
        characters) of ``data`` (a ``TaggingData``)."""
        train = [data.sentences[i] for i in data.splits["train"]]
        fold = str.lower if lowercase else str
        words = build_vocab(([fold(w) for w in s] for s in train), "word", min_count)
        chars = None
        if char_features:
            chars = build_vocab((word for s in train for word in s), "char", 1)
        return cls(words, chars, data.tag_set, lowercase, max_word_chars)

    def encode(self, sentence: list[str]) -> EncodedSentence:
        if not sentence:
            raise ValueError("a sentence to tag needs at least one word")
        folded = [w.lower() for w in sentence] if self.lowercase else sentence
        chars = None
        if self.chars is not None:
            chars = [encode_tokens(list(w[: self.max_word_chars]), self.chars) for w in sentence]
        return EncodedSentence(encode_tokens(folded, self.words), chars)

    def encode_tags(self, tags: list[str]) -> np.ndarray:
        return np.array([self.tag_index[tag] for tag in tags], dtype=np.int64)

    def batch(self, rows: list[EncodedSentence]) -> dict:
        """The tagger's keyword arguments for ``rows``: padded words, lengths, characters."""
        words, lengths = pad_ids([row.words for row in rows])  # (N, T)
        batch = {"words": words, "lengths": lengths}
        if self.chars is not None:
            longest = max(len(c) for row in rows for c in row.chars)
            chars = torch.zeros((*words.shape, longest), dtype=torch.long)  # (N, T, C)
            char_lengths = torch.zeros(words.shape, dtype=torch.long)  # (N, T)
            for i, row in enumerate(rows):
                for t, ids in enumerate(row.chars):
                    chars[i, t, : len(ids)] = torch.from_numpy(ids)
                    char_lengths[i, t] = len(ids)
            batch.update(chars=chars, char_lengths=char_lengths)
        return batch

    def to_dict(self) -> dict:
        return {
            "tag_set": self.tag_set,
            "lowercase": self.lowercase,
            "max_word_chars": self.max_word_chars,
        }
