r"""Sampling from a recurrent model: temperature, top-k, top-p, priming, token-by-token generation.

A model qualifies if it has

    model(idx (T, B), state=state) -> (logits (T, B, V), loss, state)     reads a prefix once
    model.step(tokens (B,), state) -> (logits (B, V), state)              one token further

so a language model and, later, a seq2seq decoder are sampled the same way. A model may also
have ``sample_tokens(logits, state, length, temperature, generator, blocked, on_token)``, which
draws the tokens itself (an exported graph that samples K tokens a call, with noise made by
:func:`race_noise`): ``generate`` hands it every draw without top-k or top-p. Generation reads
the prime once, then carries the recurrent state one token at a time; it never re-reads the
prefix (T tokens cost T steps, not T^2 / 2).

At each step the next token is drawn from

    p_i = softmax(o / tau)_i  over the tokens that survive top-k and top-p, renormalised

with ``tau`` the temperature (tau -> 0: argmax; tau = 1: the model's distribution; tau > 1:
flatter). Top-k keeps the k most likely tokens (Fan et al. 2018); top-p, nucleus sampling,
keeps the smallest set whose probability mass reaches p (Holtzman et al. 2020). Both act on
the logits after the temperature, as in most implementations.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn


def check_length(length: int) -> None:
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be an integer >= 1 (tokens to generate), got {length!r}")


def _check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    _check_temperature(temperature)
    _check_filters(top_k, top_p)


TEMPERATURES = (1e-30, 1e30)  # the range float32 logits can be divided by (besides 0)


def _check_temperature(temperature: float) -> None:
    low, high = TEMPERATURES
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not (temperature == 0 or low <= temperature <= high)
    ):
        raise ValueError(
            f"temperature must be 0 (greedy) or a number from {low:g} to {high:g}, got "
            f"{temperature!r}"
        )


def _check_filters(top_k: int | None, top_p: float | None) -> None:
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be None or an integer >= 1, got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1
    ):
        raise ValueError(f"top_p must be None or a number in (0, 1], got {top_p!r}")


def _check_logits(logits: Tensor) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 2 or not logits.is_floating_point():
        got = f"{tuple(logits.shape)} {logits.dtype}" if isinstance(logits, Tensor) else logits
        raise ValueError(f"logits must be a float tensor of shape (B, V), got {got}")


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """Set every token outside the top-k, then outside the top-p nucleus, to -inf.

    Args:
        logits: (B, V) raw scores, one row per sequence.
        top_k: keep the k highest-scoring tokens of each row (exactly k; ties broken by
            torch.topk); None or k >= V keeps all.
        top_p: keep the smallest set of highest-probability tokens whose probability mass is
            >= top_p, always at least the top token; None or 1 keeps all.
    Returns:
        A new (B, V) tensor; kept entries are unchanged.
    """
    _check_logits(logits)
    _check_filters(top_k, top_p)
    if top_k is not None and top_k < logits.shape[-1]:
        logits = _keep_top_k(logits, top_k)
    if top_p is not None and top_p < 1:
        logits = _keep_top_p(logits, top_p)
    return logits


def _keep_top_k(logits: Tensor, k: int) -> Tensor:
    kept = logits.topk(k, dim=-1).indices  # (B, k)
    drop = torch.ones_like(logits, dtype=torch.bool).scatter_(-1, kept, False)  # (B, V)
    return logits.masked_fill(drop, -math.inf)


def _keep_top_p(logits: Tensor, p: float) -> Tensor:
    """Keep sorted token j while the mass of the tokens before it, sum_{i<j} p_(i), is < p:
    the last kept token is the one that brings the mass to >= p."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)  # (B, V)
    probs = torch.softmax(sorted_logits.float(), dim=-1)  # (B, V)
    mass_before = torch.cumsum(probs, dim=-1) - probs  # (B, V); exactly 0 for the top token
    drop_sorted = mass_before >= p  # (B, V) in sorted order
    drop_sorted[..., 0] = False  # the top token stays, even for a p float32 rounds to 0
    drop = torch.empty_like(drop_sorted).scatter_(-1, order, drop_sorted)  # (B, V) unsorted
    return logits.masked_fill(drop, -math.inf)


def suppress(logits: Tensor, ids: Sequence[int] | Tensor) -> Tensor:
    """``logits`` (B, V) with the tokens ``ids`` made impossible (-inf), e.g. ``<unk>``;
    ``ids`` as :func:`suppressed` returns them skips the checks (once per generation)."""
    if not isinstance(ids, Tensor):
        ids = suppressed(ids, logits)
    return logits if ids is None else logits.index_fill(-1, ids, -math.inf)


def suppressed(ids: Sequence[int], logits: Tensor) -> Tensor | None:
    """``ids`` checked against the vocabulary of ``logits`` (B, V), as a tensor for
    :func:`suppress` (None for none)."""
    if not ids:
        return None
    vocab_size = logits.shape[-1]
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:
        raise ValueError(f"suppress_ids must be token ids in [0, {vocab_size}), got {bad}")
    if len(set(ids)) >= vocab_size:
        raise ValueError("suppress_ids would leave no token to generate")
    return torch.tensor(list(ids), dtype=torch.long, device=logits.device)


def sample_next(
    logits: Tensor,
    temperature: float,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one token per row of ``logits`` (B, V); returns int64 (B,).

    ``temperature == 0`` returns the argmax (greedy; top-k and top-p cannot change it).
    Otherwise the logits are divided by the temperature, filtered (:func:`filter_logits`) and
    sampled in float32 with ``generator`` (the global RNG if None).
    """
    _check_logits(logits)
    _check_sampling(temperature, top_k, top_p)
    return _draw(logits, temperature, top_k, top_p, generator)


def _draw(logits: Tensor, temperature: float, top_k, top_p, generator) -> Tensor:
    """:func:`sample_next` without its checks (``generate`` checks once, not per token)."""
    if temperature == 0:
        return logits.argmax(dim=-1)  # (B,)
    scaled = logits.float() / temperature  # (B, V)
    if top_k is not None or top_p is not None:
        scaled = filter_logits(scaled, top_k, top_p)
    probs = torch.softmax(scaled, dim=-1)  # (B, V)
    return probs.div_(race_noise(probs, generator)).argmax(dim=-1)  # (B,)


def race_noise(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """The noise of one draw: q ~ Exp(1), one per entry of ``probs`` (B, V).

    A draw is the exponential race ``argmax_i p_i / q_i``: token i wins with probability
    p_i (the Gumbel-max trick with exp applied; a token of probability 0 never wins). It is
    what ``torch.multinomial(probs, 1)`` does inside, so a seed gives the tokens it gave,
    without its checks of the probabilities (three reductions a token). Written out here
    because an exported graph draws the same way: the caller makes the noise with this
    function, one call per token as here, so the same seed gives the same tokens
    (``rnnkit.export.runtime``)."""
    return torch.empty_like(probs).exponential_(generator=generator)


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout) and no autograd inside; the mode of every submodule is restored
    after, each to its own: restoring only the top module's would put a model in eval mode
    wrapped in a new module (always in training mode, as ``DecoderSteps`` is) into training
    mode, with dropout on for whatever it scores next."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters (or buffers) live; the CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def prime(model: nn.Module, prime_ids: Sequence[int], state=None) -> tuple[Tensor, object]:
    """Read the prime once, as one (T, 1) chunk, from ``state`` (zeros if None).

    Returns the logits after the last prime token (1, V), which predict the first new token,
    and the state after it.
    """
    if isinstance(prime_ids, (str, bytes)) or not isinstance(prime_ids, Sequence):
        raise ValueError(
            f"prime_ids must be a list of token ids, got {type(prime_ids).__name__}; encode "
            "text with the vocabulary first"
        )
    if len(prime_ids) == 0:
        raise ValueError(
            "prime_ids is empty: generation needs at least one token to start from "
            "(e.g. the id of '\\n')"
        )
    ids = [operator.index(i) for i in prime_ids]
    idx = torch.tensor(ids, dtype=torch.long, device=model_device(model)).unsqueeze(1)  # (T, 1)
    logits, _, state = model(idx, state=state)  # (T, 1, V)
    return logits[-1], state  # (1, V)


@torch.no_grad()
def generate(
    model: nn.Module,
    prime_ids: Sequence[int],
    length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    on_token: Callable[[int], None] | None = None,
    state=None,
    suppress_ids: Sequence[int] = (),
) -> list[int]:
    """Sample ``length`` new tokens after ``prime_ids``; returns only the new ids.

    The prime is read once (:func:`prime`); each new token then goes through ``model.step``
    with the carried state, so the model takes ``length - 1`` single-token steps. The model
    runs in eval mode without autograd, and its mode is restored afterwards.

    Args:
        temperature, top_k, top_p: see :func:`sample_next`; temperature 0 is greedy.
        seed: seeds a private generator, so the same seed gives the same tokens (on the same
            device and torch version) and the global RNG is untouched; None uses the global RNG.
        on_token: called with each new id as soon as it is drawn (for streaming output).
        state: the state to read the prime from (e.g. a seq2seq encoder's); zeros if None.
        suppress_ids: tokens never to generate (e.g. the vocabulary's unknown symbol).
    """
    check_length(length)
    _check_sampling(temperature, top_k, top_p)
    generated: list[int] = []
    with evaluating(model):
        logits, state = prime(model, prime_ids, state)  # (1, V)
        blocked = suppressed(suppress_ids, logits)
        generator = None
        if seed is not None:
            generator = torch.Generator(device=logits.device).manual_seed(seed)
        drawer = getattr(model, "sample_tokens", None)  # a model that draws inside its graph
        if drawer is not None and top_k is None and top_p is None:
            return drawer(logits, state, length, temperature, generator, blocked, on_token)
        for position in range(length):
            if blocked is not None:
                logits = suppress(logits, blocked)
            token = _draw(logits, temperature, top_k, top_p, generator)  # (1,)
            generated.append(int(token))
            if on_token is not None:
                on_token(generated[-1])
            if position + 1 < length:
                logits, state = model.step(token, state)  # (1, V)
    return generated
