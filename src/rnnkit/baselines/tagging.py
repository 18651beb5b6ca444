"""Tagging baselines: the most frequent tag of each word, and of the whole training split.

    tag(w) = the tag w carries most often in the training split (ties: the tag that is more
             frequent overall, then the alphabetically first), for a word seen in training;
             the overall most frequent tag for a word never seen

Words are matched exactly as written (case kept: "May" and "may" are different words).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence


class MostFrequentTag:
    """The per-word most-frequent-tag tagger, fitted on the training sentences."""

    def __init__(self, sentences: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]):
        overall: Counter = Counter()
        by_word: defaultdict[str, Counter] = defaultdict(Counter)
        for words, labels in zip(sentences, tags, strict=True):
            for word, tag in zip(words, labels, strict=True):
                overall[tag] += 1
                by_word[word][tag] += 1
        if not overall:
            raise ValueError("the training split holds no tagged words")
        rank = {tag: (-count, tag) for tag, count in overall.items()}
        self.default = min(overall, key=rank.__getitem__)
        self.table = {
            word: min(counts, key=lambda tag, c=counts: (-c[tag], *rank[tag]))
            for word, counts in by_word.items()
        }

    def tag(self, words: Sequence[str]) -> list[str]:
        return [self.table.get(word, self.default) for word in words]

    def tag_all(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        return [self.tag(words) for words in sentences]
