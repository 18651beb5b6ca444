"""Atomic writes: a crash before the rename leaves the old file and no temp file."""

import os

import pytest

from rnnkit.data.atomic import atomic_write_bytes, atomic_write_text


def test_crash_between_temp_write_and_rename_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "last.safetensors"
    atomic_write_bytes(target, b"old contents")

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_bytes(target, b"new contents that never land")
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]  # no temp file left


def test_atomic_write_text_replaces_the_file_in_utf8(tmp_path):
    target = tmp_path / "config.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "n\u00e9w")
    assert target.read_bytes() == "n\u00e9w".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


@pytest.mark.parametrize(
    ("failure", "kind", "words"),
    [
        (PermissionError(13, "Permission denied"), PermissionError, "no permission to write in {}"),
        (FileNotFoundError(2, "No such file"), FileNotFoundError, "{} does not take new files"),
    ],
)
def test_a_failed_write_names_the_file_and_why_never_the_temp_file(
    tmp_path, monkeypatch, failure, kind, words
):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old contents")

    def refuse(src, dst):
        failure.filename = str(src)  # what the OS names: the temp file
        raise failure

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(kind) as error:
        atomic_write_bytes(target, b"new")
    assert str(error.value) == f"cannot write {target}: {words.format(tmp_path)}"
    assert ".tmp" not in str(error.value) and error.value.errno == failure.errno
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_a_file_in_place_of_the_folder_is_named(tmp_path):
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello\n")
    with pytest.raises(NotADirectoryError) as error:
        atomic_write_bytes(corpus / "plot.png", b"new")
    assert str(error.value) == f"cannot write {corpus / 'plot.png'}: {corpus} is not a folder"
    assert corpus.read_bytes() == b"hello\n"
