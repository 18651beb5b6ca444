import io
import os
import sys

from rnnkit.cli.main import main


def test_a_closed_pipe_ends_quietly_with_141(monkeypatch, capsys):
    # `rnnkit data list | head -1` after head has gone: every write fails with EPIPE.
    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = io.TextIOWrapper(os.fdopen(write_end, "wb", buffering=0), write_through=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        assert main(["data", "list"]) == 141
    finally:
        monkeypatch.undo()
        stdout.close()
    assert "Traceback" not in capsys.readouterr().err
