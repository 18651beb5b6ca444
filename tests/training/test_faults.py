"""Faults under torchrun: a rank killed (SIGKILL) mid-run under ``--max-restarts 1`` makes
the job go on from the last checkpoint and end where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.training.test_distributed import CHARLM, ROOT, records, rnnkit

STEPS = ["--max-steps", "90", "--eval-every", "15", "--log-every", "15"]


def worker_of_rank(launcher: int, rank: int) -> int | None:
    """The pid of the torchrun worker of ``rank`` under the launcher process ``launcher``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == launcher and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    return None


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker through /proc")
def test_a_killed_rank_restarts_from_the_last_checkpoint_and_ends_the_same(tmp_path):
    rnnkit(["train", *CHARLM, *STEPS, "--out", str(tmp_path / "straight")])
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, "--nproc-per-node=2", "--max-restarts=1", "-m", "rnnkit"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    job = subprocess.Popen([*command, "train", *CHARLM, *STEPS, "--out", str(out)], **pipes)
    last = out / "checkpoints" / "last.json"
    deadline = time.monotonic() + 120
    while not last.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    victim = worker_of_rank(job.pid, 1)
    assert victim is not None, "no rank 1 worker to kill"
    killed_at = json.loads(last.read_text())["step"]
    os.kill(victim, signal.SIGKILL)
    _, stderr = job.communicate(timeout=240)
    assert job.returncode == 0, stderr[:6000]
    assert killed_at < 90
    straight, resumed = records(tmp_path / "straight", "eval"), records(out, "eval")
    assert [r["step"] for r in resumed] == [r["step"] for r in straight]
    assert resumed[-1]["val_nats"] == pytest.approx(straight[-1]["val_nats"], abs=1e-5)
    assert not [
        p for p in (out / "checkpoints").iterdir() if p.suffix not in (".json", ".safetensors")
    ]


def test_sigterm_to_the_launcher_stops_every_rank_after_a_final_checkpoint(tmp_path):
    out = tmp_path / "stopped"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, "--nproc-per-node=2", "-m", "rnnkit", "train", *CHARLM]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    steps = ["--max-steps", "100000", "--eval-every", "40", "--log-every", "1"]
    job = subprocess.Popen([*command, *steps, "--out", str(out)], **pipes)
    last = out / "checkpoints" / "last.json"
    deadline = time.monotonic() + 120
    while not last.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # some steps past the evaluation
    job.send_signal(signal.SIGTERM)
    _, stderr = job.communicate(timeout=120)
    saved = json.loads(last.read_text())["step"]
    trained = records(out, "train")[-1]["step"]
    assert saved == trained, stderr[:4000]  # the final checkpoint is at the last step taken
    assert 40 <= saved < 100000


ALONE = """
import sys
import torch
import torch.distributed as dist
from rnnkit.cli.main import main
from rnnkit.training import distributed

here = distributed.world()
if here.rank == 0:
    if sys.argv[1] == "raises":
        raise RuntimeError("rank 0 fails alone")
    sys.exit(main(["evaluate", sys.argv[2]]))
dist.all_reduce(torch.ones(1))  # what rank 0 will never join
"""


@pytest.mark.parametrize("how", ["raises", "cli-error"])
def test_a_rank_that_fails_alone_ends_the_job_instead_of_leaving_the_others_waiting(tmp_path, how):
    """Before, the failing rank waited at exit in a barrier while the others waited in their
    collective for it: the job hung for gloo's 30-minute timeout."""
    script = tmp_path / "alone.py"
    script.write_text(ALONE)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, "--nproc-per-node=2", str(script), how, str(tmp_path / "no-run")]
    job = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        _, stderr = job.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        job.kill()
        job.communicate()
        pytest.fail("the job hung after rank 0 failed alone")
    assert job.returncode != 0
    said = "rank 0 fails alone" if how == "raises" else "rnnkit evaluate: error:"
    assert said in stderr, stderr[-3000:]
