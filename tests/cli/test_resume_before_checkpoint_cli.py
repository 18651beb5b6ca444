"""``rnnkit train --resume`` on a run killed (``kill -9``) before its first checkpoint: a
checkpoint is written only at an evaluation, so the run has nothing to go on from. It trains
again from step 0 in its folder, with its recorded configuration, said on stderr in one line,
and ends with the same figures as an uninterrupted run with the seed. Each command runs as
its own process, as a user runs them, so the kill is a real one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import TEXT

TINY = [
    "--preset", "smoke", "--hidden-size", "16", "--seq-len", "10", "--max-chars", "100000",
    "--eval-every", "100000", "--log-every", "2", "--threads", "1", "--seed", "4",
]  # fmt: skip
SLOW = 10_000_000  # the killed run's stop: far away, so it is surely killed while training


def _rnnkit(*argv, **options) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rnnkit", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **options)


def _records(run_dir) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(s).items() if not k.endswith("per_s")} for s in lines]


def _kill_while_training(argv, run_dir) -> None:
    """Start ``rnnkit *argv``, wait for a few training records, then SIGKILL it."""
    command = [sys.executable, "-m", "rnnkit", *map(str, argv)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        metrics = run_dir / "metrics.jsonl"
        while time.monotonic() < deadline and process.poll() is None:
            if metrics.is_file() and len(metrics.read_text(encoding="utf-8").splitlines()) >= 3:
                break
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL


def test_a_run_killed_before_its_first_checkpoint_resumes_from_step_0(tmp_path):
    data = tmp_path / "tiny.txt"
    data.write_text(TEXT, encoding="utf-8")
    train = ["train", "charlm", *TINY, "--data", data]
    whole = _rnnkit(*train, "--max-steps", 12, "--out", tmp_path / "whole", "--json")
    assert whole.returncode == 0, whole.stderr
    died = tmp_path / "died"
    _kill_while_training([*train, "--max-steps", SLOW, "--out", died], died)
    assert not (died / "checkpoints" / "last.safetensors").exists()
    assert _records(died)  # the dead attempt's records, about to go
    again = _rnnkit("train", "--resume", died, "--max-steps", 12, "--json")
    assert again.returncode == 0, again.stderr
    said = [line for line in again.stderr.splitlines() if "first checkpoint" in line]
    assert said == [
        f"{died} stopped before its first checkpoint: training it again from step 0 with its "
        "recorded configuration and the new stopping point"
    ]
    expected, got = json.loads(whole.stdout), json.loads(again.stdout)
    timings = ("tokens_per_s", "train_seconds", "elapsed_s")
    assert {k: v for k, v in got.items() if k not in (*timings, "run_dir")} == {
        k: v for k, v in expected.items() if k not in (*timings, "run_dir")
    }
    assert got["steps"] == 12 and got["val_nats"] > 0
    assert _records(died) == _records(tmp_path / "whole")
    recorded = [
        json.loads((path / "config.json").read_text()) for path in (died, tmp_path / "whole")
    ]
    assert recorded[0] == recorded[1]  # the stop, the preset: as if trained so at once
    # the folder holds a run again, which a new --out still refuses
    refused = _rnnkit(*train, "--out", died)
    assert refused.returncode == 2 and "--resume" in refused.stderr
