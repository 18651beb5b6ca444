"""``rnnkit train charlm --engine numpy``: the lectures' NumPy trainer on the same data.

A simpler path than the torch engine, for seeing the hand-derived BPTT learn: it trains
``rnnkit.reference.charlm`` (one-hot input, one recurrent layer, Adagrad and clipping by
value by default) on the training split, in a run directory made (and checked) before it
trains and removed again if training fails, then writes there ``config.json``,
``vocab.json``, ``metrics.jsonl`` (the training loss at every step, then the validation loss),
``plots/loss.png`` and ``samples.txt``. It saves no checkpoint, so such a run cannot be
resumed, sampled again or evaluated later.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from rnnkit.data.batching import DEFAULT_SPLIT, split_contiguous
from rnnkit.data.corpora import DEFAULT_DATASET
from rnnkit.data.provenance import read_corpus
from rnnkit.data.text_stream import DEFAULT_ENCODING, check_decoding
from rnnkit.data.vocab import Vocab
from rnnkit.models.recurrent import check_cell
from rnnkit.reference import charlm as reference
from rnnkit.reference.network import CELLS
from rnnkit.reference.optim import OPTIMIZERS
from rnnkit.training import run_dir as layout
from rnnkit.training.metrics import plot_losses


@dataclass
class NumpyCharLMConfig:
    """The options the NumPy engine takes (its own defaults: min-char-rnn's)."""

    source: str = DEFAULT_DATASET
    split: tuple[float, float, float] = DEFAULT_SPLIT
    max_chars: int | None = None
    encoding: str = DEFAULT_ENCODING
    decode_errors: str = "strict"  # strict, replace or skip, as with the torch engine
    cell: str = "rnn"
    hidden_size: int = 100
    seq_len: int = 25
    batch_size: int = 32
    steps: int = 1000
    lr: float = 0.1
    optimizer: str = "adagrad"
    clip_value: float | None = 5.0
    seed: int = 0
    sample_length: int = 300
    temperature: float = 1.0

    def validate(self) -> NumpyCharLMConfig:
        check_cell(self.cell, tuple(CELLS), "--engine numpy")  # the NumPy reference's cells
        check_decoding(self.encoding, self.decode_errors)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"--engine numpy has the optimizers {', '.join(OPTIMIZERS)}; got {self.optimizer!r}"
            )
        for name in ("hidden_size", "seq_len", "batch_size", "steps", "sample_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        return self


def train_numpy(config: NumpyCharLMConfig, run_dir=None) -> dict:
    """Train with the NumPy engine; returns a summary like ``train --json`` prints."""
    config.validate()
    text, data_record = read_corpus(
        config.source, config.max_chars, config.encoding, config.decode_errors
    )
    train_text, val_text, _ = split_contiguous(text, config.split)
    run_dir = run_dir or layout.default_run_dir(f"charlm-numpy-{config.cell}")
    with _made_for_training(run_dir) as run_dir:
        params, history = reference.train(
            train_text,
            hidden_size=config.hidden_size,
            seq_len=config.seq_len,
            batch_size=config.batch_size,
            steps=config.steps,
            lr=config.lr,
            seed=config.seed,
            cell=config.cell,
            optimizer=config.optimizer,
            clip_value=config.clip_value,
        )
        val_nats = reference.mean_loss(params, history, val_text, config.seq_len, config.batch_size)
    layout.write_json(
        run_dir / layout.CONFIG,
        {"task": "charlm", "engine": "numpy", "data": data_record, "config": asdict(config)},
    )
    Vocab(history.vocab).save(run_dir / layout.VOCAB)
    _write_metrics(run_dir, history, val_nats)
    sample = reference.sample(
        params,
        history.vocab,
        prime="\n" if "\n" in history.vocab else "",
        length=config.sample_length,
        temperature=config.temperature,
        seed=config.seed,
        network=history.network,
    )
    (run_dir / layout.SAMPLES).write_text(f"=== step {config.steps} ===\n{sample}\n", "utf-8")
    return {
        "run_dir": str(run_dir),
        "engine": "numpy",
        "steps": config.steps,
        "tokens_per_s": history.chars_per_second,
        "train_seconds": history.seconds,
        "val_nats": val_nats,
        "val_bpc": val_nats / math.log(2),
        "sample": sample,
    }


@contextmanager
def _made_for_training(path) -> Iterator[Path]:
    """The run directory, made (``layout.create_run_dir``: an existing run, a folder of other
    files or a file in its place refused) before the minutes of training rather than after;
    if training fails or is interrupted, what was made here is removed again, so the same
    ``--out`` takes the next try (nothing is written into it until training is done)."""
    path = Path(path)
    existed = path.exists()
    path = layout.create_run_dir(path, resumable=False)  # no checkpoint to go on from
    try:
        yield path
    except BaseException:
        (path / layout.CHECKPOINTS).rmdir()
        if not existed:
            path.rmdir()
        raise


def _write_metrics(run_dir, history, val_nats: float) -> None:
    lines = [
        {"kind": "train", "step": step + 1, "loss": float(loss)}
        for step, loss in zip(history.steps, history.losses, strict=True)
    ]
    steps = len(history.steps)
    lines.append(
        {"kind": "eval", "step": steps, "val_nats": val_nats, "val_bpc": val_nats / math.log(2)}
    )
    text = "".join(json.dumps(line) + "\n" for line in lines)
    (run_dir / layout.METRICS).write_text(text, encoding="utf-8")
    plot_losses(run_dir / layout.METRICS, run_dir / layout.LOSS_PLOT, unit="nats/char")
