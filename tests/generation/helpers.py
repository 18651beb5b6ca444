"""Models for the generation tests: a Markov chain with a hand-made table, a wrapper that
records every call, brute-force scoring of every sequence, and a spy on the length penalty
that a task's beam search is given."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from rnnkit.models import LanguageModel, LanguageModelConfig


class TableModel(nn.Module):
    """A second-order Markov chain: p(w_{t+1} | w_{t-1}, w_t) = probs[w_{t-1}, w_t].

    The state is the previous token, (1, B) int64 (the batch on dimension 1, as in torch's
    layout), token 0 when there is none; a beam search that reorders it wrongly gets the wrong
    distributions.
    """

    def __init__(self, probs: torch.Tensor):
        super().__init__()
        assert probs.dim() == 3 and torch.allclose(probs.sum(-1), torch.ones(()))
        self.register_buffer("log_probs", probs.log())  # (V, V, V)

    def forward(self, idx, targets=None, state=None):
        previous = state if state is not None else torch.zeros_like(idx[:1])  # (1, B)
        previous = torch.cat([previous, idx[:-1]])  # (T, B)
        return self.log_probs[previous, idx], None, idx[-1:]  # (T, B, V)

    def step(self, tokens, state):
        logits, _, state = self(tokens.unsqueeze(0), state=state)
        return logits.squeeze(0), state


def random_table(vocab_size: int, seed: int = 0, sharpness: float = 2.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    logits = sharpness * torch.randn(vocab_size, vocab_size, vocab_size, generator=generator)
    return torch.softmax(logits, dim=-1)


class CountingModel(nn.Module):
    """Wraps a model and records the shape of what each forward and step call reads."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.forward_shapes: list[tuple[int, ...]] = []
        self.step_shapes: list[tuple[int, ...]] = []
        self.grad_enabled: list[bool] = []
        self.modes: list[bool] = []

    def _record(self) -> None:
        self.grad_enabled.append(torch.is_grad_enabled())
        self.modes.append(self.model.training)

    def forward(self, idx, targets=None, state=None):
        self._record()
        self.forward_shapes.append(tuple(idx.shape))
        return self.model(idx, targets, state)

    def step(self, tokens, state):
        self._record()
        self.step_shapes.append(tuple(tokens.shape))
        return self.model.step(tokens, state)


def tiny_language_model(vocab_size: int = 5, cell: str = "lstm", seed: int = 0) -> LanguageModel:
    torch.manual_seed(seed)
    config = LanguageModelConfig(cell=cell, hidden_size=8, dropout=0.2)
    return LanguageModel(config, vocab_size)


def sequence_log_probs(model: nn.Module, prime_ids: list[int], sequences) -> torch.Tensor:
    """log P(y | prime) of each sequence (all of one length), reading prime + y whole: the
    reference, which re-reads everything, that carried-state decoding must agree with."""
    ys = torch.tensor(sequences, dtype=torch.long).T  # (n, S)
    prime = torch.tensor(prime_ids).unsqueeze(1).expand(-1, ys.shape[1])  # (P, S)
    with torch.no_grad():
        logits, _, _ = model(torch.cat([prime, ys[:-1]]), state=None)  # (P + n - 1, S, V)
    log_p = torch.log_softmax(logits[len(prime_ids) - 1 :].float(), dim=-1)  # (n, S, V)
    return log_p.gather(-1, ys.unsqueeze(-1)).squeeze(-1).sum(0)  # (S,)


def all_sequences(vocab_size: int, length: int) -> list[list[int]]:
    return [list(s) for s in itertools.product(range(vocab_size), repeat=length)]


def length_penalties(monkeypatch, module) -> list[float]:
    """The ``length_penalty`` of every ``beam_search`` call that ``module`` makes from now on
    (the search itself runs as before)."""
    penalties = []
    real = module.beam_search

    def beam_search(*args, length_penalty, **options):
        penalties.append(length_penalty)
        return real(*args, length_penalty=length_penalty, **options)

    monkeypatch.setattr(module, "beam_search", beam_search)
    return penalties
