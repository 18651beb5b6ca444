"""Flags that the rest of the configuration leaves without effect are refused with a
one-line error before a run directory is made, rather than silently ignored."""

from __future__ import annotations

import pytest

from tests.cli.checks import assert_one_line_error
from tests.tasks import labelled_fixtures as fixtures
from tests.tasks.forecast_fixtures import write_series_csv

TINY = ["--hidden-size", "8", "--batch-size", "8", "--max-steps", "1", "--no-baselines"]


@pytest.mark.parametrize(
    "flag, value",
    [("--min-count", "5"), ("--embedding", "onehot"), ("--embedding-size", "7")],
)
def test_vector_input_refuses_the_options_of_text(rnnkit, tmp_path, monkeypatch, flag, value):
    data = fixtures.vectors()
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    out = tmp_path / "never"
    args = ["train", "classify", "--dataset", "vowels", *TINY, flag, value, "--out", out]
    assert_one_line_error(rnnkit(*args), f"holds vectors, not text; {flag} does not apply")
    assert not out.exists()


@pytest.mark.parametrize(
    "flag, name", [("--conv-width", "conv_width"), ("--conv-layers", "conv_layers")]
)
def test_conv_options_need_conv_channels(rnnkit, tmp_path, flag, name):
    names_csv = tmp_path / "names.csv"
    fixtures.write_csv(names_csv, fixtures.names())
    out = tmp_path / "never"
    args = ["train", "classify", "--dataset", names_csv, *TINY, "--out", out]
    result = rnnkit(*args, flag, "5")
    assert_one_line_error(result, f"{name} applies to a convolutional front end only")
    assert not out.exists()
    code, _, err = rnnkit(*args, flag, "5", "--conv-channels", "4")
    assert code == 0, err


@pytest.mark.parametrize(
    "flag, name",
    [
        ("--char-hidden-size", "char_hidden_size"),
        ("--char-embedding-size", "char_embedding_size"),
        ("--max-word-chars", "max_word_chars"),
    ],
)
def test_character_options_need_char_features(rnnkit, tmp_path, flag, name):
    conll = tmp_path / "tiny.conll"
    fixtures.write_conll(conll, fixtures.tagged())
    out = tmp_path / "never"
    args = ["train", "tag", "--dataset", conll, *TINY, "--out", out]
    result = rnnkit(*args, flag, "5")
    assert_one_line_error(result, f"{name} applies to char_features only")
    assert not out.exists()
    code, _, err = rnnkit(*args, flag, "5", "--char-features")
    assert code == 0, err


def test_a_period_longer_than_the_training_part_names_what_fits(rnnkit, tmp_path):
    series = write_series_csv(tmp_path / "series.csv")  # 96 points
    out = tmp_path / "never"
    sizes = ["--window", "12", "--horizon", "4", "--val-size", "12", "--test-size", "12"]
    args = ["train", "forecast", "--dataset", series, *sizes, *TINY, "--no-arima", "--out", out]
    result = rnnkit(*args, "--period", "80")
    assert_one_line_error(result, "--period 80", "the largest --period that fits is 72")
    assert not out.exists()
    code, _, err = rnnkit(*args, "--period", "72")
    assert code == 0, err
