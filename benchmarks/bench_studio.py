"""The studio under load: time to the first streamed character, and 8 generations at once.

    python benchmarks/bench_studio.py runs/quick            # a trained quick-preset run
    python benchmarks/bench_studio.py                       # a fresh 2x256 LSTM, untrained

Starts ``rnnkit serve`` on a free localhost port in a subprocess, then
1. asks for a 300-character generation 10 times, one after another, and reports the median
   and worst time from the request to the first character's event (target: 200 ms);
2. asks for 8 generations of 300 characters at once and reports that all 8 completed, with
   the wall time and the characters per second of each.
Measure alone: nothing else on the machine. The CPU is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_run(folder: Path) -> Path:
    """A quick-preset-shaped run (2x256 LSTM) trained for one step, to time generation."""
    run = folder / "quick"
    subprocess.run(
        [sys.executable, "-m", "rnnkit", "train", "charlm", "--preset", "quick",
         "--max-steps", "1", "--out", str(run), "--json"],
        check=True, capture_output=True,
    )  # fmt: skip
    return run


def first_character(url: str) -> tuple[float, int, float]:
    """Seconds to the first character's event, the characters streamed, seconds in all."""
    started = time.perf_counter()
    first, count = None, 0
    with urllib.request.urlopen(url, timeout=120) as response:
        for raw in response:
            line = raw.decode()
            if line.startswith('data: {"char"'):
                count += 1
                if first is None:
                    first = time.perf_counter() - started
    return first, count, time.perf_counter() - started


def cpu() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return platform.processor()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("Model name")), "?")  # fmt: skip
    flags = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in text]
    return f"{model} ({', '.join(flags)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", nargs="?", help="a char model run directory")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    run = Path(args.run) if args.run else fresh_run(folder)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "rnnkit", "serve", str(run), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                runs = json.load(urllib.request.urlopen(f"{base}/api/runs"))["runs"]
                break
            except OSError:
                time.sleep(0.1)
        url = f"{base}/api/runs/{runs[0]['id']}/write?length=300&prime=ROMEO:"
        first_character(url)  # loads the model once
        firsts = [first_character(url)[0] for _ in range(10)]
        print(f"CPU: {cpu()}, torch threads in the server: 1")
        print(f"first character: median {statistics.median(firsts) * 1e3:.0f} ms, worst "
              f"{max(firsts) * 1e3:.0f} ms over 10 requests (target 200 ms)")  # fmt: skip
        results = [None] * 8

        def one(k: int) -> None:
            results[k] = first_character(f"{url}&seed={k}")

        threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        done = sum(1 for r in results if r is not None and r[1] == 300)
        rates = ", ".join(f"{r[1] / r[2]:.0f}" for r in results if r)
        print(
            f"8 at once: {done}/8 completed with 300 characters in {wall:.1f} s; "
            f"characters/s each: {rates}"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
