r"""A linear-chain conditional random field over per-token tag scores (Lafferty et al. 2001;
as the output layer of a BiLSTM tagger: Huang et al. 2015, Lample et al. 2016).

A tagger's recurrent layer gives emission scores ``e_t(k)`` for every token t and tag k; the
CRF adds a score for every pair of neighbouring tags, so the tags of a sentence are chosen
together instead of one by one:

    score(y) = start[y_1] + sum_t e_t(y_t) + sum_{t>1} A[y_{t-1}, y_t] + end[y_T]
    p(y | x) = exp(score(y)) / Z,   Z = sum over all K^T tag sequences of exp(score)

``log Z`` comes from the forward recursion (``alpha_t(k) = e_t(k) + logsumexp_j(alpha_{t-1}(j)
+ A[j, k])``), the best sequence from the same recursion with max in place of logsumexp
(Viterbi), and the marginals ``p(y_t = k | x)`` as the gradient of ``log Z`` with respect to
the emissions (the forward-backward algorithm, done by autograd).

Transitions can be forbidden (``allowed``): a forbidden one scores minus infinity in training
and decoding alike, so no sequence that uses it is ever predicted. ``bio_constraints`` forbids
what BIO tags cannot do: an ``I-X`` that follows anything but ``B-X`` or ``I-X``, or that opens
the sentence. Data in IOB1 (CoNLL-2003's original tags: ``I-X`` begins an entity unless it
follows another ``X``) breaks those rules: every forbidden step of a gold sequence would add
-FORBIDDEN to its loss, and nothing could learn it. So a tagger checks its training tags
with ``forbidden_steps`` first, and where some break the rules it learns every transition.

Shapes: emissions (N, T, K), tags (N, T) int64, mask (N, T) bool with every row's real tokens
first (``mask[:, 0]`` all true: every sentence has at least one token).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.options import check_int

FORBIDDEN = -1e4  # added to a forbidden transition's score; exp() of it is 0 in float32


class LinearChainCRF(nn.Module):
    """Transition scores ``A`` (K, K), ``start`` (K,) and ``end`` (K,), learned; the
    ``allowed_*`` boolean buffers (saved with the weights) say which transitions may occur."""

    def __init__(self, num_tags: int):
        super().__init__()
        check_int("num_tags", num_tags)
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.register_buffer("allowed_transitions", torch.ones(num_tags, num_tags, dtype=bool))
        self.register_buffer("allowed_start", torch.ones(num_tags, dtype=bool))
        self.register_buffer("allowed_end", torch.ones(num_tags, dtype=bool))

    def constrain(self, transitions: Tensor, start: Tensor, end: Tensor) -> None:
        """Allow only the ``True`` entries of ``transitions`` (K, K), ``start`` and ``end`` (K,)."""
        k = self.num_tags
        shapes = (tuple(transitions.shape), tuple(start.shape), tuple(end.shape))
        if shapes != ((k, k), (k,), (k,)):
            raise ValueError(f"constraints for {k} tags need shapes ({k}, {k}), ({k},), ({k},)")
        if not bool(start.any()) or not bool(end.any()):
            raise ValueError("the constraints leave no tag to start or to end a sentence with")
        self.allowed_transitions.copy_(transitions)
        self.allowed_start.copy_(start)
        self.allowed_end.copy_(end)

    def scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """The transition, start and end scores with the forbidden ones pushed to FORBIDDEN."""

        def masked(score: Tensor, allowed: Tensor) -> Tensor:
            return torch.where(allowed, score, score.new_tensor(FORBIDDEN))

        return (
            masked(self.transitions, self.allowed_transitions),
            masked(self.start, self.allowed_start),
            masked(self.end, self.allowed_end),
        )

    def sequence_score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """``score(y)`` of the given tag sequences: (N,)."""
        _check(emissions, mask, self.num_tags)
        transitions, start, end = self.scores()
        tags = torch.where(mask, tags, 0)  # whatever the padding holds
        picked = emissions.float().gather(2, tags.unsqueeze(2)).squeeze(2)  # (N, T)
        zero = picked.new_zeros(())
        total = start[tags[:, 0]] + torch.where(mask, picked, zero).sum(1)
        steps = transitions[tags[:, :-1], tags[:, 1:]]  # (N, T-1)
        total = total + torch.where(mask[:, 1:], steps, zero).sum(1)
        last = tags.gather(1, (mask.sum(1, keepdim=True) - 1).long()).squeeze(1)  # (N,)
        return total + end[last]

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """``log Z`` of every sentence: (N,)."""
        _check(emissions, mask, self.num_tags)
        transitions, start, end = self.scores()
        emissions = emissions.float()
        alpha = start + emissions[:, 0]  # (N, K)
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)  # padded steps keep alpha
        return torch.logsumexp(alpha + end, dim=1)

    def log_likelihood(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """``log p(tags | x)`` of every sentence: (N,)."""
        return self.sequence_score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def marginals(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """``p(y_t = k | x)``: (N, T, K), rows of real tokens sum to 1, padded rows are 0."""
        with torch.enable_grad():
            leaf = emissions.detach().float().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.log_partition(leaf, mask).sum(), leaf)
        return grad * mask.unsqueeze(2)

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """The highest-scoring tag sequence of every sentence (Viterbi): (N, T) int64, with 0
        in the padding."""
        _check(emissions, mask, self.num_tags)
        transitions, start, end = self.scores()
        emissions = emissions.float()
        count, steps, _ = emissions.shape
        best = start + emissions[:, 0]  # (N, K): best score of a path ending in k
        identity = torch.arange(self.num_tags, device=emissions.device).expand(count, -1)
        back = []
        for t in range(1, steps):
            candidates = best.unsqueeze(2) + transitions  # (N, K from, K to)
            score, came_from = candidates.max(dim=1)
            keep = mask[:, t : t + 1]
            best = torch.where(keep, score + emissions[:, t], best)
            back.append(torch.where(keep, came_from, identity))  # padded: stay where you are
        tag = (best + end).argmax(dim=1)  # (N,): the last real token's tag
        path = [tag]
        for came_from in reversed(back):
            tag = came_from.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        tags = torch.stack(path[::-1], dim=1)  # (N, T)
        return tags * mask


def bio_constraints(tag_set: list[str]) -> tuple[Tensor, Tensor, Tensor]:
    """What BIO tags allow: ``I-X`` only after ``B-X`` or ``I-X``, and not first; the rest free.
    Returns (transitions (K, K), start (K,), end (K,)) boolean masks for ``constrain``."""
    count = len(tag_set)
    transitions = torch.ones(count, count, dtype=bool)
    start = torch.ones(count, dtype=bool)
    for k, tag in enumerate(tag_set):
        if not tag.startswith("I-"):
            continue
        kind = tag[2:]
        start[k] = False
        for j, previous in enumerate(tag_set):
            transitions[j, k] = previous in (f"B-{kind}", f"I-{kind}")
    return transitions, start, torch.ones(count, dtype=bool)


def forbidden_steps(
    sequences: Iterable[Sequence[int]], transitions: Tensor, start: Tensor, end: Tensor
) -> list[tuple[int, int]]:
    """The sentences (tag ids, T >= 1 each) that do what the masks of ``constrain`` forbid,
    as ``(index, t)``: t = 0 when the first tag may not start a sentence, t when the step
    from tag t-1 to tag t is forbidden, T when the last tag may not end one (the first
    breach of each sentence); empty when every sentence obeys."""
    allowed_transitions, allowed_start, allowed_end = (
        mask.cpu().numpy() for mask in (transitions, start, end)
    )
    found = []
    for index, tags in enumerate(sequences):
        tags = np.asarray(tags, dtype=np.int64)
        steps = allowed_transitions[tags[:-1], tags[1:]]  # (T-1,)
        allowed = np.concatenate([allowed_start[tags[:1]], steps, allowed_end[tags[-1:]]])
        if not allowed.all():
            found.append((index, int(np.argmin(allowed))))
    return found


def _check(emissions: Tensor, mask: Tensor, num_tags: int) -> None:
    if emissions.dim() != 3 or emissions.shape[2] != num_tags:
        raise ValueError(f"emissions must be (N, T, {num_tags}), got {tuple(emissions.shape)}")
    if mask.shape != emissions.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool (N, T) = {tuple(emissions.shape[:2])}")
    if emissions.shape[1] == 0 or not bool(mask[:, 0].all()):
        raise ValueError("every sentence needs at least one token (mask[:, 0] all true)")
