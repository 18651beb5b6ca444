"""rnnkit train charlm on text that is not clean UTF-8 (--encoding, --decode-errors), and the
token file in the cache that a second run reuses."""

from __future__ import annotations

import json

import pytest

from tests.cli.checks import assert_one_line_error

TINY = ["--preset", "smoke", "--hidden-size", "8", "--seq-len", "10", "--max-steps", "2"]
LINE = "Fran\u00e7ais d\u00e9j\u00e0 vu, na\u00efve caf\u00e9\n"  # five letters beyond ASCII


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def latin1_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(("plain ascii first\n" + LINE * 60).encode("latin-1"))
    return path


def _record(out):
    return json.loads((out / "config.json").read_text(encoding="utf-8"))


def test_latin1_bytes_stop_with_their_offset_and_line_by_default(rnnkit, latin1_file, tmp_path):
    out = tmp_path / "r"
    result = rnnkit("train", "charlm", *TINY, "--data", latin1_file, "--out", out)
    assert_one_line_error(result, "byte 0xe7 at byte offset 22 (line 2)", "--decode-errors")
    assert not out.exists()
    result = rnnkit("train", "charlm", *TINY, "--data", latin1_file, "--encoding", "klingon")
    assert_one_line_error(result, "unknown encoding 'klingon'")
    result = rnnkit("train", "charlm", *TINY, "--data", latin1_file, "--encoding", "base64")
    assert_one_line_error(result, "encoding 'base64' is not a text encoding")  # was a TypeError


def test_the_right_encoding_reads_the_text_exactly(rnnkit, latin1_file, tmp_path):
    out = tmp_path / "r"
    argv = ["--data", latin1_file, "--encoding", "latin-1", "--out", out]
    code, _, err = rnnkit("train", "charlm", *TINY, *argv, "--json")
    assert code == 0, err
    record = _record(out)
    assert record["config"]["data"]["encoding"] == "latin-1"
    assert record["data"]["encoding"] == "latin-1" and record["data"]["undecodable"] == 0
    assert record["data"]["chars"] == len("plain ascii first\n" + LINE * 60)
    symbols = json.loads((out / "vocab.json").read_text(encoding="utf-8"))["symbols"]
    assert {"\u00e7", "\u00e9", "\u00e0", "\u00ef"} <= set(symbols)


@pytest.mark.parametrize(("setting", "shown"), [("replace", "replaced by U+FFFD"), ("skip", "")])
def test_replaced_or_skipped_characters_are_counted_and_recorded(
    rnnkit, latin1_file, tmp_path, setting, shown
):
    out = tmp_path / "r"
    argv = ["--data", latin1_file, "--decode-errors", setting, "--out", out]
    code, stdout, err = rnnkit("train", "charlm", *TINY, *argv)
    assert code == 0, err
    assert f"300 undecodable character(s) {shown or 'skipped'}" in stdout + err
    record = _record(out)["data"]
    assert (record["decode_errors"], record["undecodable"]) == (setting, 300)
    symbols = json.loads((out / "vocab.json").read_text(encoding="utf-8"))["symbols"]
    assert ("\ufffd" in symbols) == (setting == "replace")
    # the run reads its text again the same way: evaluate and resume
    code, result, err = rnnkit("evaluate", out, "--json")
    assert code == 0 and json.loads(result)["tokens"] > 0, err
    code, _, err = rnnkit("train", "--resume", out, "--max-steps", "3", "--json")
    assert code == 0, err


def test_a_second_run_reuses_the_token_file(rnnkit, latin1_file, tmp_path, cache):
    argv = ["--data", latin1_file, "--encoding", "latin-1"]
    code, _, err = rnnkit("train", "charlm", *TINY, *argv, "--out", tmp_path / "a", "--json")
    assert code == 0, err
    [token_file] = (cache / "tokens").iterdir()
    before = token_file.stat()
    code, _, err = rnnkit("train", "charlm", *TINY, *argv, "--out", tmp_path / "b", "--json")
    assert code == 0, err
    assert list((cache / "tokens").iterdir()) == [token_file]
    after = token_file.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    first, second = (_record(tmp_path / name)["data"]["sha256"] for name in "ab")
    assert first == second and token_file.name.startswith(first)
