r"""Beam search: keep the ``K`` best partial sequences, extend each by every token, keep ``K``.

A hypothesis ``y_1 .. y_n`` after the prime ``x`` scores

    log P(y | x) = sum_{t=1}^{n} log p(y_t | x, y_{<t})

and complete hypotheses are ranked by the length-normalised score of GNMT (Wu et al. 2016,
section 7, without the coverage penalty)

    s(y) = log P(y | x) / lp(y),    lp(y) = ((5 + |y|) / (5 + 1)) ** alpha

``alpha = 0`` ranks by the plain sum of log-probabilities, which favours short outputs when
hypotheses may end early (at ``eos_id``); larger alpha favours longer ones.

The ``K`` beams run as one batch of ``B = K`` rows: after each step the state is reordered
with ``index_select`` on its batch dimension, so each surviving beam carries on from its own
parent's state. Like sampling, the search reads the prime once and then feeds one token per
beam per step; it needs only ``model(idx, state=) -> (logits, loss, state)`` and
``model.step(tokens, state) -> (logits, state)``, with the state a tensor (.., B, ..) whose
dimension 1 is the batch (torch's (L * D, B, H)), an object that selects its own batch rows
with ``index_select(index)`` (a seq2seq decoder's attention memory), or a tuple/list of those.

A hypothesis that emits ``eos_id`` is finished and set aside; the beam refills from the next
best continuations, so ``K`` hypotheses stay live. The search stops after ``length`` tokens,
when no live hypothesis can still beat the ``K`` best finished ones, or when none is left.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from rnnkit.generation.sampling import check_length, evaluating, prime, suppress

Hypothesis = tuple[list[int], float]


@dataclass
class BeamResult:
    """The best hypothesis and the ranked candidates (best first, at most ``beam_size``).

    ``ids`` are the generated ids only (not the prime), ending with ``eos_id`` if the
    hypothesis finished there; ``score`` is the length-normalised log-probability s(y).
    """

    ids: list[int]
    score: float
    candidates: list[Hypothesis] = field(default_factory=list)


def length_normalizer(length: int, alpha: float) -> float:
    """GNMT's lp(y) = ((5 + |y|) / 6) ** alpha."""
    return ((5 + length) / 6) ** alpha


def reorder_state(state, index: Tensor):
    """Select (and repeat) batch rows of a state: dimension 1 of every tensor in it."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.index_select(1, index)
    if isinstance(state, (tuple, list)):
        return type(state)(reorder_state(part, index) for part in state)
    if callable(getattr(state, "index_select", None)):  # e.g. an attention Memory: it knows
        return state.index_select(index)  # where its batch dimension is
    raise ValueError(
        f"beam search reorders a state made of tensors (batch on dimension 1), objects with "
        f"an index_select(index) method, and tuples or lists of them, got {type(state).__name__}"
    )


def _check_options(length, beam_size, length_penalty, eos_id) -> None:
    check_length(length)
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be an integer >= 1, got {beam_size!r}")
    if (
        isinstance(length_penalty, bool)
        or not isinstance(length_penalty, (int, float))
        or not math.isfinite(length_penalty)
        or length_penalty < 0
    ):
        raise ValueError(
            f"length_penalty must be a finite number >= 0 (GNMT's alpha; 0 = plain sum of "
            f"log-probabilities), got {length_penalty!r}"
        )
    if eos_id is not None and (isinstance(eos_id, bool) or not isinstance(eos_id, int)):
        raise ValueError(f"eos_id must be None or a token id, got {eos_id!r}")


@dataclass
class _Beams:
    """The live hypotheses: their ids, summed log-probabilities (K,) and the finished ones."""

    beam_size: int
    alpha: float
    eos_id: int | None
    ids: list[list[int]]
    scores: Tensor
    finished: list[Hypothesis] = field(default_factory=list)

    def normalised(self, ids: list[int], score: float) -> Hypothesis:
        return ids, score / length_normalizer(len(ids), self.alpha)

    def extend(self, logits: Tensor) -> tuple[Tensor, Tensor]:
        """Extend every live hypothesis by every token and keep the best ``K`` that did not
        end in eos. Returns the surviving rows' parents (K',) and their new tokens (K',)."""
        log_p = torch.log_softmax(logits.float(), dim=-1)  # (K, V)
        vocab_size = log_p.shape[-1]
        totals = (self.scores.unsqueeze(1) + log_p).flatten()  # (K * V,)
        # 2K candidates always hold K that do not end in eos: at most one per live row does.
        top_scores, top_index = totals.topk(min(2 * self.beam_size, totals.numel()))
        parents, tokens = top_index // vocab_size, top_index % vocab_size  # (2K,), (2K,)
        keep, new_ids = [], []
        for rank, (parent, token, score) in enumerate(
            zip(parents.tolist(), tokens.tolist(), top_scores.tolist(), strict=True)
        ):
            if score == -math.inf and (keep or self.finished):
                break  # the rest are impossible (suppressed) tokens: never hypotheses
            ids = self.ids[parent] + [token]
            if token == self.eos_id:
                if rank < self.beam_size:  # only an eos that would have made the beam
                    self.finished.append(self.normalised(ids, score))
                continue
            keep.append(rank)
            new_ids.append(ids)
            if len(keep) == self.beam_size:
                break
        rows = torch.tensor(keep, dtype=torch.long, device=top_index.device)
        self.ids, self.scores = new_ids, top_scores[rows]
        return parents[rows], tokens[rows]

    def settled(self, max_length: int) -> bool:
        """No live hypothesis can beat the K-th best finished one. A live raw score s <= 0
        only falls as tokens are added, and s / lp is largest at the longest length (alpha >=
        0), so s_best / lp(max_length) bounds every continuation's normalised score."""
        if not self.ids:
            return True
        if len(self.finished) < self.beam_size:
            return False
        kth_best = sorted(score for _, score in self.finished)[-self.beam_size]
        bound = float(self.scores.max()) / length_normalizer(max_length, self.alpha)
        return bound <= kth_best

    def ranked(self) -> list[Hypothesis]:
        """Finished and live hypotheses, best first. Live ones have either reached the length
        limit or, when the search :meth:`settled`, rank below the K best finished ones."""
        scores = self.scores.tolist()
        live = [self.normalised(ids, s) for ids, s in zip(self.ids, scores, strict=True)]
        ranked = sorted(self.finished + live, key=lambda hypothesis: -hypothesis[1])
        return ranked[: self.beam_size]


@torch.no_grad()
def beam_search(
    model: nn.Module,
    prime_ids: Sequence[int],
    length: int,
    *,
    beam_size: int,
    length_penalty: float = 0.0,
    eos_id: int | None = None,
    state=None,
    suppress_ids: Sequence[int] = (),
) -> BeamResult:
    """The highest-scoring continuation of ``prime_ids`` of at most ``length`` tokens that the
    beam finds (exact when ``beam_size`` covers every prefix). ``beam_size=1`` is greedy
    except where a hypothesis ends at ``eos_id`` under a ``length_penalty``: the ended one is
    set aside and the next-best token goes on, which can end with a higher normalised score.

    Args:
        length: the most tokens to generate; without ``eos_id`` every result has this length.
        beam_size: K, hypotheses kept per step (the batch size of every model step).
        length_penalty: GNMT's alpha >= 0 in s(y) = log P(y) / ((5 + |y|) / 6) ** alpha.
        eos_id: a token that ends a hypothesis (kept as its last id); None: none ends early.
        state: the state to read the prime from (e.g. a seq2seq encoder's); zeros if None.
        suppress_ids: tokens never to generate (e.g. the vocabulary's unknown symbol).
    """
    _check_options(length, beam_size, length_penalty, eos_id)
    with evaluating(model):
        logits, state = prime(model, prime_ids, state)  # (1, V)
        if eos_id is not None and not 0 <= eos_id < logits.shape[-1]:
            raise ValueError(f"eos_id must be in [0, {logits.shape[-1]}), got {eos_id}")
        scores = logits.new_zeros(1, dtype=torch.float32)  # (1,): the prime alone
        beams = _Beams(beam_size, float(length_penalty), eos_id, [[]], scores)
        for position in range(length):
            parents, tokens = beams.extend(suppress(logits, suppress_ids))  # (K,), (K,)
            if position + 1 == length or beams.settled(length):
                break
            state = reorder_state(state, parents)
            logits, state = model.step(tokens, state)  # (K, V)
    candidates = beams.ranked()
    best_ids, best_score = candidates[0]
    return BeamResult(best_ids, best_score, candidates)
