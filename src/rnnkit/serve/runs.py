"""The runs a studio serves: found once at start, named by id, never by a path from a request.

    index = RunIndex.find(["runs/charlm-lstm-..."], runs_dir="runs")
    index.ids()                       # ["charlm-lstm-...", ...]
    index.path("charlm-lstm-...")     # the folder, or KeyError: a request names an id only
    index.summary("charlm-lstm-...")  # task, steps, best validation figures, checkpoint sizes
                                      # ("gone": true once its folder holds no run)
    index.curves("charlm-lstm-...", since=0)   # metrics.jsonl records after line `since`

A request can only name an id that is a key of the index. Ids are the folders' names (with
a counter where two runs share one), so no ``..``, absolute path, encoded slash or symlink in
a request can reach any other file: the index never joins request text onto a path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from rnnkit.training import run_dir as layout

CURVE_KEYS = ("loss", "lr", "grad_norm")  # from training records; eval records: every val_*


@dataclass(frozen=True)
class RunIndex:
    """Run id -> run directory (resolved), for the runs given and those under ``runs_dir``."""

    runs: dict[str, Path]

    @classmethod
    def find(cls, run_dirs: list[str | Path] = (), runs_dir: str | Path | None = None):
        """The runs named and every run directory directly under ``runs_dir`` (a folder with a
        ``config.json``); a ValueError for a named folder that is not a run."""
        found: list[Path] = [layout.check_run_dir(path).resolve() for path in run_dirs]
        if runs_dir is not None:
            root = Path(runs_dir)
            if not root.is_dir():
                raise ValueError(f"--runs-dir {root} is not a folder")
            found += sorted(p.resolve() for p in root.iterdir() if (p / layout.CONFIG).is_file())
        runs: dict[str, Path] = {}
        for path in dict.fromkeys(found):  # each folder once, in order
            name, counter = path.name, 2
            while name in runs:
                name, counter = f"{path.name}-{counter}", counter + 1
            runs[name] = path
        return cls(runs)

    def ids(self) -> list[str]:
        return list(self.runs)

    def path(self, run_id: str) -> Path:
        """The run directory of ``run_id``; KeyError for any other text."""
        return self.runs[run_id]

    def task(self, run_id: str) -> str:
        """The task config.json names ("unknown" for a damaged one)."""
        return (_read_json(self.path(run_id) / layout.CONFIG) or {}).get("task", "unknown")

    def summary(self, run_id: str) -> dict:
        """What the run list shows, from config.json, metrics.jsonl and the checkpoints' JSON
        (no weights are read)."""
        path = self.path(run_id)
        record = _read_json(path / layout.CONFIG) or {}
        evals = [r for r in read_metrics(path) if r.get("kind") == "eval"]
        best = next((r for r in reversed(evals) if r.get("best")), None)
        last = _read_json(path / layout.CHECKPOINTS / "last.json") or {}
        weights = path / layout.CHECKPOINTS / "best.safetensors"
        if not weights.exists():
            weights = path / layout.CHECKPOINTS / "last.safetensors"
        config = record.get("config") if isinstance(record.get("config"), dict) else {}
        return {
            "id": run_id,
            "task": record.get("task", "unknown"),
            "model": config.get("model", {}),
            "steps": last.get("step"),
            "best": {k: _finite(v) for k, v in (best or {}).items() if k.startswith("val_")},
            "best_step": None if best is None else best.get("step"),
            "checkpoint_bytes": weights.stat().st_size if weights.exists() else None,
            "training": _still_training(path),
            "gone": not (path / layout.CONFIG).exists(),  # moved or deleted since the start
        }

    def curves(self, run_id: str, since: int = 0) -> dict:
        """The metrics records after the first ``since`` lines, cut down to the curves' keys,
        and the line count to ask from next (the page polls while a run trains)."""
        records = read_metrics(self.path(run_id))
        points = []
        for record in records[since:]:
            keep = CURVE_KEYS if record.get("kind") == "train" else None
            figures = {
                k: v
                for k, v in record.items()
                if _finite(v) is not None and (k in keep if keep else k.startswith("val_"))
            }
            points.append({"kind": record.get("kind"), "step": record.get("step"), **figures})
        return {"records": points, "next": len(records)}


def read_metrics(path: Path) -> list[dict]:
    """The complete lines of ``metrics.jsonl`` that hold a record (a line being written is
    left for later; a damaged one is skipped, so one bad run never breaks the list)."""
    try:
        text = (path / layout.METRICS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    records = []
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # still being written
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def _read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; None for a missing, unreadable or damaged file. NaN and
    the infinities (rnnkit never writes them here, a hand may) read as None: the answer,
    which is JSON, cannot hold them."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda _: None)
    except (OSError, ValueError):  # (UnicodeDecodeError and JSONDecodeError are ValueErrors)
        return None
    return value if isinstance(value, dict) else None


def _finite(value):
    """A number the page can draw; None for NaN, an infinity (a diverged run's loss or
    gradient norm: JSON has no such numbers) or anything else."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value if number and math.isfinite(value) else None


def _still_training(path: Path, seconds: float = 120.0) -> bool:
    """metrics.jsonl written in the last ``seconds``: the page keeps polling its curves."""
    import time

    metrics = path / layout.METRICS
    return metrics.exists() and time.time() - metrics.stat().st_mtime < seconds
