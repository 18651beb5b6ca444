"""Tagged sentences -> the tagger's batches: word ids, character ids, tag ids.

``TagEncoder.fit`` builds the word vocabulary (and, for character features, the character
vocabulary) on the training split only; ``batch`` pads a list of encoded sentences into the
tagger's keyword arguments: words (N, T), lengths (N,), and chars (N, T, C) with
char_lengths (N, T), 0 for a padded word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnkit.data.buckets import pad_ids
from rnnkit.data.vocab import Vocab
from rnnkit.tasks.classify_data import build_vocab, encode_tokens


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
    def fit(cls, data, config) -> TagEncoder:
        """The vocabularies of the training split's words (and characters) of ``data`` (a
        ``TaggingData``) under ``config`` (a ``TagConfig``)."""
        settings = config.data
        train = [data.sentences[i] for i in data.splits["train"]]
        fold = str.lower if settings.lowercase else str
        words = build_vocab(([fold(w) for w in s] for s in train), "word", settings.min_count)
        chars = None
        if config.model.char_features:
            chars = build_vocab((word for s in train for word in s), "char", 1)
        return cls(words, chars, data.tag_set, settings.lowercase, settings.max_word_chars)

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
