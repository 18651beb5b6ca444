"""Optimisers for dicts of NumPy arrays: ``step(params, grads)`` updates params in place.

    SGD       θ ← θ - η g
    Momentum  v ← μ v - η g;  θ ← θ + v                 (Polyak's heavy ball)
    Adagrad   m ← m + g²;     θ ← θ - η g / sqrt(m + ε)   (exactly as min-char-rnn)
    Adam      m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;
              θ ← θ - η m̂ / (sqrt(v̂) + ε),  m̂ = m / (1-β1^t), v̂ = v / (1-β2^t)
              (Kingma and Ba 2015, Algorithm 1)

Notes on torch.optim: its SGD with momentum keeps b ← μ b + g and steps θ ← θ - η b, the
same trajectory as v = -η b for a constant η. Its Adagrad puts ε outside the root,
g / (sqrt(m) + ε); min-char-rnn's ε inside is kept here.
"""

from __future__ import annotations

import numpy as np


def _check_lr(lr: float) -> None:
    if not lr > 0:
        raise ValueError(f"learning rate must be positive, got {lr}")


class SGD:
    def __init__(self, lr: float = 0.1):
        _check_lr(lr)
        self.lr = lr

    def step(self, params: dict, grads: dict) -> None:
        for name, g in grads.items():
            params[name] -= self.lr * g  # θ ← θ - η g


class Momentum:
    def __init__(self, lr: float = 0.01, momentum: float = 0.9):
        _check_lr(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = lr, momentum
        self.velocity: dict[str, np.ndarray] = {}

    def step(self, params: dict, grads: dict) -> None:
        for name, g in grads.items():
            v = self.velocity.setdefault(name, np.zeros_like(g))
            v *= self.momentum
            v -= self.lr * g  # v ← μ v - η g
            params[name] += v  # θ ← θ + v


class Adagrad:
    def __init__(self, lr: float = 0.1, eps: float = 1e-8):
        _check_lr(lr)
        self.lr, self.eps = lr, eps
        self.memory: dict[str, np.ndarray] = {}

    def step(self, params: dict, grads: dict) -> None:
        for name, g in grads.items():
            m = self.memory.setdefault(name, np.zeros_like(g))
            m += g * g  # m ← m + g²
            params[name] -= self.lr * g / np.sqrt(m + self.eps)  # θ ← θ - η g / sqrt(m + ε)


class Adam:
    def __init__(
        self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ):
        _check_lr(lr)
        if not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: dict, grads: dict) -> None:
        self.t += 1
        for name, g in grads.items():
            m = self.m.setdefault(name, np.zeros_like(g))
            v = self.v.setdefault(name, np.zeros_like(g))
            m[:] = self.beta1 * m + (1 - self.beta1) * g  # first moment
            v[:] = self.beta2 * v + (1 - self.beta2) * g * g  # second moment
            m_hat = m / (1 - self.beta1**self.t)  # bias corrections
            v_hat = v / (1 - self.beta2**self.t)
            params[name] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": Adagrad, "adam": Adam}


def make_optimizer(name: str, lr: float):
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](lr=lr)
