"""A leading ``~`` in a path rnnkit is given is the home folder, in every command: the shell
leaves it in ``--out=~/x`` and in a quoted path, and rnnkit made a folder named ``~`` in the
working directory instead (or refused ``~/RUN``: "no run directory"). The output figures' and
seq2seq's --dataset's ``~`` are checked in tests/data (test_output_paths, test_parallel)."""

from __future__ import annotations

import json

import pytest

from tests.cli.checks import assert_one_line_error


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HOME pointed at an empty folder, and the working directory another one."""
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "home"


def test_out_run_dir_and_diagnose_out_under_home(rnnkit, home, tmp_path):
    code, _, err = rnnkit(
        "train", "parity", "--max-steps", "1", "--hidden-size", "4", "--examples", "50",
        "--out=~/p9",
    )  # fmt: skip
    assert code == 0, err
    assert (home / "p9" / "config.json").is_file()
    code, stdout, err = rnnkit("evaluate", "~/p9", "--json")
    assert code == 0, err
    assert json.loads(stdout)["run_dir"] == str(home / "p9")
    code, _, err = rnnkit("train", "--resume", "~/p9", "--max-steps", "2")
    assert code == 0, err
    code, _, err = rnnkit("predict", "~/p9", "1011", "--json")
    assert code == 0, err
    code, _, err = rnnkit("diagnose", "gradients", "--cells", "rnn", "--seq-len", "5",
                          "--batch-size", "2", "--hidden-size", "4", "--out", "~/diag")  # fmt: skip
    assert code == 0, err
    assert (home / "diag" / "gradients.png").is_file()
    assert not (tmp_path / "work" / "~").exists()


def test_an_empty_out_is_refused(rnnkit, home, tmp_path):
    """``--out ""`` read as the working folder: ``diagnose`` wrote gradients.png and .json
    there, and a task's run fell back to a new runs/<task>-<time> without a word."""
    work = tmp_path / "work"
    result = rnnkit("train", "parity", "--max-steps", "1", "--hidden-size", "4", "--out", "")
    assert_one_line_error(result, "--out is empty")
    result = rnnkit("diagnose", "gradients", "--cells", "rnn", "--seq-len", "5", "--out", "")
    assert_one_line_error(result, "--out is empty")
    assert list(work.iterdir()) == []
