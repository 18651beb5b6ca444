"""What translation (``seq2seq``) and captioning (``caption``) share: two encoder-decoder
tasks that pick their best checkpoint by validation loss or greedy BLEU, score greedy and
beam outputs with BLEU and chrF, and check that a run's data is the one it was trained on.

The figure ``--select bleu`` minimises is ``val_bleu_gap = 100 - BLEU`` of greedy outputs
on the validation split, in both tasks. seq2seq called it ``val_bleu_deficit`` before, and
its evaluations still record that name beside the new one, so that a reader of an older
seq2seq run's metrics.jsonl finds the same key in the new one (``LEGACY_BLEU_GAP``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rnnkit.evaluation.bleu import corpus_bleu, corpus_chrf
from rnnkit.training.config import SelectionConfig

BLEU_GAP = "val_bleu_gap"
LEGACY_BLEU_GAP = "val_bleu_deficit"  # seq2seq's name of BLEU_GAP in runs of before


@dataclass
class BleuSelection(SelectionConfig):
    """Which validation figure picks the best checkpoint (the Trainer minimises it):
    ``loss``, the teacher-forced cross-entropy per token; or ``bleu``, ``val_bleu_gap =
    100 - BLEU`` of greedy outputs. They can disagree: on the emoji, names of unseen emoji
    are mostly unseen words, so the validation loss turns up early while BLEU still climbs."""

    ALLOWED: ClassVar[tuple[str, ...]] = ("loss", "bleu")


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
