r"""King James English and Reina-Valera 1909 Spanish, verse by verse, from two SWORD modules.

``rnnkit data fetch bible`` downloads the Debian packages ``sword-text-kjv`` (module
``engKJV2006eb``) and ``sword-text-sparv`` (``spaRV1909eb``), reads both modules with
``pysword`` and keeps one table, ``bible.tsv``::

    book<TAB>chapter<TAB>verse<TAB>en<TAB>es          header line, then one verse a line
    Genesis<TAB>1<TAB>1<TAB>In the beginning God created the heaven and the earth.<TAB>EN el ...

Both modules use the KJV versification, so verse ``(book, chapter, verse)`` of one is the same
verse of the other; a verse empty in either module is left out (and counted).

The modules are OSIS XML: words wrapped in Strong's-number tags (``<w lemma=...>``), added
words (``<transChange>``), paragraph and chapter milestones, footnotes (``<note>``) and
headings or subscripts (``<title>``, e.g. "Written to the Romans from Corinthus ...", which
is not part of the verse). :func:`clean_sword_text` drops notes and titles with their
content, every other tag but not its content, the pilcrow, USFM character markers left in the
text (``\nd`` before "LORD" in 27 KJV verses) and the brackets of one added word ("[but]"),
and normalises the whitespace.
"""

from __future__ import annotations

import html
import json
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.archives import deb_control_field, deb_data_tar, iter_tar_files

logger = logging.getLogger(__name__)

BIBLE_FILE = "bible.tsv"
BIBLE_COUNTS = "bible-counts.json"
BIBLE_HEADER = ("book", "chapter", "verse", "en", "es")
MODULES = {"en": "engKJV2006eb", "es": "spaRV1909eb"}
SPANISH_PACKAGE = "sword-text-sparv"  # the second package; the first is the recipe's

_DROPPED_WITH_CONTENT = re.compile(r"<(note|title)\b[^>]*?(?<!/)>.*?</\1\s*>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_USFM_MARKER = re.compile(r"\\\+?[a-z]+\d*\*?")  # "\\nd": name of deity
_SPACE = re.compile(r"\s+")


def clean_sword_text(markup: str) -> str:
    """The plain text of one verse of OSIS markup (see the module docstring)."""
    text = _DROPPED_WITH_CONTENT.sub(" ", markup)
    text = _TAG.sub(" ", text)  # a tag separates words: '<lb/>' between two lines of a psalm
    text = html.unescape(text).replace("\u00b6", " ")  # the pilcrow marks a new paragraph
    text = _USFM_MARKER.sub(" ", text).replace("[", "").replace("]", "")  # "[but]": added word
    text = _SPACE.sub(" ", text).strip()
    return re.sub(r" ([,.;:!?\u2019)])", r"\1", text)  # a tag put a space before punctuation


@dataclass(frozen=True)
class VersePair:
    book: str
    chapter: int
    verse: int
    en: str
    es: str


def read_sword_pairs(sword_root: str | Path) -> tuple[list[VersePair], dict]:
    """Every verse present in both modules under ``sword_root`` (a SWORD library: ``mods.d/``
    and ``modules/``), cleaned; and the counts (verses read, left out as empty)."""
    from pysword.modules import SwordModules

    modules = SwordModules(str(sword_root))
    found = modules.parse_modules()
    missing = [name for name in MODULES.values() if name not in found]
    if missing:
        raise ValueError(f"{sword_root} holds no SWORD module {', '.join(missing)}")
    bibles = {lang: modules.get_bible_from_module(name) for lang, name in MODULES.items()}
    pairs, counts = [], {"verses": 0, "empty_en": 0, "empty_es": 0}
    for books in bibles["en"].get_structure().get_books().values():
        for book in books:
            for chapter, verses in enumerate(book.chapter_lengths, start=1):
                for verse in range(1, verses + 1):
                    counts["verses"] += 1
                    text = {
                        lang: clean_sword_text(
                            bible.get(
                                books=[book.name], chapters=[chapter], verses=[verse], clean=False
                            )
                        )
                        for lang, bible in bibles.items()
                    }
                    for lang in MODULES:
                        counts[f"empty_{lang}"] += not text[lang]
                    if text["en"] and text["es"]:
                        pairs.append(VersePair(book.name, chapter, verse, text["en"], text["es"]))
    counts["pairs"] = len(pairs)
    return pairs, counts


def pairs_tsv(pairs: list[VersePair]) -> bytes:
    """The table of ``bible.tsv`` (see the module docstring)."""
    lines = ["\t".join(BIBLE_HEADER)]
    for p in pairs:
        lines.append(f"{p.book}\t{p.chapter}\t{p.verse}\t{p.en}\t{p.es}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def bible_files(deb: Path) -> Iterator[tuple[str, bytes]]:
    """``Recipe.files`` of ``bible``: ``bible.tsv`` and its counts, from ``deb``
    (sword-text-kjv) and the ``sword-text-sparv_*.deb`` beside it."""
    spanish = sorted(deb.parent.glob(f"{SPANISH_PACKAGE}_*.deb"))
    if len(spanish) != 1:
        raise ValueError(
            f"bible needs {SPANISH_PACKAGE}_*.deb in the same folder as {deb.name} (found "
            f"{len(spanish)}); `apt-get download sword-text-kjv {SPANISH_PACKAGE}` gives both"
        )
    with tempfile.TemporaryDirectory(prefix="rnnkit-sword-") as root:
        for package in (deb, spanish[0]):
            with deb_data_tar(package) as data:
                for path, content in iter_tar_files(data, _is_sword_file):
                    target = Path(root) / path.removeprefix("usr/share/sword/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
        logger.info("reading every verse of both modules with pysword (a minute or two)")
        pairs, counts = read_sword_pairs(root)
    counts["packages"] = {
        package.name: deb_control_field(package, "Version") for package in (deb, spanish[0])
    }
    counts["modules"] = dict(MODULES)
    yield BIBLE_FILE, pairs_tsv(pairs)
    yield BIBLE_COUNTS, (json.dumps(counts, indent=2) + "\n").encode("utf-8")


def _is_sword_file(path: str) -> bool:
    return path.startswith(("usr/share/sword/mods.d/", "usr/share/sword/modules/"))
