"""Tokens and vocabularies of labelled examples."""

import numpy as np
import pytest

from rnnkit.data.encoders import build_vocab, encode_tokens, tokenize_words


def test_tokenize_words():
    assert tokenize_words("Don't STOP -- it's 2 good!") == [
        "don't", "stop", "-", "-", "it's", "2", "good", "!",
    ]  # fmt: skip
    assert tokenize_words("") == []


def test_vocab_keeps_frequent_training_symbols():
    vocab = build_vocab([["b", "a", "b"], ["c", "b", "a"]], "word", min_count=2)
    assert vocab.symbols == ["a", "b"]
    np.testing.assert_array_equal(encode_tokens(["b", "c", "zzz"], vocab), [2, 0, 0])
    with pytest.raises(ValueError, match="min_count"):
        build_vocab([], "word", min_count=0)
