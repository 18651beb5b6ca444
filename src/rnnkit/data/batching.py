"""Batches for truncated backpropagation through time (TBPTT) over one long token sequence.

Three steps, as in pytorch/examples' word_language_model:

1. ``split_contiguous`` cuts the sequence into train / validation / test *ranges*, so no text
   of one part appears in another.
2. ``TokenStreams`` lays one part out as ``B`` parallel streams and serves chunks of ``T``
   steps, in order, so that the recurrent state at the end of chunk ``k`` is the right initial
   state for chunk ``k + 1``.
3. ``detach_state`` cuts the autograd graph between chunks: gradients flow back at most ``T``
   steps, while the forward pass still carries information across the whole stream.

Shapes: ``T`` time steps per chunk, ``B`` streams (the batch). Chunks are time-major
``(T, B)`` int64 tensors by default, or ``(B, T)`` with ``batch_first=True``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from rnnkit.options import check_int

DEFAULT_SPLIT = (0.9, 0.05, 0.05)


class Split(NamedTuple):
    """The three contiguous parts of a sequence (see ``split_contiguous``)."""

    train: Any
    val: Any
    test: Any


def split_contiguous(sequence: Sequence, fractions: Sequence[float] = DEFAULT_SPLIT) -> Split:
    """Cut ``sequence`` (a str, list, array or tensor) into three consecutive ranges::

        |<------------------ train ------------------>|<--- val --->|<--- test --->|
        0                                          round(n f0)   round(n (f0+f1))    n

    ``fractions`` are ``(train, val, test)``, each >= 0, summing to 1, train > 0. A part with a
    fraction of 0 is empty; a part with a positive fraction that would come out empty is an
    error (the sequence is too short).
    """
    fractions = tuple(float(f) for f in fractions)
    if (
        len(fractions) != 3
        or not all(math.isfinite(f) and f >= 0 for f in fractions)
        or abs(sum(fractions) - 1) > 1e-6
        or fractions[0] == 0
    ):
        raise ValueError(
            f"split fractions must be three numbers (train, val, test), each >= 0, summing to 1, "
            f"with train > 0; got {fractions}"
        )
    n = len(sequence)
    train_end = round(n * fractions[0])
    val_end = n if fractions[2] == 0 else max(train_end, round(n * (fractions[0] + fractions[1])))
    parts = Split(sequence[:train_end], sequence[train_end:val_end], sequence[val_end:])
    for name, part, fraction in zip(Split._fields, parts, fractions, strict=True):
        if fraction > 0 and len(part) == 0:
            raise ValueError(
                f"a sequence of {n} tokens is too short to split {fractions}: the {name} part "
                "would be empty; give more text or change the split"
            )
    return parts


class Batch(NamedTuple):
    """One chunk as the training loop sees it.

    ``step`` counts chunks since the start of training (epoch * chunks_per_epoch + index);
    ``index == 0`` marks the start of an epoch, where the streams restart from their first
    token and the recurrent state should be reset.
    """

    step: int
    epoch: int
    index: int
    inputs: torch.Tensor
    targets: torch.Tensor


class TokenStreams:
    """A token sequence cut into ``B`` parallel streams, served in chunks of ``T`` steps.

    The sequence (length ``n``) is trimmed to ``L = n // B`` tokens per stream; stream ``b``
    holds tokens ``b*L .. (b+1)*L - 1``. With the alphabet, ``B = 4`` and ``T = 2``::

        tokens   a b c d e f g h i j k l m n o p q r s t u v w x y z          n = 26

        stream      0  1  2  3
        t = 0     [ a  g  m  s ]        L = 26 // 4 = 6 rows;
            1     [ b  h  n  t ]        the last n - B*L = 2 tokens (y z) are dropped
            2     [ c  i  o  u ]
            3     [ d  j  p  v ]
            4     [ e  k  q  w ]
            5     [ f  l  r  x ]

        chunk 0   inputs  [ a  g  m  s ]    targets  [ b  h  n  t ]
                          [ b  h  n  t ]             [ c  i  o  u ]
        chunk 1   inputs  [ c  i  o  u ]    targets  [ d  j  p  v ]
                          [ d  j  p  v ]             [ e  k  q  w ]
        chunk 2   inputs  [ e  k  q  w ]    targets  [ f  l  r  x ]    (1 step: row 5 is last)

    Chunk ``k`` is ``inputs = s[kT : kT+T]``, ``targets = s[kT+1 : kT+T+1]`` in every stream
    ``s``; the inputs of consecutive chunks tile rows ``0 .. L-2`` with no gap or overlap, so
    each stream is read once per epoch, in order. The columns are independent: the model never
    learns that ``g`` follows ``f``, the price of batching one sequence.

    There are ``ceil((L - 1) / T)`` chunks per epoch; the last may be shorter than ``T``
    unless ``drop_last=True`` drops it. Tensors are int64, ``(T, B)`` time-major, or
    ``(B, T)`` with ``batch_first=True``. The streams are a view of ``tokens``, never a copy of
    the whole sequence (which may be a memory-mapped token file of any size, in any integer
    type); ``device`` moves the whole array there once.
    """

    def __init__(
        self,
        tokens: Sequence[int] | np.ndarray | torch.Tensor,
        batch_size: int,
        truncate_steps: int,
        *,
        batch_first: bool = False,
        drop_last: bool = False,
        device: torch.device | str | None = None,
    ):
        tokens = torch.as_tensor(np.asarray(tokens) if isinstance(tokens, Sequence) else tokens)
        if tokens.dim() != 1 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise ValueError(
                f"tokens must be a 1-D sequence of integer ids, got {tokens.dim()}-D {tokens.dtype}"
            )
        for name, value in (("batch_size", batch_size), ("truncate_steps", truncate_steps)):
            check_int(name, value)
        n = tokens.numel()
        length = n // batch_size
        if length < 2:
            raise ValueError(
                f"{n} tokens are too few for batch_size {batch_size}: each stream needs at least "
                f"2 tokens (an input and its target), so give at least {2 * batch_size} tokens "
                "or lower batch_size"
            )
        self.batch_size = batch_size
        self.truncate_steps = truncate_steps
        self.batch_first = batch_first
        self.stream_length = length
        # (B, L): a view of the tokens as given (a memory-mapped file stays on disk), or a
        # copy on ``device``; each chunk is gathered and made int64 when it is served
        self.columns = tokens[: batch_size * length].view(batch_size, length)
        if device is not None:
            self.columns = self.columns.to(device)
        pairs = length - 1  # positions that have a next token
        self.num_chunks = (
            pairs // truncate_steps if drop_last else math.ceil(pairs / truncate_steps)
        )
        if self.num_chunks == 0:
            raise ValueError(
                f"streams of {length} tokens hold no full chunk of {truncate_steps} steps; "
                "lower truncate_steps or batch_size, or keep the short chunk (drop_last=False)"
            )

    def __len__(self) -> int:
        """Chunks per epoch."""
        return self.num_chunks

    @property
    def tokens_per_epoch(self) -> int:
        """Number of (input, target) pairs one epoch covers: ``B * T`` summed over chunks."""
        return self.batch_size * min(self.num_chunks * self.truncate_steps, self.stream_length - 1)

    def chunk(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` of chunk ``index`` (0 <= index < len(self))."""
        if not 0 <= index < self.num_chunks:
            raise IndexError(f"chunk {index} out of range: this epoch has {self.num_chunks}")
        start = index * self.truncate_steps
        steps = min(self.truncate_steps, self.stream_length - 1 - start)
        window = self.columns[:, start : start + steps + 1].to(torch.long)  # (B, T + 1)
        if self.batch_first:
            return window[:, :-1].contiguous(), window[:, 1:].contiguous()  # (B, T)
        window = window.t().contiguous()  # (T + 1, B)
        return window[:-1], window[1:]  # (T, B) each

    @property
    def data(self) -> torch.Tensor:
        """The whole ``(L, B)`` layout as int64 (a copy: to look at, not to train from)."""
        return self.columns.t().to(torch.long).contiguous()

    def chunks(self, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The chunks of one epoch, in order, from chunk ``start`` (to resume mid-epoch)."""
        if not 0 <= start <= self.num_chunks:
            raise ValueError(f"start chunk must be in 0..{self.num_chunks}, got {start}")
        for index in range(start, self.num_chunks):
            yield self.chunk(index)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.chunks()

    def position(self, step: int) -> tuple[int, int]:
        """``(epoch, index)`` of global chunk number ``step``."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        return divmod(step, self.num_chunks)

    def batches(self, start_step: int = 0) -> Iterator[Batch]:
        """Chunks epoch after epoch, forever, from global chunk number ``start_step``.

        Resuming with ``start_step=k`` yields exactly what an uninterrupted run yields from its
        ``k``-th chunk on. The recurrent state is not part of the data: reset it where
        ``batch.index == 0`` (and on resume, unless the checkpoint saved it).
        """
        step = start_step
        epoch, index = self.position(step)
        while True:
            inputs, targets = self.chunk(index)
            yield Batch(step, epoch, index, inputs, targets)
            step += 1
            epoch, index = divmod(step, self.num_chunks)


def detach_state(state: Any) -> Any:
    """Detach a recurrent state from the graph that produced it (``repackage_hidden``).

    Accepts ``None``, a tensor, or a tuple / list / named tuple of them (nested), e.g. an
    LSTM's ``(h, c)``, and returns the same structure. Call it between TBPTT chunks: the values
    carry over, the gradient stops at the chunk boundary.
    """
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(detach_state(part) for part in state))
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(part) for part in state)
    raise TypeError(
        f"a recurrent state is a tensor or a tuple/list of tensors, got {type(state).__name__}"
    )
