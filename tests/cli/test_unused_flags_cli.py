"""Flags that the rest of the configuration leaves without effect are refused with a
one-line error before a run directory is made, rather than silently ignored."""

from __future__ import annotations

import pytest

from rnnkit.tasks import classify_config, tag_config
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


def classify_data(tmp_path):
    fixtures.write_csv(tmp_path / "names.csv", fixtures.names())
    return ["classify", "--dataset", tmp_path / "names.csv"]


def tag_data(tmp_path):
    fixtures.write_conll(tmp_path / "tiny.conll", fixtures.tagged())
    return ["tag", "--dataset", tmp_path / "tiny.conll"]


# (task's data, flag, its config field, the message's words, the flag it needs)
NEEDS = [
    (classify_data, "--conv-width", "conv_width", "a convolutional front end", "--conv-channels"),
    (classify_data, "--conv-layers", "conv_layers", "a convolutional front end", "--conv-channels"),
    (tag_data, "--char-hidden-size", "char_hidden_size", "char_features", "--char-features"),
    (tag_data, "--char-embedding-size", "char_embedding_size", "char_features", "--char-features"),
    (tag_data, "--max-word-chars", "max_word_chars", "char_features", "--char-features"),
]


@pytest.mark.parametrize("task_data, flag, name, what, needed", NEEDS)
def test_an_option_of_a_part_left_out_is_refused(
    rnnkit, tmp_path, task_data, flag, name, what, needed
):
    out = tmp_path / "never"
    args = ["train", *task_data(tmp_path), *TINY, "--out", out]
    assert_one_line_error(rnnkit(*args, flag, "5"), f"{name} applies to {what} only")
    assert not out.exists()
    value = ["4"] if needed == "--conv-channels" else []
    code, _, err = rnnkit(*args, flag, "5", needed, *value)
    assert code == 0, err


@pytest.mark.parametrize("task_data, flag, name, what, needed", NEEDS)
def test_an_old_run_that_recorded_such_an_option_still_reads(task_data, flag, name, what, needed):
    """The refusal is made as a run starts, not in ``validate``, which reading a run's
    config.json runs too: runs from before it recorded these options without effect."""
    module = classify_config if task_data is classify_data else tag_config
    section = "data" if name == "max_word_chars" else "model"
    config = module.resolve_config({f"{section}.{name}": 5})
    assert getattr(getattr(config, section), name) == 5


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


def test_a_one_hot_input_refuses_an_embedding_size(rnnkit, tmp_path):
    out = tmp_path / "never"
    args = ["train", *classify_data(tmp_path), *TINY, "--embedding", "onehot", "--out", out]
    message = "--embedding-size applies to --embedding learned only"
    assert_one_line_error(rnnkit(*args, "--embedding-size", "7"), message)
    assert not out.exists()
    code, _, err = rnnkit(*args)
    assert code == 0, err


@pytest.mark.parametrize(
    "before",
    [
        ["--max-steps", "2"],
        ["--json"],
        ["--device", "cpu", "--time-budget", "1s"],
        ["--resume", "elsewhere"],
    ],  # fmt: skip
)
def test_trains_own_options_before_the_task_are_refused(rnnkit, tmp_path, before):
    """``rnnkit train --max-steps 2 --json parity ...`` ran parity's 3,000 default steps and
    printed text: options before TASK are train's (for --resume), and a task's run ignored
    them; ``--resume RUN parity --out X`` started a new run in X."""
    out = tmp_path / "run"
    result = rnnkit("train", *before, "parity", "--hidden-size", "4", "--out", out)
    flags = [word for word in before if word.startswith("--")]
    assert_one_line_error(result, *flags, "came before the task parity")
    assert not out.exists()
