"""Every ``rnnkit reproduce`` entry at a tiny scale, end to end: its documented command with
its budget scaled down (and its model shrunk by the documented-commands test's tiny sizes),
on the tiny stand-ins of the fetched data sets (tests/cli/documented_commands.py), then each
figure read back from what the run wrote. One entry runs through the real subprocess path,
and the command's table and JSON are checked on it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.reproduce import runner
from rnnkit.reproduce.report import table_lines
from rnnkit.reproduce.results import ENTRIES
from rnnkit.reproduce.runner import Row, run_entries
from tests.cli import documented_commands as docs
from tests.cli.checks import assert_one_line_error
from tests.cli.test_documented_commands import BUDGET_FLAGS, TINY, command_path

SCALE = 0.001  # 560 s -> 0.56 s, 12,000 steps -> 12
KEEP_SIZES = {("experiment", "exploding")}  # its 32 x 64 case is the measured one


def tiny_sizes(argv: list[str]) -> list[str]:
    """The documented-commands test's tiny model sizes for ``argv``'s command, its budgets
    left out (the scaled budget of the entry stays in charge)."""
    path = command_path(argv)
    if path in KEEP_SIZES or argv[0] == "evaluate":
        return []
    words, out = TINY.get(path, []), []
    for k, word in enumerate(words):
        if word not in BUDGET_FLAGS and (k == 0 or words[k - 1] not in BUDGET_FLAGS):
            out.append(word)
    if path == ("train", "tag"):
        out += ["--char-embedding-size", "4", "--char-hidden-size", "4"]
    if path == ("train", "charlm"):
        out += ["--max-chars", "20000"]
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reproduce-cache")
    docs.write_fake_cache(folder)
    return folder


@pytest.fixture
def in_process(cache, monkeypatch):
    """``launch`` for ``run_entries``: ``rnnkit ARGV`` in this process, in the folder."""
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))

    def launch(argv: list[str], cwd: Path) -> tuple[int, str]:
        out = io.StringIO()
        with monkeypatch.context() as inside:
            inside.chdir(cwd)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                code = main([*argv, *tiny_sizes(argv)])
        return code, out.getvalue()

    return launch


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_runs_at_a_tiny_scale_and_its_figures_are_read_back(entry, in_process, tmp_path):
    rows = run_entries([entry], tmp_path, SCALE, "cpu", in_process)
    assert [row.metric for row in rows] == [metric.name for metric in entry.metrics]
    for row in rows:
        assert row.verdict == "smoke" and row.error == "", row
        assert isinstance(row.value, float), row


def test_the_command_runs_entries_as_subprocesses_and_writes_its_table(
    rnnkit, cache, tmp_path, monkeypatch
):
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    src = str(Path(__file__).resolve().parents[2] / "src")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    monkeypatch.chdir(tmp_path)  # a relative --runs-dir: the command resolves it once
    argv = ["reproduce", "pos", "--scale", "0.001", "--runs-dir", "out", "--json"]
    code, out, err = rnnkit(*argv)
    assert code == 0, err
    result = json.loads(out)
    tmp_path = tmp_path / "out"
    assert result["judged"] is False and result["machine"]["torch"] == torch.__version__
    [row] = result["rows"]
    assert row["entry"] == "pos" and row["verdict"] == "smoke" and row["value"] >= 0, row
    assert row["command"].startswith("rnnkit train tag --dataset pos --char-features")
    assert row["command"].endswith("--threads 1 --max-steps 1"), row  # 1,200 steps x 0.001
    assert json.loads((tmp_path / "results.json").read_text()) == result
    assert list((tmp_path / "pos" / "runs").glob("tag-pos-*/config.json"))
    code, out, err = rnnkit(*argv)
    assert code == 2 and "holds an earlier run" in err  # never overwrites a run
    lines = table_lines([Row(**row)], result["machine"], 0.001)
    assert "smoke run (--scale 0.001): no quality judgement" in lines
    assert lines[0].startswith("machine: ") and lines[-1] == "1 of 1 figures read"


def test_a_full_scale_row_is_judged_against_its_range():
    assert ENTRIES[0].metrics[0].judge(1.43) and not ENTRIES[0].metrics[0].judge(1.6)
    row = Row("charlm-quick", "best val nats/char", 1.6, "1.35 - 1.47", "1.431", "fail", 600.0)
    lines = table_lines(
        [row],
        {"cpu": "x", "cores": 2, "cpu_flags": [], "device": "cpu", "torch": "2", "python": "3"},
        1.0,
    )
    assert not any("smoke" in line for line in lines)
    assert "fail" in lines[2] and lines[-1] == "0 of 1 figures in range"


def test_a_runs_dir_that_is_a_file_or_under_one_is_refused_before_any_run(rnnkit, tmp_path):
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello world\n")
    entry = next(e for e in ENTRIES if not e.fetch)

    def launch(argv, cwd):
        raise AssertionError(f"ran {argv} in {cwd}")

    with pytest.raises(ValueError) as error:
        run_entries([entry], corpus, SCALE, "cpu", launch)
    assert str(error.value) == f"--runs-dir {corpus} is a file; give a directory for the runs"
    with pytest.raises(ValueError) as error:
        run_entries([entry], corpus / "sub", SCALE, "cpu", launch)
    words = f"--runs-dir {corpus / 'sub'} cannot be made: {corpus} is not a folder"
    assert str(error.value) == words
    argv = ["reproduce", entry.name, "--scale", str(SCALE), "--runs-dir", corpus]
    assert_one_line_error(rnnkit(*argv), f"--runs-dir {corpus} is a file")
    assert corpus.read_bytes() == b"hello world\n" and list(tmp_path.iterdir()) == [corpus]


def fake_child(monkeypatch, code: str) -> None:
    """Every entry's command becomes ``python -c CODE``, in its working directory."""
    monkeypatch.setattr(runner, "rnnkit_command", lambda argv: [sys.executable, "-c", code])


def test_the_child_gets_the_cache_folders_as_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNNKIT_CACHE", "cache")
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", "native")
    names = repr(runner.CACHE_VARIABLES)
    fake_child(monkeypatch, f"import json, os; print(json.dumps([os.environ[n] for n in {names}]))")
    (tmp_path / "entry").mkdir()
    code, out = runner.subprocess_launch([], tmp_path / "entry")
    assert code == 0 and json.loads(out) == [str(tmp_path / "cache"), str(tmp_path / "native")]


STOPPABLE = """
import pathlib, signal, sys, time
def save(signum, frame):
    pathlib.Path("saved").write_text("final checkpoint")
    sys.exit(130)
signal.signal(signal.SIGTERM, save)
pathlib.Path("ready").write_text("")
time.sleep(30)
"""


def test_sigterm_is_passed_on_to_the_entry_which_is_reported_interrupted(
    rnnkit, tmp_path, monkeypatch
):
    fake_child(monkeypatch, STOPPABLE)
    out = tmp_path / "out"

    def kill_when_ready():
        deadline = time.monotonic() + 20
        while not (out / "exploding" / "ready").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    outside = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # not the default: exit
    try:
        threading.Thread(target=kill_when_ready, daemon=True).start()
        code, _, err = rnnkit(
            "reproduce", "exploding", "adding", "--scale", "0.02", "--runs-dir", out
        )
    finally:
        signal.signal(signal.SIGTERM, outside)
    assert code == 130, err
    assert err.splitlines()[-1] == "rnnkit reproduce: interrupted during exploding; not run: adding"
    assert (out / "exploding" / "saved").read_text() == "final checkpoint"  # it ended, saved
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {row["entry"] for row in rows} == {"exploding"}
    for row in rows:
        assert row["verdict"] == "interrupted", row
        assert row["error"] == "stopped by SIGTERM (the command exited with 130)"
    assert not (out / "adding").exists()
