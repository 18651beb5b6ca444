"""The ``names`` set: surname -> origin, built once from name2nat's dictionary.

name2nat 0.5.1 ships ``name2nats.pkl``, a pickled dict {full name: [nationalities]} of
1,074,617 people on English Wikipedia with 176 nationality words. ``rnnkit data fetch names``
turns it into ``names.tsv`` (``surname <TAB> origin``, UTF-8, with a header) and never
unpickles it again:

1. **Unpickle safely.** ``RestrictedUnpickler`` resolves no global at all: the file uses only
   protocol-3 opcodes for a dict, lists and strings (checked with ``pickletools``: PROTO,
   EMPTY_DICT, EMPTY_LIST, BINUNICODE, APPEND(S), SETITEMS, MARK, BINPUT, LONG_BINPUT,
   STOP), so a pickle that names ``os.system`` or any other callable is refused before
   anything runs.
2. **One nationality.** People with two or more nationalities are left out.
3. **Origin by language.** ``ORIGINS`` maps 64 of the 176 nationalities to 18 origin classes
   whose surnames mostly come from one language; the other nationalities (immigrant nations
   such as American, Australian, Canadian, British; mixed ones such as Belgian, Israeli,
   Filipino, Argentine; those of under a few hundred people) are dropped and counted.
4. **Surname** = the last word of the name, kept if it is a word of letters (inner hyphens
   and apostrophes allowed) starting with a capital: ``Smith``, ``O'Brien``, ``Al-Hashimi``;
   not ``Jr.``, ``III``, ``(footballer)``. One-word names have no surname. English Wikipedia
   writes Chinese, Taiwanese, Korean and Vietnamese names family name first (``Kim Yu-na``,
   ``Wang Wei``, ``Nguyễn Văn Thiệu``), so for those four nationalities the surname is the
   *first* word (``FAMILY_NAME_FIRST``); the last word would be a given name. The few
   written in Western order (``Derek Chang``) give a wrong "surname" there; a departure
   from "last word = surname" made because otherwise those classes would be given names.
5. **One origin per surname.** Each surname gets the origin of at least 80 % of the people
   who carry it (``MAJORITY``); the others are conflicting and dropped (``Lee``: English 83,
   Korean 48, Chinese 36, ...). Dropping every surname with any disagreement would drop the
   most typical ones: ``Smith`` has 244 English bearers and 60 others.
6. **At least two bearers.** A surname carried by one person only is dropped: that removes
   one-off spellings and most of the wrong "surnames" of step 4 (``MIN_BEARERS``).
7. **At most 1,000 surnames a class** (``NAMES_PER_CLASS``), drawn by a fixed hash order
   ``sha256("names:" + surname)``, so the set trains on two CPU cores in minutes and no class
   dwarfs the others. Seven classes have fewer (Vietnamese 84, Korean 140, Chinese 287).

The counts of every step are written beside the table as ``names-preprocessing.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path

NAMES_MEMBER = "name2nat/name2nats.pkl"
NAMES_FILE = "names.tsv"
NAMES_STATS_FILE = "names-preprocessing.json"
NAMES_HEADER = "surname\torigin"
NAMES_PER_CLASS = 1000
MAJORITY = 0.8
MIN_BEARERS = 2

# origin class -> the nationalities (name2nat's words) whose surnames it gathers
ORIGINS = {
    "Arabic": "Algerian Bahraini Egyptian Emirati Iraqi Jordanian Kuwaiti Lebanese Libyan "
    "Moroccan Omani Palestinian Qatari Saudi Sudanese Syrian Tunisian Yemeni",
    "Chinese": "Chinese Taiwanese",
    "Dutch": "Dutch",
    "East Slavic": "Belarusian Russian Ukrainian",
    "English": "English Welsh",
    "French": "French",
    "German": "Austrian German",
    "Greek": "Cypriot Greek",
    "Indian": "Indian",
    "Irish": "Irish Manx",
    "Italian": "Italian Sammarinese",
    "Japanese": "Japanese",
    "Korean": "Korean",
    "Portuguese": "Angolan Brazilian Portuguese",
    "Scandinavian": "Dane Faroese Norwegian",
    "Spanish": "Bolivian Catalan Chilean Colombian Cuban Dominican Ecuadorian Guatemalan "
    "Honduran Mexican Nicaraguan Panamanian Paraguayan Peruvian Salvadoran Venezuelan",
    "Vietnamese": "Vietnamese",
    "West Slavic": "Czech Pole Slovak",
}
NATIONALITY_ORIGIN = {
    nationality: origin for origin, words in ORIGINS.items() for nationality in words.split()
}
FAMILY_NAME_FIRST = frozenset({"Chinese", "Korean", "Taiwanese", "Vietnamese"})
SURNAME = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only what pickle's opcodes build by themselves (dicts,
    lists, tuples, sets, strings, bytes, numbers, None, booleans) and refuses every global,
    so no function or class named in the file can be called."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(
            f"the pickle asks for {module}.{name}; rnnkit reads only plain containers and "
            "strings from it (is this the right file?)"
        )

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("the pickle holds a persistent id; refused")


def restricted_loads(data: bytes) -> object:
    """Unpickle ``data`` with ``RestrictedUnpickler``."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def surname_of(full_name: str, family_name_first: bool = False) -> str | None:
    """The last (or first) word of ``full_name`` if it looks like a surname (module
    docstring, step 4)."""
    words = full_name.split()
    if len(words) < 2:
        return None
    word = words[0] if family_name_first else words[-1]
    return word if SURNAME.fullmatch(word) and word[0].isupper() else None


def build_names_table(
    people: Mapping[str, list[str]], per_class: int = NAMES_PER_CLASS
) -> tuple[list[tuple[str, str]], dict]:
    """``(rows, stats)``: ``(surname, origin)`` rows sorted by origin then surname, and the
    counts of every step of the module docstring."""
    stats = Counter()
    unmapped = Counter()
    votes = defaultdict(Counter)  # surname -> origin -> people
    for full_name, nationalities in people.items():
        stats["people"] += 1
        if len(nationalities) != 1:
            stats["dropped_several_nationalities"] += 1
            continue
        origin = NATIONALITY_ORIGIN.get(nationalities[0])
        if origin is None:
            unmapped[nationalities[0]] += 1
            continue
        surname = surname_of(full_name, nationalities[0] in FAMILY_NAME_FIRST)
        if surname is None:
            stats["dropped_no_surname"] += 1
            continue
        votes[surname][origin] += 1
    by_origin = defaultdict(list)
    for surname, counts in votes.items():
        origin, count = counts.most_common(1)[0]
        if count < MAJORITY * sum(counts.values()):
            stats["dropped_conflicting_surnames"] += 1
        elif sum(counts.values()) < MIN_BEARERS:
            stats["dropped_single_bearer_surnames"] += 1
        else:
            by_origin[origin].append(surname)
    rows = []
    for origin in sorted(by_origin):
        drawn = sorted(by_origin[origin], key=_draw_key)[:per_class]
        rows.extend((surname, origin) for surname in sorted(drawn))
    report = {
        **dict(sorted(stats.items())),
        "dropped_unmapped_nationality": sum(unmapped.values()),
        "unmapped_nationalities": dict(unmapped.most_common()),
        "distinct_surnames": len(votes),
        "surnames_per_origin_before_cap": {o: len(s) for o, s in sorted(by_origin.items())},
        "per_class_cap": per_class,
        "majority": MAJORITY,
        "min_bearers": MIN_BEARERS,
        "rows": len(rows),
    }
    return rows, report


def names_tsv(rows: list[tuple[str, str]]) -> bytes:
    """The table as UTF-8 TSV with a header line."""
    lines = [NAMES_HEADER, *(f"{surname}\t{origin}" for surname, origin in rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def names_files(pickled: bytes) -> list[tuple[str, bytes]]:
    """``[(file name, bytes)]`` of the table and its counts, built from ``name2nats.pkl``."""
    people = restricted_loads(pickled)
    if not isinstance(people, dict):
        raise ValueError(f"{NAMES_MEMBER} holds a {type(people).__name__}, not a dict")
    rows, stats = build_names_table(people)
    counts = (json.dumps(stats, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return [(NAMES_FILE, names_tsv(rows)), (NAMES_STATS_FILE, counts)]


def read_names_tsv(path: str | Path) -> tuple[list[str], list[str]]:
    """``(surnames, origins)`` of ``names.tsv``."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != NAMES_HEADER:
        raise ValueError(f"{path} does not start with the header {NAMES_HEADER!r}")
    surnames, origins = [], []
    for number, line in enumerate(lines[1:], start=2):
        surname, tab, origin = line.partition("\t")
        if not tab or not surname or not origin:
            raise ValueError(f"{path}: line {number} is not 'surname<TAB>origin': {line!r}")
        surnames.append(surname)
        origins.append(origin)
    return surnames, origins


def _draw_key(surname: str) -> bytes:
    return hashlib.sha256(f"names:{surname}".encode()).digest()
