"""The names set: the restricted unpickler, the surname rules and the origin table."""

import json
import os
import pickle

import pytest

from rnnkit.data import labelled_names
from rnnkit.data.labelled_names import (
    NAMES_FILE,
    NAMES_STATS_FILE,
    NATIONALITY_ORIGIN,
    ORIGINS,
    build_names_table,
    names_files,
    read_names_tsv,
    restricted_loads,
    surname_of,
)


class CallsSystem:
    """Pickles as "call os.system('echo pwned')"; only dumped here, never loaded unrestricted."""

    def __reduce__(self):
        return os.system, ("echo pwned",)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_restricted_unpickler_refuses_a_pickle_that_calls_os_system(protocol):
    data = pickle.dumps({"Ann Lee": [CallsSystem()]}, protocol=protocol)
    assert b"system" in data
    with pytest.raises(pickle.UnpicklingError, match=r"asks for (os|posix|nt)\.system"):
        restricted_loads(data)


def test_restricted_unpickler_refuses_any_global_even_harmless_ones():
    with pytest.raises(pickle.UnpicklingError, match="builtins.set"):
        restricted_loads(b"cbuiltins\nset\n)R.")  # protocol 0: GLOBAL, EMPTY_TUPLE, REDUCE


def test_restricted_unpickler_reads_plain_containers():
    people = {"Akira Kurosawa": ["Japanese"], "Ann Lee": ["English", "Irish"], "n": (1, 2.5)}
    assert restricted_loads(pickle.dumps(people, protocol=3)) == people


def test_every_nationality_has_one_origin():
    words = [word for nationalities in ORIGINS.values() for word in nationalities.split()]
    assert len(words) == len(set(words)) == len(NATIONALITY_ORIGIN) == 64
    assert len(ORIGINS) == 18
    assert NATIONALITY_ORIGIN["Austrian"] == "German" and NATIONALITY_ORIGIN["Manx"] == "Irish"


@pytest.mark.parametrize(
    ("name", "family_first", "surname"),
    [
        ("Akira Kurosawa", False, "Kurosawa"),
        ("Flann O'Brien", False, "O'Brien"),
        ("Ali Al-Hashimi", False, "Al-Hashimi"),
        ("A. E. van Vogt", False, "Vogt"),
        ("Aristotle", False, None),
        ("Sammy Davis Jr.", False, None),
        ("Louis XIV", False, "XIV"),  # letters: kept; dropped later by the majority rule or not
        ("Pope Pius 2", False, None),
        ("Jean d'Alembert", False, None),
        ("Kim Yu-na", True, "Kim"),
        ("Nguyễn Văn Thiệu", True, "Nguyễn"),
        ("Kim Yu-na", False, "Yu-na"),
    ],
)
def test_surname_of(name, family_first, surname):
    assert surname_of(name, family_first) == surname


PEOPLE = {
    # Smith: 3 English, 1 German -> 75 % < 80 %: conflicting, dropped
    "John Smith": ["English"],
    "Jane Smith": ["English"],
    "Will Smith": ["Welsh"],
    "Hans Smith": ["German"],
    # Müller: 4 German/Austrian of 5 -> 80 %: German
    "Hans Müller": ["German"],
    "Eva Müller": ["Austrian"],
    "Karl Müller": ["German"],
    "Max Müller": ["German"],
    "Jan Müller": ["Dutch"],
    # Kim: family name first for Koreans
    "Kim Yu-na": ["Korean"],
    "Kim Jong-un": ["Korean"],
    # Tanaka twice, Suzuki once (dropped: one bearer)
    "Akira Tanaka": ["Japanese"],
    "Yuko Tanaka": ["Japanese"],
    "Ichiro Suzuki": ["Japanese"],
    # left out before any vote
    "Al Gore": ["American"],
    "Ann Both": ["Irish", "English"],
    "Aristotle": ["Greek"],
    "Tom Jones Jr.": ["Welsh"],
}


def test_build_names_table_follows_the_documented_steps():
    rows, stats = build_names_table(PEOPLE)
    assert rows == [("Müller", "German"), ("Tanaka", "Japanese"), ("Kim", "Korean")]
    assert stats["people"] == len(PEOPLE)
    assert stats["dropped_several_nationalities"] == 1
    assert stats["dropped_unmapped_nationality"] == 1
    assert stats["unmapped_nationalities"] == {"American": 1}
    assert stats["dropped_no_surname"] == 2  # Aristotle, Jr.
    assert stats["dropped_conflicting_surnames"] == 1  # Smith
    assert stats["dropped_single_bearer_surnames"] == 1  # Suzuki
    assert stats["rows"] == 3


def test_per_class_cap_is_a_fixed_hash_draw():
    people = {f"Ann {stem}{suffix}": ["Italian"] for stem in "ABCDEFGH" for suffix in "ab"}
    people |= {f"Bob {stem}{suffix}": ["Italian"] for stem in "ABCDEFGH" for suffix in "ab"}
    rows, stats = build_names_table(people, per_class=5)
    assert len(rows) == 5 and stats["surnames_per_origin_before_cap"] == {"Italian": 16}
    assert rows == build_names_table(dict(reversed(people.items())), per_class=5)[0]
    drawn = sorted((s for s in {name.split()[1] for name in people}), key=labelled_names._draw_key)[
        :5
    ]
    assert [surname for surname, _ in rows] == sorted(drawn)


def test_names_files_write_a_table_that_reads_back(tmp_path):
    files = dict(names_files(pickle.dumps(PEOPLE, protocol=3)))
    assert set(files) == {NAMES_FILE, NAMES_STATS_FILE}
    assert files[NAMES_FILE].decode().splitlines()[:2] == ["surname\torigin", "Müller\tGerman"]
    assert json.loads(files[NAMES_STATS_FILE])["rows"] == 3
    (tmp_path / NAMES_FILE).write_bytes(files[NAMES_FILE])
    assert read_names_tsv(tmp_path / NAMES_FILE) == (
        ["Müller", "Tanaka", "Kim"],
        ["German", "Japanese", "Korean"],
    )


def test_names_files_refuse_a_pickle_that_is_not_a_dict():
    with pytest.raises(ValueError, match="holds a list, not a dict"):
        names_files(pickle.dumps(["Ann Lee"]))


@pytest.mark.parametrize(
    ("text", "message"),
    [("name\torigin\nA\tB\n", "does not start with the header"), ("surname\torigin\nA\n", "2")],
)
def test_read_names_tsv_errors(tmp_path, text, message):
    (tmp_path / "n.tsv").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_names_tsv(tmp_path / "n.tsv")
