"""Run published results and judge them: each entry's command in its own working directory
``<runs_dir>/<entry>`` (so the run directories it makes, ``runs/...``, land there), then its
figures read back (``readback``) and set against the expected ranges.

    rows = run_entries(get_entries(["exploding"]), "runs/reproduce", scale=0.01)
    # [Row(entry="exploding", metric="...", value=..., verdict="smoke", seconds=..., ...)]

``launch`` runs ``rnnkit ARGV`` in a folder; the default is a subprocess (``python -m
rnnkit``), so that each entry starts with a fresh torch (threads, memory) and one that fails
leaves the others running. The child gets the cache folders as absolute paths (it runs in
another folder), and the user's folder in ``RNNKIT_CALLER_DIR``, so that the paths it prints
for the user to type (``continue with: rnnkit train --resume ...``) work from there. Ctrl-C
or SIGTERM is passed on to it as SIGTERM: it stops after its current step and saves, the
entry's rows say "interrupted", and no further entry runs.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rnnkit.data.corpora import CACHE_ENVIRONMENT_VARIABLE, read_marker
from rnnkit.data.output_paths import make_folder
from rnnkit.reproduce.entries import Entry, fetch_command
from rnnkit.reproduce.readback import Launch, read_metric

CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
RESULTS = "results.json"  # the rows and the machine, in the runs folder
# folders the child reads from the environment (rnnkit.data.corpora, rnnkit.nn.native)
CACHE_VARIABLES = (CACHE_ENVIRONMENT_VARIABLE, "RNNKIT_NATIVE_CACHE")
# the folder the user ran ``rnnkit reproduce`` in (``rnnkit.cli.args.user_path`` reads it)
CALLER_DIR_VARIABLE = "RNNKIT_CALLER_DIR"
INTERRUPTED = "interrupted"  # the verdict of an entry stopped by Ctrl-C or SIGTERM


class EntryInterrupted(Exception):
    """The entry's command was stopped by a signal passed on to it (the command ran to its
    end: it saved what it had)."""


@dataclass
class Row:
    """One figure of one entry as measured: ``verdict`` is pass, fail, smoke (a scaled run,
    not judged) or error (no value: ``error`` says why)."""

    entry: str
    metric: str
    value: float | None
    expected: str
    quoted: str
    verdict: str
    seconds: float
    command: str = ""  # what ran: the entry's command with its budget as scaled
    error: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def rnnkit_command(argv: list[str]) -> list[str]:
    """The child process of ``rnnkit ARGV``."""
    return [sys.executable, "-m", "rnnkit", *argv]


def child_environment() -> dict[str, str]:
    """This environment with the cache folders absolute, and the user's folder named: a child
    runs in another folder."""
    environment = dict(os.environ)
    for name in CACHE_VARIABLES:
        if environment.get(name):
            environment[name] = os.path.abspath(os.path.expanduser(environment[name]))
    environment[CALLER_DIR_VARIABLE] = os.getcwd()
    return environment


def subprocess_launch(argv: list[str], cwd: Path) -> tuple[int, str]:
    """``python -m rnnkit ARGV`` in ``cwd``: its stdout captured, its progress (stderr) shown.
    Ctrl-C or SIGTERM is passed on to it as SIGTERM and it is waited for (a second Ctrl-C
    kills it); then ``EntryInterrupted``."""
    command, environment = rnnkit_command(argv), child_environment()
    with _passing_signals_on() as (children, stopped):
        children.append(
            subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, text=True, env=environment)
        )
        if stopped:  # a signal came while it started
            children[0].send_signal(signal.SIGTERM)
        stdout, _ = children[0].communicate()
    code = children[0].returncode
    if stopped:
        raise EntryInterrupted(f"stopped by {stopped[0]} (the command exited with {code})")
    return code, stdout


@contextlib.contextmanager
def _passing_signals_on():
    """While the block runs in the main thread, Ctrl-C and SIGTERM are recorded in
    ``stopped`` and sent on, as SIGTERM, to the processes in ``children``; a second Ctrl-C
    kills them."""
    children, stopped = [], []
    if threading.current_thread() is not threading.main_thread():
        yield children, stopped
        return

    def pass_on(signum, frame):
        for child in children:
            if stopped and signum == signal.SIGINT:
                child.kill()
            elif child.poll() is None:
                child.send_signal(signal.SIGTERM)
        stopped.append(signal.Signals(signum).name)

    previous = {s: signal.signal(s, pass_on) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield children, stopped
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_entries(
    entries: list[Entry],
    runs_dir: str | Path,
    scale: float = 1.0,
    device: str | None = None,
    launch: Launch = subprocess_launch,
    on_row=None,
) -> list[Row]:
    """Run every entry in ``runs_dir/ENTRY`` (``check_ready`` first) and return the rows;
    ``on_row(row)`` as each is known."""
    check_ready(entries, Path(runs_dir).resolve())
    runs_dir = make_folder(runs_dir, "--runs-dir", "the runs").resolve()
    rows = []
    for entry in entries:
        for row in run_entry(entry, runs_dir / entry.name, scale, device, launch):
            rows.append(row)
            if on_row is not None:
                on_row(row)
        if rows and rows[-1].verdict == INTERRUPTED:
            break  # the user asked everything to stop: no further entry
    return rows


def check_ready(entries: list[Entry], runs_dir: Path) -> None:
    """Before anything runs: every data set the entries need is fetched, and nothing of an
    earlier run is in the way (rnnkit never overwrites a run); else a one-line ValueError."""
    missing = [name for entry in entries for name in entry.fetch if read_marker(name) is None]
    if missing:
        fetch = fetch_command(dict.fromkeys(missing))
        raise ValueError(f"data not fetched yet: run `{fetch}` first")
    taken = [runs_dir / entry.name for entry in entries] + [runs_dir / RESULTS]
    for path in taken:
        if path.is_file() or (path.is_dir() and any(path.iterdir())):
            raise ValueError(f"{path} holds an earlier run; choose another --runs-dir")


def run_entry(
    entry: Entry, workdir: Path, scale: float, device: str | None, launch: Launch
) -> list[Row]:
    """One entry's command in ``workdir``, then a row per metric."""
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    argv = entry.argv(scale, device)
    interrupted = ""
    try:
        code, stdout = launch(argv, workdir)
    except EntryInterrupted as stop:
        code, stdout, interrupted = None, "", str(stop)
    seconds = round(time.perf_counter() - started, 1)
    command = shlex.join(["rnnkit", *argv])
    rows = []
    for metric in entry.metrics:
        row = Row(entry.name, metric.name, None, metric.expected, metric.quoted, "error", seconds)
        row.command = command
        if interrupted:
            row.verdict, row.error = INTERRUPTED, interrupted
        elif code != 0:
            row.error = f"the command exited with {code}"
        else:
            try:
                row.value = read_metric(metric, workdir, stdout, launch)
            except (ValueError, OSError) as error:
                row.error = str(error)
            except EntryInterrupted as stop:  # while ``rnnkit evaluate`` read it back
                interrupted = str(stop)
                row.verdict, row.error = INTERRUPTED, interrupted
        if row.value is not None:
            row.verdict = "smoke" if scale != 1.0 else "pass" if metric.judge(row.value) else "fail"
        rows.append(row)
    return rows


def machine(device: str = "auto") -> dict:
    """The machine the results were measured on: CPU model and flags, cores, the device the
    runs train on, torch's and Python's versions."""
    import torch

    from rnnkit.training.devices import resolve_device

    model, flags = _cpu_info()
    return {
        "cpu": model,
        "cpu_flags": [flag for flag in CPU_FLAGS if flag in flags],
        "cores": os.cpu_count(),
        "device": str(resolve_device(device)),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _cpu_info() -> tuple[str, set[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), set()
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    model = fields.get("model name") or platform.processor() or platform.machine()
    return model, set(fields.get("flags", "").split())
