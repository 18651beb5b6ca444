"""The export folder is written whole or not at all: a graph whose write fails leaves no file,
a torch.export failure is shown as the bug it is (not a one-line error) with nothing left, a
SIGTERM mid-export (a real process, a real signal) removes the hidden staging folder and exits
with 130, and the folder gets the mode ``mkdir`` gives under the umask, as a run folder has."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.export import graphs as graphs_module
from rnnkit.export.files import export_run
from rnnkit.export.graphs import Graph, write_graph
from rnnkit.export.runtime import onnx_folder

pytest.importorskip("onnxruntime", reason="onnxruntime is a test extra")
ROOT = Path(__file__).resolve().parents[2]
CLASSIFY = ROOT / "tests" / "fixtures" / "old_runs" / "classify"


@pytest.fixture
def run(tmp_path):
    shutil.copytree(CLASSIFY, tmp_path / "run")
    return tmp_path / "run"


def half_written_then(error: Exception):
    """An exporter that writes the start of its file, then fails with ``error``."""

    def export(*args, **kwargs):
        path = next(Path(a) for a in (*args, *kwargs.values()) if isinstance(a, (str, Path)))
        path.write_bytes(b"PK\x03\x04 half a file")
        raise error

    return export


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_graph_whose_write_fails_leaves_no_file(fmt, tmp_path, monkeypatch):
    graph = Graph(torch.nn.Linear(3, 2).eval(), {"input": torch.zeros(2, 3)}, ["y"])
    if fmt == "onnx":  # the exporters' own failure: one line, suggesting pt2
        monkeypatch.setattr(graphs_module, "_onnx", half_written_then(RuntimeError("no op")))
        with pytest.raises(ValueError, match="the ONNX exporter failed on the g graph"):
            write_graph(graph, "g", fmt, tmp_path)
    else:  # no format left to suggest: rnnkit's bug, raised as it is
        monkeypatch.setattr(torch.export, "save", half_written_then(RuntimeError("a bug")))
        with pytest.raises(RuntimeError, match="a bug"):
            write_graph(graph, "g", fmt, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_torch_export_failure_is_a_traceback_and_leaves_nothing(run, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise AttributeError("'ScannedLayer' object has no attribute 'batch_first'")

    monkeypatch.setattr(torch.export, "export", broken)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(AttributeError, match="batch_first"):
        main(["export", str(run), "--format", "pt2", "--out", str(out / "g")])
    assert list(out.iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_sigterm_mid_export_removes_the_staging_folder_and_exits_130(run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "rnnkit", "export", str(run), "--format", "pt2"]
    job = subprocess.Popen(
        [*command, "--out", str(out / "g")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob(".g-*")) and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.poll() is None, "the export ended before its staging folder was seen"
    job.send_signal(signal.SIGTERM)  # as `kill PID` would, while the graphs are written
    _, stderr = job.communicate(timeout=120)
    assert job.returncode == 130, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == "rnnkit export: interrupted"
    assert list(out.iterdir()) == []


@pytest.fixture
def umask():
    """Set the process's umask for the test; the one before it is restored."""
    before = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(before)


def test_the_folder_gets_the_mode_mkdir_gives_under_the_umask(run, tmp_path, umask):
    umask(0o022)  # the ONNX Runtime backend's own export (RUN_DIR/export-onnx)
    assert stat.S_IMODE(onnx_folder(run).stat().st_mode) == 0o755
    (run / "plain").mkdir()
    assert stat.S_IMODE((run / "plain").stat().st_mode) == 0o755
    umask(0o027)
    out = export_run(run, "pt2", tmp_path / "pt2")
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
