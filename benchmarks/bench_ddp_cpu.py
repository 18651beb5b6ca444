"""Data-parallel training on the CPU: 2 ranks x 1 thread against 1 process x 2 threads.

    python benchmarks/bench_ddp_cpu.py [--preset quick] [--steps 200] [--rounds 3]

Both train the char model of ``--preset`` for ``--steps`` steps with the same global batch
(the ranks divide its streams), on the CPU, with the same total number of threads; printed:
the training tokens/s of each (the Trainer's own figure, which counts every rank's tokens;
median over rounds, alternating) and their ratio (target: 2 ranks >= 0.9x one process). Run
it alone on the machine: anything else running skews the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tokens_per_s(preset: str, steps: int, ranks: int, out: Path) -> float:
    threads = 2 // ranks
    args = ["train", "charlm", "--preset", preset, "--max-steps", str(steps), "--device", "cpu"]
    args += [
        "--threads",
        str(threads),
        "--eval-every",
        str(10 * steps),
        "--json",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(threads)}
    if ranks == 1:
        command = [sys.executable, "-m", "rnnkit", *args]
    else:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command = [*launcher, f"--nproc-per-node={ranks}", "-m", "rnnkit", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):
            for ranks in (1, 2):
                out = Path(scratch) / f"r{round_}-{ranks}"
                rates[ranks].append(tokens_per_s(args.preset, args.steps, ranks, out))
    one, two = (statistics.median(rates[n]) for n in (1, 2))
    print(f"charlm --preset {args.preset}, {args.steps} steps, median of {args.rounds} rounds:")
    print(f"  1 process x 2 threads  {one:10,.0f} tokens/s")
    print(f"  2 ranks x 1 thread     {two:10,.0f} tokens/s")
    print(f"  ratio 2 ranks / 1 process: {two / one:.3f} (target >= 0.90)")


if __name__ == "__main__":
    main()
