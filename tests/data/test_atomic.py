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
