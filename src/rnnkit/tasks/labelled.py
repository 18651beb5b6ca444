"""What the classify and tag tasks share: the Trainer hooks over length-bucketed batches
(``LabelledTask``), their data as ``config.json`` records it (reloaded and checked by its
fingerprint), and a finished run's model loaded from a checkpoint.

    record = data_record("my.csv", 0, data, data_fingerprint(data), classes=[...])
    data = reload_data(record, load_data, data_fingerprint, "examples, labels")
    run = load_run("runs/ner", "best", "tag", SequenceTagger, load_encoder)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from rnnkit.data.buckets import LengthBuckets
from rnnkit.options import check_int
from rnnkit.tasks import lifecycle

SPLITS = ("train", "val", "test")


class LabelledTask:
    """The hooks (``rnnkit.training.task``) a classify or tag task shares: the data's splits,
    and training batches from seeded length buckets of the training split (resumable at any
    step), each made by the task's ``collate(indices)``."""

    def __init__(self, config, data, encoder, lengths: Sequence[int], unit: str):
        """``lengths``: every example's length; ``unit``: what the data holds, e.g.
        "sentences" (for the message about an empty split)."""
        self.config, self.data, self.encoder = config, data, encoder
        self.splits = {name: np.asarray(data.splits[name], dtype=np.int64) for name in SPLITS}
        for name in ("train", "val"):
            if len(self.splits[name]) == 0:
                raise ValueError(f"{data.name} has an empty {name} split; it needs {unit}")
        train = [lengths[i] for i in self.splits["train"]]
        self.buckets = LengthBuckets(train, config.data.batch_size, config.trainer.seed)

    def collate(self, indices: np.ndarray):
        raise NotImplementedError

    def train_batches(self, start_step: int) -> Iterator:
        train = self.splits["train"]
        for positions in self.buckets.batches(start_step):
            yield self.collate(train[positions])

    def sample(self, model) -> None:
        return None

    def data_position(self, step: int) -> dict:
        return self.buckets.position(step)


def changed_options(config, options: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """``(field, flag)`` of each ``(section, field, flag)`` of ``options`` whose value in the
    run's ``config`` differs from its default (what the flag's help shows): an option given.
    Checked when a run starts (``prepare``), never in ``validate``, so that an old run whose
    config.json recorded an option that had no effect still reads."""
    defaults = type(config)()
    return [
        (field, flag)
        for section, field, flag in options
        if getattr(getattr(config, section), field) != getattr(getattr(defaults, section), field)
    ]


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")


def check_top(top: object) -> None:
    check_int("top", top)


def data_record(dataset: str, split_seed: int, data, fingerprint: str, **labels) -> dict:
    """``config.json``'s ``data`` section: where the data came from (a file's absolute path),
    the split's seed and sizes, the ``labels`` (classes or tag set) and the fingerprint."""
    path = Path(dataset)
    return {
        "dataset": str(path.resolve()) if path.is_file() else dataset,
        "split_seed": split_seed,
        "name": data.name,
        **labels,
        "sizes": {name: int(len(data.splits[name])) for name in SPLITS},
        "fingerprint": fingerprint,
        "card": data.card,
    }


def reload_data(record: dict, load: Callable, fingerprint: Callable, what: str):
    """The data a run was trained on (``load(dataset, split_seed)``), or a ValueError if
    its ``what`` (e.g. "examples, labels") or split have changed since."""
    data = load(record["dataset"], record["split_seed"])
    if fingerprint(data) != record["fingerprint"]:
        raise ValueError(
            f"the data {record['dataset']} has changed since this run was trained (different "
            f"{what} or split); it cannot be evaluated or resumed on the same split"
        )
    return data


@dataclass
class LoadedRun:
    """A run's model (eval mode, CPU) with its encoder and its checkpoint's task metadata."""

    run_dir: Path
    record: dict
    config: Any
    encoder: Any
    model: nn.Module
    checkpoint: str
    step: int
    meta: dict

    def head(self, data_name: str, split: str) -> dict:
        """The first keys of an evaluation of this run on ``split`` of ``data_name``."""
        where = {"task": self.record["task"], "run_dir": str(self.run_dir)}
        return {
            **where,
            "checkpoint": self.checkpoint,
            "steps": self.step,
            "data": data_name,
            "split": split,
        }


def load_run(
    run_dir: str | Path,
    checkpoint: str,
    task: str,
    model_class: type,
    load_encoder: Callable[[Path, dict], Any],
) -> LoadedRun:
    """The model of checkpoint ``best`` (``last`` when the run has no best yet) or ``last``
    of a run of ``task`` (``model_class.from_dict`` of the checkpoint's model record, by
    ``lifecycle.open_model``), and the run's encoder; the data is not read."""
    opened, model = lifecycle.open_model(run_dir, checkpoint, task, model_class.from_dict)
    encoder = load_encoder(opened.run_dir, opened.record)
    where = opened.run_dir, opened.record, opened.config, encoder, model
    return LoadedRun(*where, opened.checkpoint, opened.step, opened.loaded.meta["task"])
