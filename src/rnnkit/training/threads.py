"""Pick torch's intra-op thread count while training, for CPUs that other programs share.

On an idle 2-core machine two threads run a 2x256 LSTM step about 1.7x faster than one. When
another process takes one core, the OpenMP threads spin-wait for each other at every small
parallel region, and the same two threads become 5-30x *slower* than one thread (measured on
the 2-core development machine: 0.9k against 19k tokens/s). ``ThreadTuner`` measures instead
of guessing: every ``interval`` seconds of training it runs ``probe`` steps with the other
thread count and keeps whichever had the shorter median step time (about 2% of the time goes
to probing when the machine is idle).

Thread counts can change floating-point summation order, so a run with a tuner is not
bit-for-bit reproducible; it is off unless asked for (``TrainerConfig.threads = "auto"``).
"""

from __future__ import annotations

import contextlib
import logging
import statistics

import torch

logger = logging.getLogger(__name__)


class ThreadTuner:
    """Alternates between 1 and ``most`` threads in short probes; keeps the faster."""

    def __init__(self, most: int | None = None, interval: float = 45.0, probe: int = 5):
        self.most = most or torch.get_num_threads()
        self.interval, self.probe = interval, probe
        self.current = torch.get_num_threads()
        self._recent: list[float] = []  # step seconds at the current count
        self._trial: list[float] | None = None  # step seconds at the other count, when probing
        self._since_probe = self.interval * 0.75  # the first probe comes early

    @property
    def enabled(self) -> bool:
        return self.most > 1

    def after_step(self, seconds: float) -> None:
        """Record one step's duration; may switch the thread count for the next step."""
        if not self.enabled:
            return
        if self._trial is not None:
            self._trial.append(seconds)
            if len(self._trial) >= self.probe:
                self._decide()
            return
        self._recent = [*self._recent[-(self.probe - 1) :], seconds]
        self._since_probe += seconds
        if self._since_probe >= self.interval and len(self._recent) >= self.probe - 1:
            self._since_probe = 0.0
            self._trial = []
            torch.set_num_threads(self._other())

    def _decide(self) -> None:
        trial = statistics.median(self._trial[1:])  # the first step after a switch warms up
        current = statistics.median(self._recent)
        if trial < current:
            previous, self.current = self.current, self._other()
            logger.info(
                "threads %d -> %d (median step %.3f s -> %.3f s)",
                previous,
                self.current,
                current,
                trial,
            )
            self._recent = self._trial[1:]
        torch.set_num_threads(self.current)
        self._trial = None

    def _other(self) -> int:
        return 1 if self.current != 1 else self.most


@contextlib.contextmanager
def one_thread():
    """Run on one torch thread, then go back to the count before. Generation and diagnostics
    multiply small matrices one step at a time, where a second thread cannot help, and on a
    shared CPU two spin-waiting threads make them several times slower (2,000 characters
    sampled: 44 s with 2 threads, 7 s with 1; the four fresh cores diagnosed at T=200: 34 s
    and 8 s; on the 2-core machine under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
