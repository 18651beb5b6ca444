"""Peak memory of training the char model on a 50 MB and a 500 MB corpus (target: within 10%).

    python benchmarks/bench_corpus_memory.py [--sizes-mb 50 500] [--steps 20] [--tmp DIR]
    python benchmarks/bench_corpus_memory.py --sizes-mb 0.5 5 --steps 2   # a quick check

For each size, the bundled Shakespeare (5 MB) is concatenated into one text file of that size
in a temporary folder, and a fresh Python process trains the char model on it for ``--steps``
steps (2x128 LSTM, batch 64 x 100, then the final evaluation), with ``$RNNKIT_CACHE`` in the
same temporary folder, so the corpus is read, its vocabulary built and its token file written
from scratch in that process. The process reports its own peak resident set size
(``ru_maxrss``: everything, from the imports and the two passes over the text to the last
step); printed are the sizes, the token files and the peaks, and the ratio of the largest to
the smallest. The validation and test parts are held at ``--held-out-chars`` characters each
whatever the corpus size (the split fractions are computed per corpus), because an evaluation
reads its whole part: the measure is of the training text, which grows tenfold.

Needs about 2.1x the largest size of free disk in ``--tmp`` (the corpus and its token file);
everything is deleted at the end unless ``--keep``. Timing is not the point, and nothing is
timed. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_RATIO = 1.10


def write_corpus(path: Path, size_bytes: int) -> int:
    """``path``: the bundled Shakespeare repeated (and cut) to ``size_bytes`` bytes of UTF-8."""
    from rnnkit.data.corpora import load_text

    text = load_text("shakespeare").encode("utf-8")
    written = 0
    with open(path, "wb") as handle:
        while written < size_bytes:
            piece = text[: size_bytes - written]
            piece = piece.decode("utf-8", "ignore").encode("utf-8")  # whole characters only
            handle.write(piece)
            written += len(piece)
            if len(piece) == 0:
                break
    return written


def train_child(corpus: Path, run_dir: Path, steps: int, held_out: int) -> dict:
    """In the child process: train, then report this process's peak RSS."""
    from rnnkit.tasks.charlm import train
    from rnnkit.tasks.charlm_config import resolve_config

    chars = corpus.stat().st_size  # bytes >= characters; the fractions need not be exact
    fraction = round(min(held_out / chars, 0.05), 9)
    overrides = {
        "data.source": str(corpus),
        "data.max_chars": None,
        "data.split": (1 - 2 * fraction, fraction, fraction),
        "data.batch_size": 64,
        "data.seq_len": 100,
        "model.hidden_size": 128,
        "model.num_layers": 2,
        "trainer.max_steps": steps,
        "trainer.eval_every": steps,
        "sampling.length": 20,
    }
    result = train(resolve_config("smoke", overrides), run_dir)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"steps": result.train.steps, "peak_rss_mb": peak_kb / 1024}


def measure(size_mb: float, folder: Path, steps: int, held_out: int) -> dict:
    corpus = folder / f"corpus-{size_mb:g}MB.txt"
    size = write_corpus(corpus, int(size_mb * 1e6))
    environment = {**os.environ, "RNNKIT_CACHE": str(folder / "cache")}
    child = [sys.executable, __file__, "--child", str(corpus), str(folder / f"run-{size_mb:g}")]
    child += ["--steps", str(steps), "--held-out-chars", str(held_out)]
    done = subprocess.run(child, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run on {corpus} failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    tokens = folder / "cache" / "tokens"
    token_bytes = sum(path.stat().st_size for path in tokens.iterdir())
    corpus.unlink()  # the disk needed: one corpus and its token file at a time
    shutil.rmtree(tokens)
    return {"size_mb": size / 1e6, "token_files_mb": token_bytes / 1e6, **report}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[50.0, 500.0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--held-out-chars", type=int, default=200_000)
    parser.add_argument("--tmp", type=Path, default=None, help="where the corpora go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        corpus, run_dir = (Path(value) for value in args.child)
        print(json.dumps(train_child(corpus, run_dir, args.steps, args.held_out_chars)))
        return
    folder = Path(tempfile.mkdtemp(prefix="rnnkit-corpus-memory-", dir=args.tmp))
    try:
        rows = [measure(size, folder, args.steps, args.held_out_chars) for size in args.sizes_mb]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{'corpus MB':>10} {'token file MB':>14} {'steps':>6} {'peak RSS MB':>12}")
    for row in rows:
        print(
            f"{row['size_mb']:>10.1f} {row['token_files_mb']:>14.1f} {row['steps']:>6} "
            f"{row['peak_rss_mb']:>12.1f}"
        )
    ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(
        f"peak RSS, {rows[-1]['size_mb']:g} MB / {rows[0]['size_mb']:g} MB corpus: "
        f"{ratio:.3f} ({verdict} the target of {TARGET_RATIO:.2f})"
    )


if __name__ == "__main__":
    main()
