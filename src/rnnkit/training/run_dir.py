"""The layout of a run directory, and the checks that a path is one.

RUN_DIR/
  config.json          the resolved configuration (and where the data came from)
  vocab.json           the vocabulary, so sampling never needs the corpus
  metrics.jsonl        one JSON record a line (see metrics.py)
  events.out.tfevents.*  TensorBoard
  checkpoints/         last.safetensors + last.json, best.safetensors + best.json
  samples.txt          the sample written at each evaluation
  plots/loss.png       training and validation loss
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from rnnkit.data.atomic import atomic_write_text
from rnnkit.data.output_paths import make_folder

CONFIG = "config.json"
VOCAB = "vocab.json"
METRICS = "metrics.jsonl"
SAMPLES = "samples.txt"
CHECKPOINTS = "checkpoints"
LOSS_PLOT = "plots/loss.png"
CHECKPOINT_NAMES = ("best", "last")


def default_run_dir(prefix: str, root: str | Path = "runs") -> Path:
    """``runs/<prefix>-<YYYYmmdd-HHMMSS>``, with a counter if that exists already."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    root = Path(root).expanduser()
    path = root / f"{prefix}-{stamp}"
    counter = 2
    while path.exists():
        path = root / f"{prefix}-{stamp}-{counter}"
        counter += 1
    return path


def check_out(path: str | Path | None) -> None:
    """A ValueError for an empty run directory (``--out ""``), which fell back to a new one
    under runs/ without a word; None is that default, asked for."""
    if path is not None and not str(path).strip():
        raise ValueError("--out is empty; give a folder for the run, or leave --out out for a "
                         "new one under runs/")  # fmt: skip


def create_run_dir(path: str | Path, resumable: bool = True) -> Path:
    """Make a fresh run directory; refuse a file, a folder that cannot be made, and one that
    holds a run (continued with --resume, if the runs made here can be: ``resumable``) or
    other files (never written into). A leading ``~`` is the home folder (a quoted path, or
    ``--out=~/x``, reaches rnnkit unexpanded by the shell); the path made is returned."""
    path = Path(path).expanduser()
    if path.is_dir() and holds_a_run(path):
        go_on = f"continue it with --resume {path} or " if resumable else ""
        raise ValueError(
            f"{path} already holds a run; {go_on}choose another --out (rnnkit never "
            "overwrites a run)"
        )
    if path.is_dir() and any(path.iterdir()):
        raise ValueError(
            f"{path} already holds files and is not an rnnkit run; choose another --out, a "
            "new or empty folder (rnnkit never writes a run among other files)"
        )
    make_folder(path, "--out", "the run")
    (path / CHECKPOINTS).mkdir(exist_ok=True)
    return path


def holds_a_run(path: Path) -> bool:
    """Whether the folder ``path`` looks like an rnnkit run: a ``checkpoints/`` folder, or a
    config.json that is a JSON object naming a ``task``. A config.json of the user's own is
    not enough."""
    if (path / CHECKPOINTS).is_dir():
        return True
    try:
        record = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none, not a file, not UTF-8 or not JSON
        return False
    return isinstance(record, dict) and "task" in record


def has_checkpoint(path: str | Path) -> bool:
    """Whether the run in ``path`` has a ``last`` checkpoint to go on from (each evaluation
    writes one; a run stopped before its first has only its config.json and files)."""
    return (Path(path).expanduser() / CHECKPOINTS / "last.safetensors").is_file()


def clear_attempt(path: str | Path) -> None:
    """Remove what an attempt that stopped before its first checkpoint wrote as it trained
    (metrics.jsonl, TensorBoard events, samples, the loss plot, a half-written checkpoint),
    so that the run, trained again from step 0, has no history but its own."""
    path = Path(path)
    written = [path / METRICS, path / SAMPLES, path / LOSS_PLOT]
    written += [*path.glob("events.out.tfevents.*"), *(path / CHECKPOINTS).glob("*")]
    for file in written:
        if file.is_file():
            file.unlink()
    (path / CHECKPOINTS).mkdir(exist_ok=True)


def check_run_dir(path: str | Path) -> Path:
    """``path`` as a run directory (a leading ``~`` expanded), or a ValueError saying why it
    is not one."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise ValueError(f"no run directory {path} (expected a folder written by rnnkit train)")
    if not (path / CONFIG).is_file():
        raise ValueError(
            f"{path} is not an rnnkit run directory: it has no {CONFIG} "
            "(expected a folder written by rnnkit train)"
        )
    return path


def write_json(path: str | Path, document: dict) -> None:
    atomic_write_text(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def read_json(path: str | Path) -> dict:
    """A JSON object from ``path``; a damaged file is a ValueError naming it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is damaged: {' '.join(str(error).split())}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path} is damaged: expected a JSON object")
    return document


def unrecorded_note(recorded: dict, config: Any) -> str | None:
    """What a run goes on with that its config.json (``recorded``) does not hold: the
    defaults ``config_from_dict`` filled in, named with their values; None when all are
    there. A run written before a field existed lacks it, and so does a hand-edited one."""

    def flat(values: dict, where: str = "") -> dict:
        pairs = {}
        for key, value in values.items():
            nested = isinstance(value, dict) and value
            pairs.update(flat(value, f"{where}{key}.") if nested else {where + key: value})
        return pairs

    given = flat(recorded)
    missing = [
        (key, value)
        for key, value in flat(dataclasses.asdict(config)).items()
        if key not in given and not any(key.startswith(g + ".") for g in given)
    ]
    if not missing:
        return None
    named = ", ".join(f"{key}={value!r}" for key, value in missing[:6])
    more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
    return (
        f"config.json records no {named}{more}: going on with these defaults (a run written "
        "before a setting existed has none; one removed by hand should be put back)"
    )
