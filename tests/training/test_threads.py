"""ThreadTuner: probes the other thread count and keeps the faster one."""

from __future__ import annotations

import pytest
import torch

from rnnkit.training.threads import ThreadTuner


@pytest.fixture
def thread_calls(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    return calls


def drive(tuner, seconds_by_threads, steps):
    """Feed the tuner ``steps`` steps whose duration depends on the thread count in use."""
    threads = tuner.current
    for _ in range(steps):
        seconds = seconds_by_threads[threads]
        tuner.after_step(seconds)
        threads = tuner._other() if tuner._trial is not None else tuner.current


def test_switches_to_one_thread_when_two_are_slower(thread_calls):
    tuner = ThreadTuner(most=2, interval=1.0, probe=4)
    drive(tuner, {2: 0.5, 1: 0.1}, steps=12)
    assert tuner.current == 1 and thread_calls[0] == 1 and thread_calls[-1] == 1


def test_stays_with_two_threads_when_they_are_faster(thread_calls):
    tuner = ThreadTuner(most=2, interval=1.0, probe=4)
    drive(tuner, {2: 0.1, 1: 0.2}, steps=40)
    assert tuner.current == 2
    assert thread_calls and thread_calls[-1] == 2  # probed 1, went back to 2
    assert 1 in thread_calls


def test_does_nothing_on_one_core(thread_calls):
    tuner = ThreadTuner(most=1)
    for _ in range(100):
        tuner.after_step(1.0)
    assert thread_calls == []
