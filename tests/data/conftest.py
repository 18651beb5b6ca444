"""Tiny stand-ins for the registry archives, so fetching is tested offline."""

import contextlib
import csv
import io
import tarfile
import zipfile

import pytest

ABC_TUNE = "X:1\nT:Test tune\nK:G\nGABc d2e2|\n"


def tar_bytes(files, compression="xz"):
    """A tar archive (``files``: {path: bytes}), compressed with ``compression``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def ar_bytes(members):
    """A System V ar archive, the container format of a .deb."""
    out = [b"!<arch>\n"]
    for name, data in members.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n"
        out += [header.encode("ascii"), data, b"\n" if len(data) % 2 else b""]
    return b"".join(out)


@pytest.fixture
def fake_deb(tmp_path):
    """A glibc-source .deb: three .c files (one Latin-1), a header, a file outside the tarball."""
    source = tar_bytes(
        {
            "glibc-2.36/stdlib/qsort.c": b"void qsort(void) {}\n",
            "glibc-2.36/string/strlen.c": "/* \u00e9t\u00e9 */ int strlen;\n".encode(),
            "glibc-2.36/localedata/latin1.c": "/* caf\u00e9 */\n".encode("latin-1"),
            "glibc-2.36/include/stdlib.h": b"#pragma once\n",
        }
    )
    data = tar_bytes(
        {"./usr/src/glibc/glibc-2.36.tar.xz": source, "./usr/src/glibc/debian/x.c": b"int y;\n"}
    )
    control = tar_bytes({"./control": b"Package: glibc-source\nVersion: 2.36-9+test1\n"})
    path = tmp_path / "glibc-source_2.36-9+test1_all.deb"
    members = {"debian-binary": b"2.0\n", "control.tar.xz": control, "data.tar.xz": data}
    path.write_bytes(ar_bytes(members))
    return path


def make_wheel(path, files):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def fake_wheel(tmp_path):
    """A music21 wheel with tunes in the four collections and files that must be left out."""
    files = {
        "music21/__init__.py": b"",
        "music21/corpus/essenFolksong/han1.abc": ABC_TUNE.encode(),
        "music21/corpus/essenFolksong/notes.txt": b"not a tune",
        "music21/corpus/oneills1850/0001-0050.abc": ABC_TUNE.encode(),
        "music21/corpus/ryansMammoth/sub/tune.abc": ABC_TUNE.encode(),
        "music21/corpus/airdsAirs/book1.abc": ABC_TUNE.encode(),
        "music21/corpus/other/elsewhere.abc": ABC_TUNE.encode(),
    }
    return make_wheel(tmp_path / "music21-10.5.1-py3-none-any.whl", files)


@pytest.fixture
def tiny_csv_limit(monkeypatch):
    """``tiny_csv_limit(module, size)``: the reader ``module`` lets the csv module read fields
    of at most ``size`` characters, to provoke a csv.Error."""

    def patch(module, size: int) -> None:
        @contextlib.contextmanager
        def limit(text):
            old = csv.field_size_limit(size)
            try:
                yield
            finally:
                csv.field_size_limit(old)

        monkeypatch.setattr(module, "csv_field_limit", limit)

    return patch
