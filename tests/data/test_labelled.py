"""load_classification / load_tagging on users' files: splits, cards and errors (named sets
are read in test_fetch_labelled.py, after a fetch from fake archives)."""

import hashlib

import numpy as np
import pytest

from rnnkit.data.labelled import (
    CLASSIFICATION_SETS,
    TAGGING_SETS,
    ClassificationData,
    TaggingData,
    load_classification,
    load_tagging,
    split_items,
)


def check_partition(splits, n):
    """The three parts are sorted int64 arrays, disjoint, and together cover 0..n-1."""
    assert set(splits) == {"train", "val", "test"}
    for part in splits.values():
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)
    joined = np.concatenate(list(splits.values()))
    assert len(joined) == n and set(joined.tolist()) == set(range(n))


@pytest.fixture
def reviews_csv(tmp_path):
    """50 rows: 30 'good' and 20 'bad', interleaved."""
    rows = ["text,label"]
    rows += [f"review {i},{'good' if i % 5 < 3 else 'bad'}" for i in range(50)]
    path = tmp_path / "reviews.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_csv_classification_data(reviews_csv):
    data = load_classification(str(reviews_csv))
    assert isinstance(data, ClassificationData)
    assert (data.name, data.kind, data.classes) == ("reviews.csv", "words", ["bad", "good"])
    assert data.inputs[7] == "review 7" and data.labels[7] == "good"
    check_partition(data.splits, 50)
    counts = data.card["counts"]
    assert counts["examples"] == 50 and counts["per_class"] == {"bad": 20, "good": 30}
    assert (counts["train"], counts["val"], counts["test"]) == (40, 5, 5)
    assert data.card["file_sha256"] == hashlib.sha256(reviews_csv.read_bytes()).hexdigest()


def test_classification_splits_are_stratified(reviews_csv):
    data = load_classification(reviews_csv)
    labels = np.array(data.labels)
    for part, (bad, good) in {"train": (16, 24), "val": (2, 3), "test": (2, 3)}.items():
        chosen = labels[data.splits[part]]
        assert (np.sum(chosen == "bad"), np.sum(chosen == "good")) == (bad, good)


def test_splits_are_fixed_for_a_seed_and_move_with_it(reviews_csv):
    first, again = load_classification(reviews_csv), load_classification(reviews_csv, seed=0)
    other = load_classification(reviews_csv, seed=1)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(first.splits[part], again.splits[part])
    assert not np.array_equal(first.splits["test"], other.splits["test"])
    check_partition(other.splits, 50)


def test_split_items_is_the_documented_hash_order():
    splits = split_items(np.zeros(20, dtype=np.int64), seed=3)
    order = sorted(range(20), key=lambda i: hashlib.sha256(f"3:{i}".encode()).digest())
    assert splits["test"].tolist() == sorted(order[:2])
    assert splits["val"].tolist() == sorted(order[2:4])


def test_conll_tagging_data(tmp_path):
    lines = []
    for i in range(30):
        lines += [f"w{i}\tO", f"Oslo{i}\tB-LOC", ""]
    path = tmp_path / "places.conll"
    path.write_text("\n".join(lines), encoding="utf-8")
    data = load_tagging(str(path))
    assert isinstance(data, TaggingData)
    assert data.name == "places.conll" and data.tag_set == ["B-LOC", "O"]
    assert data.sentences[4] == ["w4", "Oslo4"] and data.tags[4] == ["O", "B-LOC"]
    check_partition(data.splits, 30)
    assert [len(data.splits[p]) for p in ("train", "val", "test")] == [24, 3, 3]
    counts = data.card["counts"]
    assert counts["sentences"] == 30 and counts["tokens"] == 60
    assert counts["tags"] == {"B-LOC": 30, "O": 30}


@pytest.mark.parametrize("name", [*CLASSIFICATION_SETS, *TAGGING_SETS])
def test_unfetched_named_set_names_the_fetch_command(name, tmp_path):
    dataset = {**CLASSIFICATION_SETS, **TAGGING_SETS}[name].dataset
    load = load_classification if name in CLASSIFICATION_SETS else load_tagging
    with pytest.raises(ValueError, match=f"not fetched yet.*run `rnnkit data fetch {dataset}`"):
        load(name, cache=tmp_path)


def test_sentiment_tweets_and_pos_oanc_come_with_their_main_fetch():
    assert CLASSIFICATION_SETS["sentiment-tweets"].dataset == "sentiment"
    assert TAGGING_SETS["pos-oanc"].dataset == "pos"


def test_wrong_loader_says_which_to_use():
    with pytest.raises(ValueError, match="pos is a tagging data set; read it with load_tagging"):
        load_classification("pos")
    with pytest.raises(ValueError, match="names is a classification data set"):
        load_tagging("names")


def test_unknown_names_and_files(tmp_path):
    with pytest.raises(ValueError, match="'nmaes' is neither a data set nor a file.*names, sen"):
        load_classification("nmaes")
    text = tmp_path / "reviews.txt"
    text.write_text("text,label\nx,a\ny,b\n")
    with pytest.raises(ValueError, match="is not a .csv file"):
        load_classification(text)
    with pytest.raises(ValueError, match="is neither a data set nor a file.*pos, pos-oanc, ner"):
        load_tagging(str(tmp_path / "missing.conll"))


def test_a_bad_csv_stops_the_load(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\nx,a\ny,a\n")
    with pytest.raises(ValueError, match="every row has the label 'a'"):
        load_classification(path)
