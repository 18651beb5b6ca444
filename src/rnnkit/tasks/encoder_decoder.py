"""What translation (``seq2seq``) and captioning (``caption``) share: two encoder-decoder
tasks that pick their best checkpoint by validation loss or greedy BLEU, score greedy and
beam outputs with BLEU and chrF, check that a run's data is the one it was trained on, and
load a run's model from its checkpoint's record.

The figure ``--select bleu`` minimises is ``val_bleu_gap = 100 - BLEU`` of greedy outputs
on the validation split, in both tasks (a run's ``selected_by``). seq2seq called it
``val_bleu_deficit`` before; its evaluations still write that key too (``LEGACY_BLEU_GAP``),
so that what reads a seq2seq run's metrics.jsonl (scripts, tests/fixtures/golden_losses.json)
finds it in old and new runs alike. The Trainer selects by the number, which the old runs'
checkpoints hold as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.data.buckets import LengthBuckets
from rnnkit.evaluation.bleu import corpus_bleu, corpus_chrf
from rnnkit.tasks import lifecycle
from rnnkit.training.config import SelectionConfig

BLEU_GAP = "val_bleu_gap"
LEGACY_BLEU_GAP = "val_bleu_deficit"  # seq2seq's name of BLEU_GAP in runs of before


# ``loss``, the teacher-forced cross-entropy per token; or ``bleu``, ``val_bleu_gap = 100 -
# BLEU`` of greedy outputs. They can disagree: on the emoji, names of unseen emoji are mostly
# unseen words, so the validation loss turns up early while BLEU still climbs.
BleuSelection = SelectionConfig.allowing("loss", "bleu")


def eval_metric(selection: BleuSelection) -> str:
    """The key of a task's evaluation that ``selection`` minimises."""
    return "val_loss" if selection.metric == "loss" else BLEU_GAP


def bleu_chrf(hypotheses: list[str], references: list[str]) -> tuple[float, float]:
    """Corpus BLEU and chrF (sacrebleu) of ``hypotheses`` against ``references``."""
    return corpus_bleu(hypotheses, references), corpus_chrf(hypotheses, references)


def check_fingerprint(found: str, recorded: str, dataset: str, what: str) -> None:
    """A ValueError when the data read now (``found``) is not the data a run was trained on."""
    if found != recorded:
        raise ValueError(
            f"the data {dataset} has changed since this run was trained (different {what}); "
            "it cannot be evaluated or resumed on the same split"
        )


def validation_figures(loss: float, hypotheses, references, bleu: str, chrf: str) -> dict:
    """An evaluation's figures: ``val_loss``, greedy BLEU and chrF (under the task's keys
    ``bleu`` and ``chrf``) and ``val_bleu_gap``."""
    score, chrf_score = bleu_chrf(hypotheses, references)
    return {"val_loss": loss, bleu: score, chrf: chrf_score, BLEU_GAP: 100.0 - score}


class EncoderDecoderTask:
    """The Trainer hooks (``rnnkit.training.task``) translation and captioning share: batches
    of examples of similar length (``LengthBuckets``), the model built from the config's ``model``
    section and what the data gives (``model_sizes()``), the checkpoint's record of both."""

    name: ClassVar[str]  # the task's name
    model_class: ClassVar[type]  # model_class(config.model, **self.model_sizes()), a subclass's

    def setup(self, config, splits: dict, train_lengths, needed: tuple, empty: str) -> None:
        """``eval_metric``, the ``splits`` (each of ``needed`` must hold examples, else the
        error ``empty.format(split)``) and the training split's buckets."""
        self.config, self.splits = config, splits
        self.eval_metric = eval_metric(config.selection)
        for name in needed:
            if len(splits[name]) == 0:
                raise ValueError(empty.format(name))
        self.buckets = LengthBuckets(train_lengths, config.data.batch_size, config.trainer.seed)

    def build_model(self):
        return self.model_class(self.config.model, **self.model_sizes())

    def data_position(self, step: int) -> dict:
        return self.buckets.position(step)

    def checkpoint_metadata(self) -> dict:
        return {"name": self.name, "model": {**asdict(self.config.model), **self.model_sizes()}}


@dataclass
class LoadedRun:
    """A run's model (eval mode, CPU) with its vocabulary (or vocabularies)."""

    run_dir: Path
    record: dict
    config: Any
    vocab: Any
    model: Any
    checkpoint: str
    step: int


def load_run(run_dir, checkpoint: str, task: str, model_class: type, read_vocab) -> LoadedRun:
    """The model of checkpoint ``best`` (``last`` when the run has no best yet) or ``last``
    of a ``task`` run, rebuilt by ``model_class.from_dict`` from the checkpoint's record
    (``lifecycle.open_model``; the data is not read); ``read_vocab(run_dir, config)`` reads
    its vocabulary."""
    opened, model = lifecycle.open_model(run_dir, checkpoint, task, model_class.from_dict)
    vocab = read_vocab(opened.run_dir, opened.config)
    return LoadedRun(
        opened.run_dir, opened.record, opened.config, vocab, model, opened.checkpoint, opened.step
    )


def check_split(split: str, splits: tuple) -> None:
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(splits)}")


def evaluation_head(run: LoadedRun, split: str, data_name: str) -> dict:
    """What an evaluation's result starts with: the run, its checkpoint, the data, the split."""
    return {
        "task": run.record["task"],
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
        "data": data_name,
        "split": split,
    }
