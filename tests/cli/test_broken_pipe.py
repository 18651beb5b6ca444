import io
import os
import sys

from rnnkit.cli.main import main


def closed_stdout(monkeypatch):
    """stdout as ``| head -1`` leaves it after head has gone: every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = io.TextIOWrapper(os.fdopen(write_end, "wb", buffering=0), write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    return stdout


def test_a_closed_pipe_ends_quietly_with_141(monkeypatch, capsys):
    stdout = closed_stdout(monkeypatch)
    try:
        assert main(["data", "list"]) == 141
    finally:
        monkeypatch.undo()
        stdout.close()
    assert "Traceback" not in capsys.readouterr().err


def test_training_into_a_closed_pipe_ends_quietly_with_141(monkeypatch, capsys, tmp_path):
    """``rnnkit train ... | head -1`` said "error: [Errno 32] Broken pipe" and exited 2: the
    training commands turn OS errors into one-line errors, and took the pipe's for one."""
    stdout = closed_stdout(monkeypatch)
    argv = ["train", "parity", "--max-steps", "2", "--hidden-size", "4", "--examples", "50"]
    try:
        assert main([*argv, "--eval-every", "1", "--out", str(tmp_path / "run")]) == 141
    finally:
        monkeypatch.undo()
        stdout.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" not in err, err
