"""``rnnkit.cli.args.report``: a finished run's summary, and how to go on after a stop."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rnnkit.cli.args import report


def _stopped_run():
    train = SimpleNamespace(run_dir="runs/x", stop_reason="interrupted")
    return SimpleNamespace(summary=lambda: {"loss": 1.0}, interrupted=True, train=train)


@pytest.mark.parametrize(("rank", "said"), [(None, True), ("0", True), ("1", False)])
def test_a_stopped_run_says_how_to_continue_once_under_torchrun(rank, said, capsys, monkeypatch):
    if rank is None:
        monkeypatch.delenv("RANK", raising=False)
    else:
        monkeypatch.setenv("RANK", rank)
    assert report(_stopped_run(), False, lambda summary: [f"loss {summary['loss']}"]) == 130
    err = capsys.readouterr().err
    assert ("continue with: rnnkit train --resume runs/x" in err) is said
