"""A run stopped before its first checkpoint trains again from step 0 on ``--resume``: on
the data file it recorded (its absolute path), not on a file of the same name in the folder
the resume runs from, and not on data changed since (both were read silently before)."""

from __future__ import annotations

import dataclasses
import json
import shutil

from tests.cli.checks import assert_one_line_error
from tests.tasks import labelled_fixtures as fixtures

TINY = ["--hidden-size", "8", "--batch-size", "8", "--max-steps", "2", "--no-baselines"]


def _stopped_before_its_first_checkpoint(run) -> None:
    shutil.rmtree(run / "checkpoints")  # what a run killed before its first evaluation holds


def test_a_run_started_over_reads_its_recorded_file_and_refuses_changed_data(
    rnnkit, tmp_path, monkeypatch
):
    home, elsewhere, run = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "run"
    home.mkdir(), elsewhere.mkdir()
    names = fixtures.names()
    fixtures.write_csv(home / "names.csv", names)
    monkeypatch.chdir(home)
    code, _, err = rnnkit("train", "classify", "--dataset", "names.csv", *TINY, "--out", run)
    assert code == 0, err
    first = json.loads((run / "config.json").read_text())["data"]
    _stopped_before_its_first_checkpoint(run)
    other = dataclasses.replace(names, classes=["a", "b"], labels=["a", "b"] * 30)
    fixtures.write_csv(elsewhere / "names.csv", other)  # same name, other data
    monkeypatch.chdir(elsewhere)
    code, _, err = rnnkit("train", "--resume", run, "--max-steps", "2")
    assert code == 0, err
    again = json.loads((run / "config.json").read_text())["data"]
    same = ("dataset", "classes", "fingerprint", "sizes")  # the card names the file as read
    assert {k: again[k] for k in same} == {k: first[k] for k in same}
    _stopped_before_its_first_checkpoint(run)
    fixtures.write_csv(home / "names.csv", dataclasses.replace(names, inputs=names.inputs[::-1]))
    result = rnnkit("train", "--resume", run, "--max-steps", "2")
    assert_one_line_error(result, f"the data {home / 'names.csv'} has changed since {run}")
    assert json.loads((run / "config.json").read_text())["data"] == again  # left as it was
