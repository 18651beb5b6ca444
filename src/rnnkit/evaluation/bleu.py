"""Corpus BLEU and chrF of generated text against references, with ``sacrebleu``.

BLEU (Papineni et al. 2002): the geometric mean of modified 1- to 4-gram precisions times a
brevity penalty, in [0, 100]. chrF (Popovic 2015): the character n-gram F-score (n <= 6,
beta = 2), kinder to morphology and to short outputs. Both are computed by sacrebleu with its
default, published signatures (13a tokenisation for BLEU), so the numbers compare with other
papers' "sacreBLEU" figures; :func:`signatures` returns those strings for reports.

Each hypothesis has one reference here (a verse's translation, an emoji's name); a hypothesis
is scored as detokenised text, so callers join their tokens back first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sacrebleu


def _check(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(
            f"one reference per hypothesis is needed, got {len(hypotheses)} hypotheses and "
            f"{len(references)} references"
        )
    if not hypotheses:
        raise ValueError("no hypotheses to score: give at least one (hypothesis, reference)")
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        bad = [type(text).__name__ for text in texts if not isinstance(text, str)]
        if bad:
            raise ValueError(f"{name} must be strings (detokenised text), got {bad[0]}")


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacreBLEU's corpus BLEU in [0, 100]: 100 when every hypothesis equals its reference
    and the corpus holds 4-grams; 0 when no hypothesis has four tokens, however right the
    hypotheses (BLEU's geometric mean has no 4-gram precision then: chrF still scores it)."""
    _check(hypotheses, references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacreBLEU's corpus chrF in [0, 100]."""
    _check(hypotheses, references)
    return float(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score)


def signatures() -> dict[str, str]:
    """sacrebleu's signature strings of the two metrics as computed here (one reference)."""
    names = {"bleu": sacrebleu.metrics.BLEU(), "chrf": sacrebleu.metrics.CHRF()}
    for metric in names.values():
        metric.corpus_score(["a"], [["a"]])  # the signature needs the reference count
    return {name: str(metric.get_signature()) for name, metric in names.items()}
