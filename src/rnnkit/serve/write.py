"""The studio's Write view: a char model's text, one character at a time, each with the
probability the model gave it and the five it thought likeliest.

    for said in characters(run.model, run.vocab, "ROMEO:", 200, temperature=0.8, seed=1):
        said  # {"char": "e", "p": 0.41, "top": [["e", 0.41], ["o", 0.22], ...]}

The draw is :func:`rnnkit.generation.sampling.generate`'s, draw for draw (the same seed gives
the same text as ``rnnkit sample --seed``); the probabilities shown are the model's own, at
temperature 1, before any temperature or top-k/top-p filter. ``events`` streams them to the
page as server-sent events.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator

import torch
from starlette.concurrency import run_in_threadpool

from rnnkit.data.vocab import Vocab
from rnnkit.generation.sampling import check_length, evaluating, prime, sample_next, suppress
from rnnkit.tasks.charlm import prime_ids

MAX_LENGTH = 2000  # characters a request may ask for
MAX_PRIME = 1000
TOP = 5


MAX_SEED = 2**63 - 1  # what every generator here takes


def check_seed(seed: int | None) -> None:
    """A ValueError for a seed outside 0 .. 2^63 - 1 (None: one is drawn)."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer from 0 to 2^63 - 1 ({MAX_SEED}), got {seed}")


def check_request(prime_text: str, length: int, seed: int | None = None) -> None:
    """A ValueError (the page shows it) for a request over the documented limits."""
    check_seed(seed)
    if len(prime_text) > MAX_PRIME:
        raise ValueError(f"the prime has {len(prime_text)} characters; at most {MAX_PRIME}")
    if not 1 <= length <= MAX_LENGTH:
        raise ValueError(f"length must be between 1 and {MAX_LENGTH}, got {length}")
    check_length(length)


@torch.no_grad()
def characters(
    model,
    vocab: Vocab,
    prime_text: str,
    length: int,
    *,
    temperature: float = 0.8,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Iterator[dict]:
    """Yield ``length`` characters after ``prime_text`` (see the module docstring). Nothing is
    computed before the caller asks for the next one, so a closed page stops the work."""
    check_request(prime_text, length)
    ids = prime_ids(vocab, prime_text)
    with evaluating(model):
        logits, state = prime(model, ids)  # (1, V)
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        for position in range(length):
            token = sample_next(
                suppress(logits, (Vocab.unk_id,)), temperature, top_k, top_p, generator
            )  # (1,)
            yield _said(logits[0], int(token), vocab)
            if position + 1 < length:
                logits, state = model.step(token, state)


def _said(logits: torch.Tensor, token: int, vocab: Vocab) -> dict:
    probabilities = torch.softmax(logits.float(), dim=-1)  # (V,), <unk> at 0
    top = probabilities.topk(min(TOP, probabilities.numel()))
    return {
        "char": vocab.itos[token],
        "p": round(float(probabilities[token]), 6),
        "top": [
            [vocab.itos[i], round(float(p), 6)]
            for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
        ],
    }


async def events(first: dict, rest, slots: threading.BoundedSemaphore):
    """Server-sent events: one per character, then ``done``; the slot is given back however
    the stream ends, at once. An async generator, because the server cancels it when the
    page goes away (a sync one was left suspended, holding its slot until garbage
    collection); each character is still computed in a worker thread."""
    try:
        yield f"data: {json.dumps(first)}\n\n"
        while (said := await run_in_threadpool(next, rest, None)) is not None:
            yield f"data: {json.dumps(said)}\n\n"
        yield "event: done\ndata: {}\n\n"
    finally:
        slots.release()
        with contextlib.suppress(ValueError):  # a step still running in its thread ends there
            rest.close()
