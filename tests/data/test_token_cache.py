"""The memory-mapped token file: the same ids and batches as the text encoded in memory,
written once (atomically) and reused, never copied whole by the batch streams."""

import logging

import numpy as np
import pytest
import torch

from rnnkit.data.batching import TokenStreams
from rnnkit.data.encoding import encode_corpus, encode_scanned, encode_with_vocab
from rnnkit.data.provenance import scan_corpus
from rnnkit.data.token_cache import TOKENS_FOLDER, token_dtype, token_path

SPLIT = (0.8, 0.1, 0.1)
# the last sixth has characters the first eight tenths lack: <unk> in val and test
TEXT = "the quick brown fox jumps over the lazy dog.\n" * 40 + "".join(
    f"ünï {chr(0x410 + i)}\n" for i in range(60)
)


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    return str(path)


def _parts(encoded):
    return [encoded.train, encoded.val, encoded.test]


def test_the_token_file_holds_the_ids_of_the_text_encoded_in_memory(corpus, tmp_path):
    reference = encode_corpus(TEXT, "char", SPLIT)
    stream, scan, _ = scan_corpus(corpus, None)
    mapped = encode_scanned(stream, scan, SPLIT, cache=tmp_path / "cache")
    assert mapped.vocab == reference.vocab
    assert reference.vocab.unk_id in reference.val  # the case worth checking
    assert reference.vocab.unk_id in reference.test
    for ours, theirs in zip(_parts(mapped), _parts(reference), strict=True):
        assert isinstance(ours, np.memmap) and ours.dtype == np.uint8
        np.testing.assert_array_equal(ours, theirs)
    again = encode_scanned(stream, scan, SPLIT, reference.vocab, cache=tmp_path / "cache")
    by_vocab = encode_with_vocab(TEXT, reference.vocab, SPLIT)
    for ours, theirs in zip(_parts(again), _parts(by_vocab), strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("batch_first", [False, True])
def test_the_mapped_streams_give_exactly_the_batches_in_memory(corpus, tmp_path, batch_first):
    reference = encode_corpus(TEXT, "char", SPLIT)
    stream, scan, _ = scan_corpus(corpus, None)
    mapped = encode_scanned(stream, scan, SPLIT, cache=tmp_path / "cache")
    ours = TokenStreams(torch.from_numpy(mapped.train), 5, 7, batch_first=batch_first)
    theirs = TokenStreams(torch.from_numpy(reference.train), 5, 7, batch_first=batch_first)
    assert np.shares_memory(ours.columns.numpy(), mapped.train)  # a view, not a copy
    assert len(ours) == len(theirs) and ours.tokens_per_epoch == theirs.tokens_per_epoch
    batches = zip(ours.batches(3), theirs.batches(3), range(3 * len(theirs)), strict=False)
    for a, b, _ in batches:  # three epochs from chunk 3 on: every chunk, and the wrap
        assert (a.step, a.epoch, a.index) == (b.step, b.epoch, b.index)
        for x, y in ((a.inputs, b.inputs), (a.targets, b.targets)):
            assert x.dtype == y.dtype == torch.long and x.is_contiguous()
            assert torch.equal(x, y)


def test_the_token_file_is_written_once_and_reused(corpus, tmp_path, caplog):
    stream, scan, _ = scan_corpus(corpus, None)
    cache = tmp_path / "cache"
    first = encode_scanned(stream, scan, SPLIT, cache=cache)
    path = token_path(scan, first.vocab, cache)
    files = sorted(p.name for p in (cache / TOKENS_FOLDER).iterdir())
    assert files == [path.name] and path.stat().st_size == len(TEXT)  # no temp file left
    written = path.stat()
    caplog.set_level(logging.INFO, logger="rnnkit.data.token_cache")
    second = encode_scanned(stream, scan, SPLIT, cache=cache)
    assert "reusing the token file" in caplog.text and "tokenised" not in caplog.text
    after = path.stat()
    assert (after.st_mtime_ns, after.st_ino) == (written.st_mtime_ns, written.st_ino)
    np.testing.assert_array_equal(second.train, first.train)


def test_a_text_that_changes_midway_leaves_no_token_file(corpus, tmp_path):
    stream, scan, _ = scan_corpus(corpus, None)
    with open(corpus, "r+b") as handle:  # same length, other bytes
        handle.write(b"THE")
    with pytest.raises(ValueError, match=r"text.txt changed while it was read"):
        encode_scanned(stream, scan, SPLIT, cache=tmp_path / "cache")
    assert list((tmp_path / "cache" / TOKENS_FOLDER).iterdir()) == []


def test_an_unwritable_cache_keeps_the_ids_in_memory(corpus, tmp_path, caplog):
    (tmp_path / "file").write_text("not a folder")
    stream, scan, _ = scan_corpus(corpus, None)
    encoded = encode_scanned(stream, scan, SPLIT, cache=tmp_path / "file")
    assert "cannot write the token file" in caplog.text
    reference = encode_corpus(TEXT, "char", SPLIT)
    for ours, theirs in zip(_parts(encoded), _parts(reference), strict=True):
        assert not isinstance(ours, np.memmap)
        np.testing.assert_array_equal(ours, theirs)


def test_ids_take_the_smallest_type():
    assert [token_dtype(n).name for n in (2, 256, 257, 32768, 32769)] == [
        "uint8",
        "uint8",
        "int16",
        "int16",
        "int32",
    ]
    big = "".join(chr(0x4E00 + i) for i in range(300)) * 2
    encoded = encode_corpus(big, "char", SPLIT)
    mapped = TokenStreams(torch.from_numpy(encoded.train.astype(np.int16)), 3, 4)
    reference = TokenStreams(torch.from_numpy(encoded.train), 3, 4)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(mapped, reference, strict=True))
