"""The "continue with: rnnkit train --resume RUN" hint of an entry that ``rnnkit reproduce``
stopped: the entry runs in its own folder, so the run's relative path, printed as it was,
named a folder that is not there from where the user typed ``rnnkit reproduce``."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import rnnkit
from rnnkit.cli.args import report, user_path
from rnnkit.reproduce import runner
from tests.reproduce.test_runs import fake_child

STOPPED_TRAIN = """
from types import SimpleNamespace
from rnnkit.cli.args import report
train = SimpleNamespace(run_dir="runs/quick", stop_reason="interrupted")
report(SimpleNamespace(summary=lambda: {}, interrupted=True, train=train), True, None)
"""


def test_the_hint_of_an_entry_works_from_the_users_folder(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    src = str(Path(rnnkit.__file__).resolve().parents[1])  # the rnnkit under test
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv(runner.CALLER_DIR_VARIABLE, raising=False)
    fake_child(monkeypatch, STOPPED_TRAIN)
    workdir = tmp_path / "repro" / "charlm-quick"  # as run_entries gives each entry
    workdir.mkdir(parents=True)
    code, _ = runner.subprocess_launch([], workdir)
    err = capfd.readouterr().err
    assert code == 0, err
    [hint] = [line for line in err.splitlines() if "continue with" in line]
    resumed = hint.partition("rnnkit train --resume ")[2]
    assert (tmp_path / resumed).resolve() == (workdir / "runs" / "quick").resolve()


def test_a_run_in_the_users_own_folder_keeps_its_path_as_given(tmp_path, monkeypatch, capsys):
    train = SimpleNamespace(run_dir="runs/x", stop_reason="interrupted")
    stopped = SimpleNamespace(summary=lambda: {}, interrupted=True, train=train)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(runner.CALLER_DIR_VARIABLE, raising=False)
    assert report(stopped, True, None) == 130
    assert "continue with: rnnkit train --resume runs/x\n" in capsys.readouterr().err
    monkeypatch.setenv(runner.CALLER_DIR_VARIABLE, str(tmp_path))  # reproduce, same folder
    assert user_path("runs/x") == "runs/x"
    monkeypatch.setenv(runner.CALLER_DIR_VARIABLE, str(tmp_path / "elsewhere"))
    assert user_path("runs/x") == str(tmp_path / "runs" / "x")
    assert user_path("/abs/run") == "/abs/run"
