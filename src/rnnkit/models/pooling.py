r"""Pooling: a padded batch of recurrent outputs (N, T, H') -> one vector per sequence (N, H').

Every pooling reads only the first ``lengths[n]`` steps of sequence ``n``; what lies in the
padding never reaches the result (the tests fill it with garbage to prove it).

    last       h_{len-1}; for a bidirectional layer (H' = 2H) the forward direction's state
               at the last real step and the backward direction's at step 0, i.e. each
               direction's final state after reading the whole sequence
    mean       (1 / len) sum_{t < len} h_t
    max        max_{t < len} h_t, feature by feature
    attention  additive attention against a learned query u (Bahdanau et al. 2015, as used for
               pooling by Yang et al. 2016, "Hierarchical Attention Networks", eq. 5-7):

                   e_t     = u^T tanh(W h_t + b)          (score of step t)
                   alpha_t = softmax_{t < len}(e_t)       (padding gets weight 0)
                   s       = sum_t alpha_t h_t

    concat     [last | max | mean], (N, 3H'): the final states beside the strongest and the
               average activation of every feature (the concat pooling of Howard and Ruder
               2018, ULMFiT), for when no one summary suffices
    points     [h_{p_1} | ... | h_{p_K}], (N, K H'): the states at K evenly spaced points of
               each sequence, p_k = round((k - 1) (len - 1) / (K - 1)), first and last step
               included, in the sequence's own time (a short and a long utterance are read at
               the same relative places; the readout of Jaeger et al. 2007's echo-state
               classifier of Japanese vowels)

Shape letters: ``N`` batch, ``T`` padded length, ``H'`` features of each step (``2H`` for a
bidirectional layer), ``A`` attention size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

POOLINGS = ("last", "mean", "max", "attention", "concat", "points")


def length_mask(lengths: Tensor, max_length: int) -> Tensor:
    """(N, T) bool, True at the real steps ``t < lengths[n]``."""
    steps = torch.arange(max_length, device=lengths.device)  # (T,)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)  # (N, T)


def last_pool(outputs: Tensor, lengths: Tensor, bidirectional: bool = False) -> Tensor:
    """Each direction's final state: (N, T, H') -> (N, H') (see the module docstring)."""
    index = (lengths - 1).to(outputs.device)  # (N,)
    rows = torch.arange(outputs.shape[0], device=outputs.device)
    last = outputs[rows, index]  # (N, H'): every feature at step len-1
    if not bidirectional:
        return last
    hidden = outputs.shape[2] // 2
    return torch.cat([last[:, :hidden], outputs[:, 0, hidden:]], dim=1)  # (N, 2H)


def mean_pool(outputs: Tensor, lengths: Tensor) -> Tensor:
    """(N, T, H') -> (N, H'): the mean over the real steps."""
    mask = length_mask(lengths.to(outputs.device), outputs.shape[1]).unsqueeze(2)  # (N, T, 1)
    total = torch.where(mask, outputs, torch.zeros_like(outputs)).sum(dim=1)  # (N, H')
    return total / lengths.to(outputs.device, outputs.dtype).unsqueeze(1)


def max_pool(outputs: Tensor, lengths: Tensor) -> Tensor:
    """(N, T, H') -> (N, H'): the largest value of each feature over the real steps."""
    mask = length_mask(lengths.to(outputs.device), outputs.shape[1]).unsqueeze(2)  # (N, T, 1)
    return outputs.masked_fill(~mask, float("-inf")).max(dim=1).values


def check_points(points: object) -> None:
    """``points`` pooling's ``K``: an integer >= 2 (the first and the last step at least)."""
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ValueError(f"pool_points must be an integer >= 2, got {points!r}")


def points_pool(outputs: Tensor, lengths: Tensor, points: int) -> Tensor:
    """(N, T, H') -> (N, K H'): the states at ``points`` evenly spaced steps of each sequence,
    from its first to its last real step, side by side in time order."""
    check_points(points)
    k = torch.arange(points, dtype=torch.float64)  # (K,)
    span = (lengths.to(torch.float64) - 1).unsqueeze(1)  # (N, 1)
    index = torch.round(k * span / (points - 1)).long().to(outputs.device)  # (N, K)
    index = index.unsqueeze(2).expand(-1, -1, outputs.shape[2])  # (N, K, H')
    return outputs.gather(1, index).flatten(1)  # (N, K H')


class AttentionPool(nn.Module):
    """Additive attention pooling (see the module docstring): ``W`` is ``projection``
    (H' -> A, with the bias ``b``), ``u`` is ``query`` (A -> 1, no bias)."""

    def __init__(self, input_size: int, attention_size: int | None = None):
        super().__init__()
        attention_size = attention_size or input_size
        self.projection = nn.Linear(input_size, attention_size)
        self.query = nn.Linear(attention_size, 1, bias=False)

    def weights(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        """alpha (N, T): a distribution over each sequence's real steps, 0 on the padding."""
        scores = self.query(torch.tanh(self.projection(outputs))).squeeze(2)  # e: (N, T)
        mask = length_mask(lengths.to(outputs.device), outputs.shape[1])  # (N, T)
        return scores.masked_fill(~mask, float("-inf")).softmax(dim=1)

    def forward(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        alpha = self.weights(outputs, lengths)  # (N, T)
        # Padding may hold anything, even inf or NaN; 0 * NaN is NaN, so select, not multiply.
        mask = alpha.unsqueeze(2) > 0  # (N, T, 1)
        values = torch.where(mask, outputs, torch.zeros_like(outputs))
        return torch.bmm(alpha.unsqueeze(1), values).squeeze(1)  # (N, H')


class Pooling(nn.Module):
    """One of ``POOLINGS`` as a module: ``pooling(outputs (N, T, H'), lengths (N,))`` ->
    ``(N, output_size)``, which is ``H'`` (``3H'`` for ``concat``, ``K H'`` for ``points``).

    ``bidirectional`` tells ``last`` that the features are [forward | backward] halves;
    ``points`` is ``K`` for ``points`` pooling (ignored by the others).
    """

    def __init__(self, name: str, input_size: int, bidirectional: bool = False, points: int = 5):
        super().__init__()
        if name not in POOLINGS:
            raise ValueError(f"unknown pooling {name!r}; allowed: {', '.join(POOLINGS)}")
        if name == "points":
            check_points(points)
        self.name = name
        self.bidirectional = bidirectional
        self.points = points
        self.attention = AttentionPool(input_size) if name == "attention" else None
        self.output_size = input_size * pooled_copies(name, points)

    def forward(self, outputs: Tensor, lengths: Tensor) -> Tensor:
        if self.name == "last":
            return last_pool(outputs, lengths, self.bidirectional)
        if self.name == "mean":
            return mean_pool(outputs, lengths)
        if self.name == "max":
            return max_pool(outputs, lengths)
        if self.name == "concat":
            return torch.cat(
                [
                    last_pool(outputs, lengths, self.bidirectional),
                    max_pool(outputs, lengths),
                    mean_pool(outputs, lengths),
                ],
                dim=1,
            )  # (N, 3H')
        if self.name == "points":
            return points_pool(outputs, lengths, self.points)
        return self.attention(outputs, lengths)

    def extra_repr(self) -> str:
        text = f"{self.name!r}" + (", bidirectional=True" if self.bidirectional else "")
        return text + (f", points={self.points}" if self.name == "points" else "")


def pooled_copies(name: str, points: int = 5) -> int:
    """How many ``H'``-wide vectors pooling ``name`` puts side by side: 3 for ``concat``,
    ``points`` for ``points``, 1 for the rest."""
    return {"concat": 3, "points": points}.get(name, 1)
