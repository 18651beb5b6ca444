"""A training text's record: where it came from and its sha256, checked when it is read again."""

import hashlib

import numpy as np
import pytest

from rnnkit.data.encoding import encode_corpus, encode_with_vocab
from rnnkit.data.provenance import read_corpus, read_recorded_corpus

TEXT = "to be, or not to be: that is the question.\n" * 20


def test_a_file_is_recorded_and_read_again(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    text, record = read_corpus(str(path), max_chars=100)
    assert text == TEXT[:100]
    assert record == {
        "source": str(path),
        "kind": "file",
        "path": str(path.resolve()),
        "chars": 100,
        "sha256": hashlib.sha256(TEXT[:100].encode()).hexdigest(),
    }
    assert read_recorded_corpus(record, max_chars=100) == text
    path.write_text("x" + TEXT, encoding="utf-8")
    with pytest.raises(ValueError, match=r"has changed since this run started \(100 characters"):
        read_recorded_corpus(record, max_chars=100)


def test_a_saved_vocabulary_encodes_the_same_parts():
    built = encode_corpus(TEXT, "char", (0.8, 0.1, 0.1))
    again = encode_with_vocab(TEXT, built.vocab, (0.8, 0.1, 0.1))
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(again, part), getattr(built, part))
