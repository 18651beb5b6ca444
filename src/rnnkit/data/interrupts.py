"""SIGTERM read as Ctrl-C while a command writes something that must be whole or absent.

    with sigterm_as_interrupt():       # `kill PID` now raises KeyboardInterrupt here
        work = make_temporary_folder()
        try:
            ...
        finally:
            remove(work)               # runs, as it would not on SIGTERM's default (exit)

A process killed by SIGTERM's default action runs no ``finally`` block, so a temporary folder
would be left behind. Inside the block, SIGTERM raises KeyboardInterrupt, as Ctrl-C does; the
CLI prints "interrupted" and exits with 130. ``rnnkit data fetch`` and ``rnnkit export`` use it.
"""

from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def sigterm_as_interrupt():
    """While the block runs in the main thread, SIGTERM raises KeyboardInterrupt, as Ctrl-C
    does, so that the block's clean-up runs (the CLI then exits with 130). Elsewhere (signal
    handlers belong to the main thread) the block runs as it is; after it, the handler before
    it is back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
