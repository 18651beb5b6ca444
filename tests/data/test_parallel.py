"""Sentence pairs: the TSV parser (errors with line numbers), tokens, the length filter and the
seeded split."""

import numpy as np
import pytest

from rnnkit.data.parallel import (
    build_vocab,
    detokenize,
    load_parallel,
    read_pairs_tsv,
    split_indices,
    tokenize,
)


def test_read_pairs_tsv(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("Hello .\tHola .\n\n  The dog\t El perro \n", encoding="utf-8")
    pairs, origins = read_pairs_tsv(path)
    assert pairs == [("Hello .", "Hola ."), ("The dog", "El perro")]
    assert origins == ["line 1", "line 3"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\tb\nno tab here\n", "line 2: expected source<TAB>target \\(2 fields\\), got 1"),
        ("a\tb\tc\n", "line 1: expected .* got 3"),
        ("a\tb\n\n \tb\n", "line 3: the source sentence is empty"),
        ("a\t \n", "line 1: the target sentence is empty"),
        ("\n\n", "holds no sentence pairs"),
    ],
)
def test_read_pairs_tsv_errors(tmp_path, text, message):
    path = tmp_path / "pairs.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_pairs_tsv(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"caf\xe9\tcaf\xe9\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_pairs_tsv(path)


def test_tokens_and_detokenize():
    assert tokenize("And God said, Let there be light: the child\u2019s life.") == [
        "and", "god", "said", ",", "let", "there", "be", "light", ":", "the",
        "child\u2019s", "life", ".",
    ]  # fmt: skip
    assert tokenize("EN el principio", lowercase=False) == ["EN", "el", "principio"]
    text = "¿ quién es ( dijo ) éste ? ¡ sí , señor !"
    assert detokenize(text.split()) == "¿quién es (dijo) éste? ¡sí, señor!"
    assert detokenize(tokenize("Y dijo Dios: Sea la luz: y fué la luz.")) == (
        "y dijo dios: sea la luz: y fué la luz."
    )


def test_vocab_has_the_special_tokens_first():
    vocab = build_vocab([["b", "a", "a"], ["c", "<pad>"]], min_count=1)
    assert vocab.itos[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    assert vocab.itos[4:] == ["a", "b", "c"]
    assert build_vocab([["b", "a", "a"]], min_count=2).itos[4:] == ["a"]


def test_split_is_seeded_disjoint_and_capped():
    splits = split_indices(100, seed=3, val_size=10, test_size=1000)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [90, 5, 5]
    joined = np.concatenate([splits["train"], splits["val"], splits["test"]])
    assert sorted(joined.tolist()) == list(range(100))
    again = split_indices(100, seed=3, val_size=10, test_size=1000)
    assert all((again[k] == splits[k]).all() for k in splits)
    other = split_indices(100, seed=4, val_size=10, test_size=1000)
    assert not (other["val"] == splits["val"]).all()
    with pytest.raises(ValueError, match="too few"):
        split_indices(1, 0, 1, 1)


def test_load_parallel_file_filter_and_reverse(tmp_path):
    path = tmp_path / "pairs.tsv"
    lines = [f"w{i} w{i}\tv{i}\n" for i in range(40)] + ["a b c d e\tx\n"]
    path.write_text("".join(lines), encoding="utf-8")
    data = load_parallel(str(path), max_words=4, val_size=3, test_size=3)
    assert len(data.pairs) == 40 and data.card["filtered_out"] == 1
    assert data.card["counts"] == {"train": 36, "val": 2, "test": 2}
    assert data.direction == "src-tgt" and data.pairs[0] == ("w0 w0", "v0")
    reverse = load_parallel(str(path), "tgt-src", max_words=4, val_size=3, test_size=3)
    assert reverse.pairs[0] == ("v0", "w0 w0")
    assert reverse.fingerprint() != data.fingerprint()
    assert load_parallel(str(path), max_words=4).fingerprint() == data.fingerprint()
    with pytest.raises(ValueError, match="unknown direction 'en-es'"):
        load_parallel(str(path), "en-es")
    with pytest.raises(ValueError, match="no data set or file named"):
        load_parallel(str(tmp_path / "missing.tsv"))


def test_a_leading_tilde_is_the_home_folder(tmp_path, monkeypatch):
    """``--dataset=~/pairs.tsv`` (the shell leaves that ~) was "no data set or file named"."""
    monkeypatch.setenv("HOME", str(tmp_path))
    lines = [f"w{i} w{i}\tv{i}\n" for i in range(40)]
    (tmp_path / "pairs.tsv").write_text("".join(lines), encoding="utf-8")
    assert len(load_parallel("~/pairs.tsv", max_words=4).pairs) == 40


def test_read_pairs_tsv_drops_a_bom_and_keeps_crlf(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("\ufeffHello .\tHola .\r\nThe dog\tEl perro\r\n".encode())
    pairs, origins = read_pairs_tsv(path)
    assert pairs == [("Hello .", "Hola ."), ("The dog", "El perro")]
    assert origins == ["line 1", "line 2"]


def test_read_pairs_tsv_breaks_lines_at_newline_only(tmp_path):
    path = tmp_path / "pairs.tsv"
    text = "he said\u2028hello\tel dijo\u2028hola\na\x0cb\x85\tc\x1ed\nno tab\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="line 3: expected source<TAB>target"):
        read_pairs_tsv(path)
    path.write_text(text.replace("no tab", "x\ty"), encoding="utf-8")
    pairs, origins = read_pairs_tsv(path)
    assert pairs[0] == ("he said\u2028hello", "el dijo\u2028hola")
    assert origins == ["line 1", "line 2", "line 3"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a\tb\nc\x00\td\n", "NUL byte at byte offset 5"),
        (b"a\tb\n\ncaf\xe9\tcaf\xe9\n", "byte 0xe9 at byte offset 8 \\(line 3\\)"),
    ],
)
def test_read_pairs_tsv_refuses_binary_and_names_the_line(tmp_path, data, message):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        read_pairs_tsv(path)
