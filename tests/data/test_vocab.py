"""Vocabulary: deterministic ids, <unk>, round trips through encode/decode and JSON."""

import json

import numpy as np
import pytest

from rnnkit.data.vocab import UNK_TOKEN, Vocab, split_words


def test_char_vocab_is_sorted_with_unk_first():
    vocab = Vocab.build("hello world")
    assert vocab.itos == [UNK_TOKEN, " ", "d", "e", "h", "l", "o", "r", "w"]
    assert len(vocab) == 9 and vocab.unk_id == 0
    assert vocab.symbols == [" ", "d", "e", "h", "l", "o", "r", "w"]
    # Order of the text does not matter, only its set of characters.
    assert Vocab.build("dlrow olleh") == vocab


def test_encode_decode_round_trip_and_unknowns():
    vocab = Vocab.build("abc\n")
    assert vocab.encode("cab\n") == [4, 2, 3, 1]
    assert vocab.decode([4, 2, 3, 1]) == "cab\n"
    assert vocab.encode("axb") == [2, 0, 3]
    assert vocab.decode(vocab.encode("axb")) == f"a{UNK_TOKEN}b"
    assert vocab.unknown_symbols("a zebra!") == [" ", "!", "e", "r", "z"]
    assert vocab.unknown_symbols("abba") == []
    with pytest.raises(ValueError, match="outside this vocabulary"):
        vocab.decode([5])


def test_encode_array_matches_encode_including_wide_and_unknown_characters():
    train = "Straße, naïve café — 日本 🙂\n"
    vocab = Vocab.build(train)
    text = train + "unseen: Ω 😀 \x00 \U0010ffff"
    array = vocab.encode_array(text)
    assert array.dtype == np.int64
    assert array.tolist() == vocab.encode(text)
    assert vocab.decode(vocab.encode_array(train)) == train
    assert Vocab([]).encode_array("abc").tolist() == [0, 0, 0]


def test_word_level_keeps_spaces_and_punctuation():
    text = "To be, or not to be:\n  that is the question."
    assert split_words("be, or\n  not") == ["be", ",", " ", "or", "\n  ", "not"]
    vocab = Vocab.build(text, level="word")
    assert vocab.decode(vocab.encode(text)) == text
    assert vocab.encode_array(text).tolist() == vocab.encode(text)
    assert vocab.unknown_symbols("to be, perchance to dream") == ["dream", "perchance"]
    frequent = Vocab.build(text, level="word", min_count=2)
    assert frequent.symbols == [" ", "be"]  # "To" and "to" are different words


def test_json_round_trip(tmp_path):
    for vocab in [Vocab.build("Ünïcødé 🙂 text\n"), Vocab.build("a b, a c.", level="word")]:
        restored = Vocab.from_json(vocab.to_json())
        assert restored == vocab and restored.level == vocab.level
        assert restored.encode("a b") == vocab.encode("a b")
        vocab.save(tmp_path / "vocab.json")
        assert Vocab.load(tmp_path / "vocab.json") == vocab
    document = json.loads(Vocab.build("ba").to_json())
    assert document == {
        "format": "rnnkit.vocab",
        "version": 1,
        "level": "char",
        "unk_token": UNK_TOKEN,
        "symbols": ["a", "b"],
    }


def test_bad_vocabularies_are_rejected():
    with pytest.raises(ValueError, match="allowed: char, word"):
        Vocab.build("abc", level="byte")
    with pytest.raises(ValueError, match="distinct"):
        Vocab(["a", "a"])
    with pytest.raises(ValueError, match="single characters"):
        Vocab(["ab"])
    with pytest.raises(ValueError, match="cannot also be a symbol"):
        Vocab(["a", UNK_TOKEN], level="word")
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build("abc", min_count=0)
    with pytest.raises(ValueError, match="cannot be parsed"):
        Vocab.from_json("{")
    with pytest.raises(ValueError, match="not an rnnkit vocabulary"):
        Vocab.from_json('{"symbols": ["a"]}')
    with pytest.raises(ValueError, match="version 2 is not supported"):
        Vocab.from_json('{"format": "rnnkit.vocab", "version": 2}')
    with pytest.raises(ValueError, match="list of strings"):
        Vocab.from_json('{"format": "rnnkit.vocab", "version": 1, "symbols": [1]}')


def test_encode_corpus_builds_the_vocabulary_on_train_only():
    from rnnkit.data.encoding import encode_corpus

    text = "abababababababababab" + "c"  # 'c' only in the test part
    corpus = encode_corpus(text, fractions=(0.8, 0.1, 0.1))
    assert corpus.vocab.symbols == ["a", "b"]
    assert corpus.vocab.decode(corpus.train) == text[:17]
    assert corpus.val.tolist() == corpus.vocab.encode(text[17:19])
    assert corpus.test.tolist() == [2, corpus.vocab.unk_id]
