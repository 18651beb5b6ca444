"""How a training run reports itself while it runs.

The ``Trainer`` calls a ``Reporter``: ``update`` after every step, ``evaluation`` after each
evaluation (with the sample, if the task makes one), ``close`` at the end. Two reporters:

- ``ProgressBar`` writes to a stream (the CLI gives it stderr). On a terminal it redraws one
  line in place with ``\\r`` a few times a second; otherwise (a log file, CI) it writes a plain
  line every ``interval`` seconds::

      step 1200/5000  24%  loss 1.532  61.2k tok/s  elapsed 2:03  ETA 7:57

- ``LogReporter`` (the library's default) sends the same lines to ``logging``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from rnnkit.training.config import format_duration

logger = logging.getLogger(__name__)


@dataclass
class ProgressStats:
    """A snapshot of a run: ``loss`` is smoothed; ``eta`` is None when there is no end."""

    step: int
    max_steps: int | None
    loss: float
    tokens_per_s: float
    elapsed: float
    eta: float | None
    lr: float


class Reporter:
    """Does nothing; subclasses override what they show."""

    def update(self, stats: ProgressStats) -> None:
        pass

    def evaluation(self, step: int, metrics: dict, sample: str | None) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def format_stats(stats: ProgressStats) -> str:
    """One line: step, percent, loss, speed, elapsed and remaining time."""
    parts = [f"step {stats.step}" + (f"/{stats.max_steps}" if stats.max_steps else "")]
    if stats.eta is not None and stats.elapsed + stats.eta > 0:
        parts.append(f"{100 * stats.elapsed / (stats.elapsed + stats.eta):3.0f}%")
    parts += [
        f"loss {stats.loss:.3f}",
        f"{stats.tokens_per_s / 1000:.1f}k tok/s",
        f"lr {stats.lr:.2e}",
        f"elapsed {format_duration(stats.elapsed)}",
    ]
    if stats.eta is not None:
        parts.append(f"ETA {format_duration(stats.eta)}")
    return "  ".join(parts)


def format_evaluation(step: int, metrics: dict) -> str:
    values = "  ".join(f"{key} {value:.4f}" for key, value in metrics.items())
    return f"step {step}: {values}"


class ProgressBar(Reporter):
    """Progress on ``stream``; evaluations and samples on ``output`` (default: ``stream``)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        output: TextIO | None = None,
        interval: float | None = None,
        tty: bool | None = None,
    ):
        self.stream = stream or sys.stderr
        self.output = output or self.stream
        self.tty = _isatty(self.stream) if tty is None else tty
        self.interval = interval if interval is not None else (0.25 if self.tty else 30.0)
        self._last_draw = -float("inf")
        self._width = 0

    def update(self, stats: ProgressStats) -> None:
        now = time.monotonic()
        if now - self._last_draw < self.interval:
            return
        self._last_draw = now
        line = format_stats(stats)
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def evaluation(self, step: int, metrics: dict, sample: str | None) -> None:
        self._clear()
        text = format_evaluation(step, metrics) + "\n"
        if sample is not None:
            text += f"{'-' * 20} sample {'-' * 20}\n{sample}\n{'-' * 48}\n"
        self.output.write(text)
        self.output.flush()
        self._last_draw = -float("inf")  # redraw the bar on the next update

    def message(self, text: str) -> None:
        self._clear()
        self.output.write(text + "\n")
        self.output.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

    def _clear(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


class LogReporter(Reporter):
    """Progress lines to ``logging`` every ``interval`` seconds; evaluations always."""

    def __init__(self, interval: float = 30.0):
        self.interval = interval
        self._last = -float("inf")

    def update(self, stats: ProgressStats) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            logger.info("%s", format_stats(stats))

    def evaluation(self, step: int, metrics: dict, sample: str | None) -> None:
        logger.info("%s", format_evaluation(step, metrics))
        if sample is not None:
            logger.info("sample at step %d:\n%s", step, sample)

    def message(self, text: str) -> None:
        logger.info("%s", text)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def stop_on_signals(
    requested: Callable[[], str | None], request: Callable[[str], None], reporter: Reporter
):
    """While the block runs in the main thread, the first Ctrl-C or SIGTERM asks the run to
    stop after its current step (``request("interrupted")``, which the Trainer saves); a
    second Ctrl-C, once ``requested()`` says so, interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        if requested() == "interrupted" and signum == signal.SIGINT:
            raise KeyboardInterrupt
        request("interrupted")
        reporter.message("stopping after this step (Ctrl-C again to abort at once)")

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
