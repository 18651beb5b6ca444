"""The vowels protocol of docs/classify.md in one command: one run per validation split, then
the figures the settings were chosen by and the test figures beside the regression's.

    python benchmarks/vowels_splits.py                     # the documented command, S = 0-4
    python benchmarks/vowels_splits.py --steps 6000 -- --cell gru
    python benchmarks/vowels_splits.py --splits 0,1 --parallel 1 -- --conv-channels 64

Each split S runs ``rnnkit train classify --dataset vowels ... --seed S --split-seed S`` (27 of
the 270 training utterances held out, a different 27 each time; the test split is the 370
shipped utterances), ``--parallel`` at a time, each on one thread, into ``--out/sS``; flags
after ``--`` are added to every run (a later flag overrides the documented one). Printed: each
split's best validation loss, test utterances right, the logistic regression's on the same
split and McNemar's p, and the regression on the frames at five steps
(``baseline_logreg_points_accuracy``); their means (the rule in docs/classify.md picks the
setting with the lowest mean validation loss); and the runs of all splits as one ensemble
(``rnnkit evaluate RUN ...``). A benchmark, not a test: 2-4 minutes a run on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

DOCUMENTED = [
    "--hidden-size", "64", "--batch-size", "16", "--lr", "3e-3", "--dropout", "0.3",
    "--input-noise", "0.5", "--time-warp", "0.1", "--bidirectional", "--pooling", "max",
    "--eval-every", "50", "--threads", "1",
]  # fmt: skip
RNNKIT = "import sys; from rnnkit.cli.main import main; sys.exit(main(sys.argv[1:]))"


def run_split(split: int, steps: int, out: Path, extra: list[str]) -> dict:
    """One training run on validation split ``split``; its ``--json`` summary."""
    argv = ["train", "classify", "--dataset", "vowels", *DOCUMENTED, "--max-steps", str(steps)]
    argv += ["--seed", str(split), "--split-seed", str(split), "--out", str(out), "--json"]
    done = subprocess.run(
        [sys.executable, "-c", RNNKIT, *argv, *extra], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"split {split} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--splits", default="0,1,2,3,4", help="split seeds, comma-separated")
    parser.add_argument("--steps", type=int, default=12000, help="training steps a run")
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time")
    parser.add_argument("--out", type=Path, default=Path("runs/vowels-splits"))
    args = parser.parse_args(own)
    splits = [int(s) for s in args.splits.split(",")]
    folders = {s: args.out / f"s{s}" for s in splits}
    taken = [str(f) for f in folders.values() if f.exists()]
    if taken:
        raise SystemExit(f"run directories already exist: {', '.join(taken)}; pick another --out")
    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        jobs = {s: pool.submit(run_split, s, args.steps, folders[s], extra) for s in splits}
        summaries = {s: job.result() for s, job in jobs.items()}

    print(f"{'split':>5} {'val loss':>9} {'test right':>10} {'logreg':>7} {'McNemar p':>10} "
          f"{'logreg 5 frames':>16}")  # fmt: skip
    rows = []
    for s in splits:
        summary = summaries[s]
        n = summary["test_examples"]
        right = round(summary["test_accuracy"] * n)
        logreg = round(summary["baseline_logreg_accuracy"] * n)
        points = round(summary.get("baseline_logreg_points_accuracy", float("nan")) * n)
        paired = summary.get("test_vs_logreg") or {}
        rows.append((summary["best_val"], right, logreg, points))
        print(f"{s:>5} {summary['best_val']:>9.4f} {right:>10} {logreg:>7} "
              f"{paired.get('mcnemar_p', float('nan')):>10.3f} {points:>16}")  # fmt: skip
    count = len(rows)
    means = [sum(r[i] for r in rows) / count for i in range(4)]
    print(
        f"{'mean':>5} {means[0]:>9.4f} {means[1]:>10.1f} {means[2]:>7.1f} {'':>10} "
        f"{means[3]:>16.1f}   of {n} test utterances"
    )
    if count > 1:
        from rnnkit.tasks.classify_runs import evaluate_ensemble

        report = evaluate_ensemble([folders[s] for s in splits])
        paired = report.get("vs_logreg") or {}
        print(
            f"the {count} runs as one ensemble: {round(report['accuracy'] * n)} right "
            f"(accuracy {report['accuracy']:.4f}); against split {splits[0]}'s regression: "
            f"{paired.get('rnn_only_right')} only the ensemble right, "
            f"{paired.get('logreg_only_right')} only the regression, "
            f"p = {paired.get('mcnemar_p', float('nan')):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
