"""Diagnostics for a language model: a fixed batch of held-out text and its cross-entropy.

    idx, targets = text_batch(ids, batch_size=16, seq_len=200)      # (T, B) each
    diagnosis = diagnose(model, language_model_loss(idx, targets, "last"), loss="last")

The batch is ``B`` streams, each ``T + 1`` consecutive tokens starting ``len(ids) // B`` apart
(the layout of :class:`rnnkit.data.batching.TokenStreams`), read from the zero state. The loss
is the cross-entropy *summed* over the batch (so each example's gradient is its own), at the
last step only (``last``: ``L = sum_n CE(o_T[n], w_{T+1}[n])``) or summed over every step
(``sum``).
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.diagnostics.callback import GradientDiagnostics
from rnnkit.diagnostics.report import check_loss
from rnnkit.options import check_int

logger = logging.getLogger(__name__)


def text_batch(ids, batch_size: int, seq_len: int) -> tuple[Tensor, Tensor]:
    """``(idx, targets)``, each (T, B) int64, from the token ids ``ids``.

    Fewer streams are used when the text is short; a text shorter than ``seq_len + 1`` tokens
    is a ValueError that says how long a sequence it allows.
    """
    check_int("seq_len", seq_len, minimum=2)
    check_int("batch_size", batch_size)
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    if len(ids) < seq_len + 1:
        raise ValueError(
            f"the text has {len(ids)} tokens, too few for a sequence of {seq_len} steps "
            f"(it needs seq_len + 1); use a sequence length of at most {max(len(ids) - 1, 0)}"
        )
    streams = max(1, min(batch_size, len(ids) // (seq_len + 1)))
    stride = len(ids) // streams
    chunks = torch.stack([ids[b * stride : b * stride + seq_len + 1] for b in range(streams)])
    chunks = chunks.T  # (T + 1, B)
    return chunks[:-1].contiguous(), chunks[1:].contiguous()


def language_model_loss(idx: Tensor, targets: Tensor, loss: str = "last"):
    """``compute_loss`` for a model called as ``model(idx) -> (logits (T, B, V), ...)``."""
    check_loss(loss)

    def compute(model: nn.Module) -> Tensor:
        result = model(idx)
        logits = result[0] if isinstance(result, tuple) else result  # (T, B, V)
        chosen, wanted = (logits[-1:], targets[-1:]) if loss == "last" else (logits, targets)
        vocab = logits.shape[-1]
        return F.cross_entropy(chosen.reshape(-1, vocab), wanted.reshape(-1), reduction="sum")

    return compute


def language_model_diagnostics(
    ids,
    every: int,
    *,
    seq_len: int = 200,
    batch_size: int = 8,
    loss: str = "last",
) -> GradientDiagnostics:
    """The Trainer callback for a language model, on a fixed batch of ``ids`` (held-out text).

    A text too short for ``seq_len`` gets the longest sequence it allows (logged).
    """
    usable = len(ids) - 1
    if usable < 2:
        raise ValueError(
            f"gradient diagnostics need at least 3 tokens of validation text, got {len(ids)}"
        )
    if usable < seq_len:
        logger.info("diagnostics: the validation text allows %d steps, not %d", usable, seq_len)
        seq_len = usable
    idx, targets = text_batch(ids, batch_size, seq_len)
    return GradientDiagnostics(every, language_model_loss(idx, targets, loss), loss=loss)
