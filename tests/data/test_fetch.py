"""Fetching, offline: fake registry archives stand in for the downloads."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess

import pytest

from rnnkit.data import fetch
from rnnkit.data.archives import file_sha256, read_ar_members, safe_relative_path
from rnnkit.data.corpora import MARKER_NAME, load_text, read_marker, resolve_text_source
from rnnkit.data.fetch import FetchError, fetch_dataset


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def unpinned_abc(monkeypatch):
    """The abc-music recipe without its sha256 pin, so the fake wheel passes."""
    recipe = dataclasses.replace(fetch.RECIPES["abc-music"], sha256=None)
    monkeypatch.setitem(fetch.RECIPES, "abc-music", recipe)
    return recipe


def serve(monkeypatch, archive):
    """Make ``download_archive`` hand out a copy of ``archive``; count the calls."""
    calls = []

    def download(name, recipe, folder):
        calls.append(name)
        folder.mkdir(parents=True)
        return shutil.copy(archive, folder / archive.name)

    monkeypatch.setattr(fetch, "download_archive", download)
    return calls


def leftovers(cache):
    return sorted(path.name for path in cache.iterdir() if path.name.startswith("."))


def test_fetch_c_code_from_a_deb(fake_deb, cache, monkeypatch):
    serve(monkeypatch, fake_deb)
    result = fetch_dataset("c-code", cache=cache)
    assert not result.already_present and result.path == cache / "c-code" / "text"
    files = sorted(p.relative_to(result.path).as_posix() for p in result.path.rglob("*.*"))
    assert files == ["stdlib/qsort.c", "string/strlen.c"]
    marker = json.loads((cache / "c-code" / MARKER_NAME).read_text())
    assert marker["package"] == "glibc-source" and marker["package_version"] == "2.36-9+test1"
    assert marker["archive_sha256"] == file_sha256(fake_deb)
    assert marker["files"] == 2 and marker["skipped"][0]["path"] == "localedata/latin1.c"
    assert "not UTF-8" in marker["skipped"][0]["reason"]
    assert resolve_text_source("c-code", cache=cache).kind == "fetched"
    assert leftovers(cache) == []


def test_fetch_abc_music_from_a_wheel_and_read_it(fake_wheel, cache, monkeypatch, unpinned_abc):
    serve(monkeypatch, fake_wheel)
    result = fetch_dataset("abc-music", cache=cache)
    names = sorted(p.relative_to(result.path).as_posix() for p in result.path.rglob("*.abc"))
    assert names == [
        "airdsAirs/book1.abc",
        "essenFolksong/han1.abc",
        "oneills1850/0001-0050.abc",
        "ryansMammoth/sub/tune.abc",
    ]
    assert read_marker("abc-music", cache)["package_version"] == "10.5.1"
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    assert load_text("abc-music").count("X:1") == 4


def test_second_fetch_finds_it_there(fake_wheel, cache, monkeypatch, unpinned_abc):
    calls = serve(monkeypatch, fake_wheel)
    first = fetch_dataset("abc-music", cache=cache)
    second = fetch_dataset("abc-music", cache=cache)
    assert second.already_present and second.path == first.path and calls == ["abc-music"]
    again = fetch_dataset("abc-music", cache=cache, force=True)
    assert not again.already_present and calls == ["abc-music", "abc-music"]
    assert leftovers(cache) == []


def test_local_archive_skips_the_download(fake_wheel, cache, monkeypatch, unpinned_abc):
    calls = serve(monkeypatch, fake_wheel)
    result = fetch_dataset("abc-music", cache=cache, archive=fake_wheel)
    assert result.marker["files"] == 4 and calls == []
    with pytest.raises(ValueError, match="no such archive file: .*missing.deb; `rnnkit data"):
        fetch_dataset("c-code", cache=cache, archive=cache / "missing.deb")
    # a directory was "no such archive file", though it is there
    folder = fake_wheel.parent
    with pytest.raises(ValueError) as error:
        fetch_dataset("c-code", cache=cache, archive=folder)
    assert str(error.value) == (
        f"{folder} is a directory; `rnnkit data fetch c-code --from` takes the downloaded "
        "package file, the Debian package glibc-source (glibc-source_*_all.deb)"
    )


def test_damaged_archive_leaves_no_half_dataset(tmp_path, fake_wheel, cache, monkeypatch):
    data = bytearray(fake_wheel.read_bytes())
    spot = data.index(b"Test tune", data.index(b"oneills1850"))  # inside the 2nd tune kept
    data[spot : spot + 4] = b"XXXX"  # the CRC check fails while extracting
    damaged = tmp_path / "damaged" / fake_wheel.name
    damaged.parent.mkdir()
    damaged.write_bytes(bytes(data))
    monkeypatch.setitem(
        fetch.RECIPES, "abc-music", dataclasses.replace(fetch.RECIPES["abc-music"], sha256=None)
    )
    serve(monkeypatch, damaged)
    with pytest.raises(FetchError, match="is damaged"):
        fetch_dataset("abc-music", cache=cache)
    assert not (cache / "abc-music").exists() and leftovers(cache) == []


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_mid_extract_leaves_no_half_dataset(fake_deb, cache, monkeypatch, failure):
    def files_then_failure(archive):
        yield "stdlib/one.c", b"int one;\n"
        yield "stdlib/two.c", b"int two;\n"
        raise failure

    recipe = dataclasses.replace(fetch.RECIPES["c-code"], files=files_then_failure)
    monkeypatch.setitem(fetch.RECIPES, "c-code", recipe)
    serve(monkeypatch, fake_deb)
    with pytest.raises(type(failure)):
        fetch_dataset("c-code", cache=cache)
    assert list(cache.iterdir()) == []
    with pytest.raises(ValueError, match="not fetched yet"):
        resolve_text_source("c-code", cache=cache)


def test_failed_refetch_keeps_the_old_copy(fake_deb, cache, monkeypatch):
    serve(monkeypatch, fake_deb)
    fetch_dataset("c-code", cache=cache)

    def broken(archive):
        raise OSError("disk full")
        yield

    monkeypatch.setitem(
        fetch.RECIPES, "c-code", dataclasses.replace(fetch.RECIPES["c-code"], files=broken)
    )
    with pytest.raises(OSError):
        fetch_dataset("c-code", cache=cache, force=True)
    assert read_marker("c-code", cache)["files"] == 2 and leftovers(cache) == []


def test_pinned_sha256_is_checked(fake_wheel, cache, monkeypatch):
    serve(monkeypatch, fake_wheel)
    with pytest.raises(FetchError, match="has sha256 .* but music21==10.5.1 is dc3309"):
        fetch_dataset("abc-music", cache=cache)
    assert not (cache / "abc-music").exists() and leftovers(cache) == []


def test_foreign_folder_is_not_overwritten(cache, fake_deb, monkeypatch):
    (cache / "c-code").mkdir(parents=True)
    serve(monkeypatch, fake_deb)
    with pytest.raises(FetchError, match="has no rnnkit-dataset.json.*--force"):
        fetch_dataset("c-code", cache=cache)


def test_damaged_marker_says_how_to_recover(cache, fake_deb, monkeypatch):
    serve(monkeypatch, fake_deb)
    fetch_dataset("c-code", cache=cache)
    (cache / "c-code" / MARKER_NAME).write_text("{truncated")
    with pytest.raises(ValueError, match="is damaged.*rnnkit data fetch c-code --force"):
        resolve_text_source("c-code", cache=cache)
    assert fetch_dataset("c-code", cache=cache, force=True).marker["files"] == 2
    assert read_marker("c-code", cache)["files"] == 2


def test_data_list_says_a_copy_is_damaged_and_goes_on(cache, fake_deb, monkeypatch, rnnkit):
    serve(monkeypatch, fake_deb)
    fetch_dataset("c-code", cache=cache)
    (cache / "c-code" / MARKER_NAME).write_text("{truncated")
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    code, out, _ = rnnkit("data", "list")
    assert code == 0
    assert f"c-code (damaged: {cache / 'c-code' / MARKER_NAME} is damaged" in out
    assert out.count("\n\n") == len(fetch.DATASETS)  # every data set, those after it too


@pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="needs /proc: a folder root cannot write in"
)
def test_a_cache_that_takes_no_new_files_is_a_one_line_error(monkeypatch, rnnkit):
    monkeypatch.setenv("RNNKIT_CACHE", "/proc")  # a chmod'ed folder would not stop root
    code, _, err = rnnkit("data", "fetch", "airline")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "rnnkit data: error: $RNNKIT_CACHE /proc cannot be written: /proc does not take new files"
    )


def test_names_that_cannot_be_fetched(cache):
    with pytest.raises(ValueError, match="ships inside rnnkit"):
        fetch_dataset("shakespeare", cache=cache)
    with pytest.raises(ValueError, match="fetchable: c-code, abc-music"):
        fetch_dataset("linux", cache=cache)


def test_missing_tools_give_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda tool: None)
    with pytest.raises(FetchError, match="apt-get was not found.*--from FILE"):
        fetch.download_archive("c-code", fetch.RECIPES["c-code"], tmp_path / "a")
    monkeypatch.setattr(fetch.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FetchError, match="pip is not available.*--from FILE"):
        fetch.download_archive("abc-music", fetch.RECIPES["abc-music"], tmp_path / "b")


def test_download_commands_and_their_failures(tmp_path, monkeypatch):
    seen = []

    def run(command, cwd, **options):
        seen.append((command, cwd))
        if "pip" in command:
            (cwd / "music21-10.5.1-py3-none-any.whl").write_bytes(b"wheel")
            return subprocess.CompletedProcess(command, 0, "", "")
        return subprocess.CompletedProcess(command, 100, "", "E: Unable to locate package")

    monkeypatch.setattr(fetch.subprocess, "run", run)
    monkeypatch.setattr(fetch.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    wheel = fetch.download_archive("abc-music", fetch.RECIPES["abc-music"], tmp_path / "w")
    assert wheel.name == "music21-10.5.1-py3-none-any.whl"
    pip_arguments = " ".join(seen[0][0][1:])
    assert pip_arguments == (
        f"-m pip download --no-deps --only-binary :all: music21==10.5.1 --dest {tmp_path / 'w'}"
    )
    with pytest.raises(FetchError, match="glibc-source` failed .exit 100.: E: Unable to locate"):
        fetch.download_archive("c-code", fetch.RECIPES["c-code"], tmp_path / "d")
    assert seen[1] == (["/usr/bin/apt-get", "download", "glibc-source"], tmp_path / "d")


def test_archive_paths_cannot_escape():
    assert safe_relative_path("./usr/src/a.c") == "usr/src/a.c"
    assert safe_relative_path("/etc/passwd") is None
    assert safe_relative_path("a/../../b.c") is None
    assert safe_relative_path("./") is None


def test_ar_reader(fake_deb, tmp_path):
    assert list(read_ar_members(fake_deb)) == ["debian-binary", "control.tar.xz", "data.tar.xz"]
    assert read_ar_members(fake_deb)["debian-binary"] == b"2.0\n"
    (tmp_path / "not.deb").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not an ar archive"):
        read_ar_members(tmp_path / "not.deb")


def test_sigterm_mid_fetch_removes_the_temporary_folder(fake_deb, cache, monkeypatch):
    def files_then_sigterm(archive):
        yield "stdlib/one.c", b"int one;\n"
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would, while extracting
        yield "stdlib/two.c", b"int two;\n"

    recipe = dataclasses.replace(fetch.RECIPES["c-code"], files=files_then_sigterm)
    monkeypatch.setitem(fetch.RECIPES, "c-code", recipe)
    serve(monkeypatch, fake_deb)
    seen = []  # outside the fetch, SIGTERM is this test's to handle (not the default: exit)

    def outside(signum, frame):
        seen.append(signum)

    before = signal.signal(signal.SIGTERM, outside)
    try:
        with pytest.raises(KeyboardInterrupt):
            fetch_dataset("c-code", cache=cache)
        assert signal.getsignal(signal.SIGTERM) is outside and seen == []
    finally:
        signal.signal(signal.SIGTERM, before)
    assert list(cache.iterdir()) == []
