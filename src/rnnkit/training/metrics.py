"""What a run records as it trains: ``metrics.jsonl``, TensorBoard events, the loss curve.

``metrics.jsonl`` holds one JSON object a line, each with ``kind`` (``"train"`` or ``"eval"``)
and ``step`` (optimizer steps done), for example::

    {"kind": "train", "step": 50, "loss": 2.71, "lr": 0.002, "grad_norm": 1.9, ...}
    {"kind": "eval", "step": 500, "val_nats": 1.83, "val_bpc": 2.64, "best": true}

A ``train`` record's figures are means over the steps since the last one; ``grad_norm`` (before
clipping) over the steps taken: a step fp16's gradient scaler skipped (its gradients
overflowed) is counted in ``skipped_steps`` instead, a key present only then.

The same scalars go to TensorBoard (``tensorboard --logdir RUN_DIR``) as ``train/loss``,
``eval/val_nats`` and so on. ``plot_losses`` draws ``plots/loss.png`` from the JSONL file:
training loss and validation loss against steps, in nats per token.

On resume, ``MetricsLogger(..., resume_step=k)`` drops records after step ``k`` (written by
the stopped run after its last checkpoint) so the history reads as one uninterrupted run.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from rnnkit.data.atomic import atomic_write_text
from rnnkit.plots.curves import plot_loss_curves

logger = logging.getLogger(__name__)


class MetricsLogger:
    """Appends records to ``metrics.jsonl`` and mirrors their numbers to TensorBoard."""

    def __init__(self, run_dir: str | Path, tensorboard: bool = True, resume_step: int = 0):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "metrics.jsonl"
        if resume_step > 0:
            self._truncate_after(resume_step)
        elif self.path.exists():
            self.path.unlink()
        self._file = open(self.path, "a", encoding="utf-8")  # closed in close()
        self._writer = _tensorboard_writer(self.run_dir, resume_step) if tensorboard else None

    def log(self, record: dict) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._writer is not None:
            kind = record.get("kind", "train")
            for key, value in record.items():
                if key not in ("kind", "step") and _is_number(value):
                    self._writer.add_scalar(f"{kind}/{key}", value, record["step"])

    def add_text(self, tag: str, text: str, step: int) -> None:
        if self._writer is not None:
            self._writer.add_text(tag, text.replace("\n", "  \n"), step)

    def flush(self) -> None:
        self._file.flush()
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        self._file.close()
        if self._writer is not None:
            self._writer.close()

    def _truncate_after(self, step: int) -> None:
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            if _record_step(line) is not None and _record_step(line) <= step
        ]
        atomic_write_text(self.path, "".join(kept))


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` file (a damaged last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def plot_losses(
    metrics_path: str | Path,
    output: str | Path,
    metric: str = "val_nats",
    unit: str = "nats/token",
) -> None:
    """Training loss and the evaluation record's ``metric`` against steps, as a PNG
    (``rnnkit.plots.curves.plot_loss_curves``)."""
    records = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in records if r.get("kind") == "train"]
    val = [(r["step"], r[metric]) for r in records if r.get("kind") == "eval" and metric in r]
    plot_loss_curves(train, val, output, unit)


def _tensorboard_writer(run_dir: Path, resume_step: int):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency, but keep training without it
        logger.warning("tensorboard is not installed; writing metrics.jsonl only")
        return None
    return SummaryWriter(str(run_dir), purge_step=resume_step + 1 if resume_step else None)


def _record_step(line: str) -> int | None:
    try:
        return int(json.loads(line)["step"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
