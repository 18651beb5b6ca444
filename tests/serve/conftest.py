"""The studio served for real: ``server`` starts ``rnnkit serve`` on a free port of
localhost over copies of the old-run fixtures (charlm, seq2seq, forecast, classify,
caption) and yields its address, for the browser tests and the tests of the live server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.compat.harness import copy_data, copy_run

FIXTURES = Path(__file__).parents[1] / "fixtures" / "old_runs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("studio")  # one a module: its data beside its runs
    runs = base / "runs"
    runs.mkdir()
    for task in ("charlm", "seq2seq", "forecast"):
        shutil.copytree(FIXTURES / task, runs / task)
    data = copy_data(base)
    for task in ("classify", "caption"):  # their data there: a validation example, test images
        copy_run(task, runs, data)
    port = free_port()
    src = Path(__file__).parents[2] / "src"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "serve", "--runs-dir", str(runs), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/runs", timeout=1)
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail(f"rnnkit serve did not start: {process.stdout.read()}")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)
