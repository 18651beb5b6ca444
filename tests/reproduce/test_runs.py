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
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
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
