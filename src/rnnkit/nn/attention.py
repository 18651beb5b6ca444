r"""Attention: a query weighs the elements of a memory and reads their weighted sum.

The lectures' picture: instead of squeezing a whole source sequence into one vector (the
"encoding bottleneck"), the decoder learns, for each output step, how much to weigh each
input element:

    e_i = score(q, k_i)                       (one score per memory element i)
    p   = softmax_{i valid}(e)                (padding gets weight exactly 0)
    z   = sum_i p_i v_i                       (the context vector)

Here the keys and the values are the same vectors (the encoder's outputs, or a CNN's feature
map positions), as in both papers below. Two scores:

additive (Bahdanau et al. 2015, "Neural Machine Translation by Jointly Learning to Align and
Translate", appendix A.1.2), a one-hidden-layer network of query and key::

    e_i = v^T tanh(W_q q + W_k k_i + b)

multiplicative (Luong et al. 2015, "Effective Approaches to Attention-based Neural Machine
Translation", section 3.1), a bilinear form (``general``) or a plain dot product (``dot``,
query and key of the same size)::

    general:  e_i = q^T W k_i             dot:  e_i = q^T k_i

``W_k k_i`` (additive) and ``W k_i`` (general) do not depend on the query, so
:meth:`prepare` computes them once per memory; a decoder then pays only for the query's part
at each step.

Shape letters: ``N`` batch, ``S`` memory length, ``K`` key (= value) features, ``Q`` query
features, ``A`` attention size. Memories are batch-first, ``(N, S, K)``, and ``mask`` is
``(N, S)`` bool, True at the real elements (see :func:`length_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnkit.options import check_int

ATTENTIONS = ("none", "additive", "multiplicative")
MULTIPLICATIVE_SCORES = ("general", "dot")


def length_mask(lengths: Tensor, max_length: int) -> Tensor:
    """(N, S) bool, True at the real elements ``i < lengths[n]``."""
    positions = torch.arange(max_length, device=lengths.device)  # (S,)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)  # (N, S)


@dataclass
class Memory:
    """What a query attends over: the values ``(N, S, K)``, the query-independent part of
    the score ``(N, S, A)`` (from :meth:`prepare`) and the mask ``(N, S)``."""

    values: Tensor
    keys: Tensor
    mask: Tensor

    def index_select(self, index: Tensor) -> Memory:
        """The memories of batch rows ``index`` (repeats allowed): for beam search."""
        return Memory(
            self.values.index_select(0, index),
            self.keys.index_select(0, index),
            self.mask.index_select(0, index),
        )


def _check_memory(values: Tensor, mask: Tensor | None, key_size: int) -> Tensor:
    if values.dim() != 3 or values.shape[-1] != key_size:
        raise ValueError(
            f"the memory must be (N, S, {key_size}) batch-first, got {tuple(values.shape)}"
        )
    if mask is None:
        return values.new_ones(values.shape[:2], dtype=torch.bool)
    if mask.shape != values.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(
            f"mask must be bool of shape {tuple(values.shape[:2])} (True at real elements), "
            f"got {mask.dtype} {tuple(mask.shape)}"
        )
    # a value the graph cannot depend on: torch.export (rnnkit export) traces without it
    if not torch.compiler.is_exporting() and not bool(mask.any(dim=1).all()):
        raise ValueError(
            "every memory needs at least one real element (a row of mask is all False)"
        )
    return mask


def _check_query(name: str, query: Tensor, query_size: int, memory: Memory) -> None:
    """A query (N, Q) for a memory of N rows: one query per memory, no broadcasting."""
    expected = (memory.values.shape[0], query_size)
    if not isinstance(query, Tensor) or tuple(query.shape) != expected:
        got = tuple(query.shape) if isinstance(query, Tensor) else type(query).__name__
        raise ValueError(
            f"{name}: expected a query of shape (N, Q) = {expected}, one per row of the "
            f"memory (N={expected[0]}), got {got}"
        )


def attend(scores: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
    """Masked softmax of ``scores`` (N, S) and the weighted sum of the values.

    Returns the context ``z`` (N, K) and the weights ``p`` (N, S), exactly 0 at padding."""
    scores = scores.masked_fill(~memory.mask, float("-inf"))  # (N, S)
    weights = torch.softmax(scores.float(), dim=-1).to(memory.values.dtype)  # (N, S)
    context = torch.bmm(weights.unsqueeze(1), memory.values).squeeze(1)  # (N, K)
    return context, weights


class AdditiveAttention(nn.Module):
    """Bahdanau's score ``e_i = v^T tanh(W_q q + W_k k_i + b)`` (see the module docstring)."""

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None):
        super().__init__()
        check_int("query_size", query_size)
        check_int("key_size", key_size)
        attention_size = key_size if attention_size is None else attention_size
        check_int("attention_size", attention_size)
        self.query_size, self.key_size, self.attention_size = query_size, key_size, attention_size
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)  # W_q
        self.key_proj = nn.Linear(key_size, attention_size)  # W_k, b
        self.score = nn.Linear(attention_size, 1, bias=False)  # v

    def prepare(self, values: Tensor, mask: Tensor | None = None) -> Memory:
        """Compute ``W_k k_i + b`` once for every element of the memory (N, S, K)."""
        mask = _check_memory(values, mask, self.key_size)
        return Memory(values, self.key_proj(values), mask)  # keys (N, S, A)

    def forward(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """``query`` (N, Q) -> context (N, K), weights (N, S)."""
        _check_query(type(self).__name__, query, self.query_size, memory)
        hidden = torch.tanh(memory.keys + self.query_proj(query).unsqueeze(1))  # (N, S, A)
        return attend(self.score(hidden).squeeze(-1), memory)  # scores (N, S)


class MultiplicativeAttention(nn.Module):
    """Luong's ``general`` score ``q^T W k_i`` or ``dot`` score ``q^T k_i``.

    ``scaled=True`` divides the score by sqrt(Q) (Vaswani et al. 2017), which keeps the softmax
    out of saturation when Q is large; Luong et al. do not scale, so neither does the default.
    """

    def __init__(
        self, query_size: int, key_size: int, score: str = "general", scaled: bool = False
    ):
        super().__init__()
        check_int("query_size", query_size)
        check_int("key_size", key_size)
        if score not in MULTIPLICATIVE_SCORES:
            raise ValueError(
                f"score must be one of {', '.join(MULTIPLICATIVE_SCORES)}, got {score!r}"
            )
        if score == "dot" and query_size != key_size:
            raise ValueError(
                f"the dot score needs query and key of one size, got {query_size} and {key_size}; "
                "use score='general' (q^T W k) for different sizes"
            )
        self.query_size, self.key_size, self.score_name = query_size, key_size, score
        self.scale = query_size**-0.5 if scaled else 1.0
        # W maps a key into the query's space, so that e_i = q . (W k_i)
        self.key_proj = nn.Linear(key_size, query_size, bias=False) if score == "general" else None

    def prepare(self, values: Tensor, mask: Tensor | None = None) -> Memory:
        """Compute ``W k_i`` (general) once for every element of the memory (N, S, K)."""
        mask = _check_memory(values, mask, self.key_size)
        keys = values if self.key_proj is None else self.key_proj(values)  # (N, S, Q)
        return Memory(values, keys, mask)

    def forward(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """``query`` (N, Q) -> context (N, K), weights (N, S)."""
        _check_query(type(self).__name__, query, self.query_size, memory)
        scores = torch.bmm(memory.keys, query.unsqueeze(-1)).squeeze(-1) * self.scale  # (N, S)
        return attend(scores, memory)


def build_attention(
    kind: str, query_size: int, key_size: int, attention_size: int | None = None
) -> nn.Module | None:
    """``none`` -> None; ``additive`` -> AdditiveAttention; ``multiplicative`` -> Luong general."""
    if kind == "none":
        return None
    if kind == "additive":
        return AdditiveAttention(query_size, key_size, attention_size)
    if kind == "multiplicative":
        return MultiplicativeAttention(query_size, key_size, "general")
    raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, got {kind!r}")
