"""Read an entry's figures back from what its run left in the working directory (the sources
of ``rnnkit.reproduce.entries.Metric``): a file where one holds the figure, else the JSON that
``rnnkit evaluate --json`` or the command itself printed.

    value = read_metric(metric, workdir, stdout, launch)   # a float, or a ValueError saying why
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from rnnkit.reproduce.entries import Metric

# launch(argv after "rnnkit", working directory) -> (exit code, stdout)
Launch = Callable[[list[str], Path], tuple[int, str]]


def read_metric(metric: Metric, workdir: Path, stdout: str, launch: Launch) -> float:
    """``metric``'s value after its entry ran in ``workdir`` and printed ``stdout``."""
    if metric.source == "stdout":
        return lookup(last_json(stdout, "the command's output"), metric.key)
    path = find_one(workdir, metric.path)
    if metric.source == "json":
        return lookup(json.loads(path.read_text(encoding="utf-8")), metric.key)
    if metric.source == "metrics":
        return reduce_records(path, metric.key, metric.reduce)
    run_dir = str(path.relative_to(workdir))  # as the docs write it: runs/classify-names-...
    code, printed = launch(["evaluate", run_dir, "--json"], workdir)
    if code != 0:
        raise ValueError(f"rnnkit evaluate {run_dir} --json exited with {code}")
    return lookup(last_json(printed, f"rnnkit evaluate {run_dir}"), metric.key)


def find_one(workdir: Path, pattern: str) -> Path:
    """The one path matching ``pattern`` under ``workdir``."""
    found = sorted(workdir.glob(pattern))
    if len(found) != 1:
        what = "nothing" if not found else f"{len(found)} paths"
        raise ValueError(f"{workdir}/{pattern} matched {what}; expected the one the run wrote")
    return found[0]


def last_json(text: str, what: str) -> dict:
    """The last line of ``text`` that is a JSON object."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    raise ValueError(f"{what} printed no JSON object")


def lookup(document, key: str) -> float:
    """The number at ``key`` (``a/b/0/c``) in a JSON document."""
    value = document
    for part in key.split("/"):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"no {key!r} in the result (missing {part!r})") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key!r} is {value!r}, not a number")
    return float(value)


def reduce_records(path: Path, key: str, reduce: str) -> float:
    """``key`` over the evaluation records of a ``metrics.jsonl``: its min, max or last."""
    values = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip() else {}
        value = record.get(key)
        if record.get("kind") == "eval" and isinstance(value, (int, float)):
            values.append(float(value))
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        raise ValueError(f"{path} holds no evaluation with a finite {key!r}")
    return {"min": min, "max": max, "last": lambda v: v[-1]}[reduce](finite)
