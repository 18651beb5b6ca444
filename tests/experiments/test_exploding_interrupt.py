"""``rnnkit experiment exploding`` stopped by Ctrl-C or SIGTERM writes and prints what it has
and exits with 130. ``rnnkit reproduce`` passes Ctrl-C on to its entries as SIGTERM; this
command once died of it at once, its --out folder empty and its row "exited with -15"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import rnnkit
from rnnkit.cli.main import main
from rnnkit.experiments import exploding

SMALL = ["--hidden-size", "4", "--seq-lens", "2,3", "--train-seq-len", "2"]


def test_an_interrupted_run_keeps_its_steps_and_the_next_is_not_started(
    tmp_path, capsys, monkeypatch
):
    """Ctrl-C at the unclipped run's 4th step: 3 steps done, the clipped run never starts."""
    calls = []
    clip = exploding.clip_gradients_

    def interrupted_at_4(parameters, max_norm):
        calls.append(max_norm)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return clip(parameters, max_norm)

    monkeypatch.setattr(exploding, "clip_gradients_", interrupted_at_4)
    argv = ["experiment", "exploding", *SMALL, "--steps", "50", "--out", str(tmp_path)]
    assert main([*argv, "--json"]) == 130
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["interrupted"] is True
    assert list(result["grad_norm_by_seq_len"]) == ["2", "3"]  # measured before training
    [run] = result["results"]
    assert run["clip"] is None and run["interrupted"] is True and run["steps"] == 3
    assert len(run["losses"]) == 3 and not run["diverged"]
    assert json.loads((tmp_path / "exploding.json").read_text()) == result
    assert (tmp_path / "exploding.png").read_bytes()[:4] == b"\x89PNG"
    assert err.splitlines()[-1] == (
        "stopped early: the unclipped run was interrupted after 3 steps; the results so far "
        f"are in {tmp_path / 'exploding.json'}"
    )
    calls.clear()
    assert main(argv) == 130  # the report says so too
    report = capsys.readouterr().out
    assert "no clipping  interrupted after 3 steps" in report
    assert "interrupted: the figures above are those measured before the stop" in report


def test_an_uninterrupted_run_writes_its_result_and_says_it_was_not_interrupted(tmp_path, capsys):
    argv = ["experiment", "exploding", *SMALL, "--steps", "3", "--out", str(tmp_path), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["interrupted"] is False
    assert [(run["steps"], run["interrupted"]) for run in result["results"]] == [
        (3, False),
        (3, False),
    ]
    assert json.loads((tmp_path / "exploding.json").read_text()) == result


def test_sigterm_stops_the_command_which_writes_what_it_has_and_exits_130(tmp_path):
    """A real process, as ``rnnkit reproduce`` runs it, sent SIGTERM once its --out folder
    exists (made just before the measuring and training that a stop answers with a result),
    with far too many steps to finish first."""
    out = tmp_path / "out"
    src = str(Path(rnnkit.__file__).resolve().parents[1])  # the rnnkit under test
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
    }
    argv = ["experiment", "exploding", *SMALL, "--steps", "100000000", "--out", str(out), "--json"]
    child = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        deadline = time.monotonic() + 120  # importing torch on a loaded machine
        while not out.is_dir() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert out.is_dir(), child.communicate(timeout=5)
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, stderr
    result = json.loads(stdout)
    assert result["interrupted"] is True
    assert json.loads((out / "exploding.json").read_text()) == result
    assert (out / "exploding.png").is_file()
    assert len(result["results"]) <= 1  # the clipped run never started
    for run in result["results"]:
        assert run["interrupted"] is True and len(run["losses"]) == run["steps"] < 100000000
    assert stderr.splitlines()[-1].startswith("stopped early: ")
