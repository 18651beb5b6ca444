"""Initial parameters for the NumPy engine.

Shapes follow torch.nn so that a state dict copies 1:1 (``G`` gates: 1 RNN, 4 LSTM, 3 GRU)::

    weight_ih (G*H, D)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)
    weight_hy (C, H)     bias_y (C,)          (the output layer o_t = V h_t + c)
"""

from __future__ import annotations

import numpy as np


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch's default for RNN cells and Linear layers."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def cell_params(
    input_size: int, hidden_size: int, gates: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """torch.nn.RNN/LSTM/GRU's default: every entry uniform in [-1/sqrt(H), 1/sqrt(H)]."""
    D, H, G = input_size, hidden_size, gates
    return {
        "weight_ih": _uniform(rng, (G * H, D), H),
        "weight_hh": _uniform(rng, (G * H, H), H),
        "bias_ih": _uniform(rng, (G * H,), H),
        "bias_hh": _uniform(rng, (G * H,), H),
    }


def output_params(
    hidden_size: int, output_size: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The output layer o_t = V h_t + c, initialised as torch.nn.Linear(H, C)."""
    H, C = hidden_size, output_size
    return {"weight_hy": _uniform(rng, (C, H), H), "bias_y": _uniform(rng, (C,), H)}


def irnn_cell_params(
    input_size: int,
    hidden_size: int,
    rng: np.random.Generator,
    scale: float = 1.0,
    input_std: float = 0.001,
) -> dict[str, np.ndarray]:
    """IRNN initialisation (Le, Jaitly and Hinton 2015, "A simple way to initialize recurrent
    networks of rectified linear units", section 3): for a vanilla RNN with relu,

        W = scale * I,   b = 0,   U ~ N(0, input_std^2).

    With relu and no input the state then stays where it is (h_t = relu(h_{t-1}) = h_{t-1}),
    so gradients neither vanish nor explode at the start of training. The paper also tries a
    scaled identity (scale < 1) for some tasks.
    """
    if scale <= 0:
        raise ValueError(f"IRNN scale must be positive, got {scale}")
    D, H = input_size, hidden_size
    return {
        "weight_ih": rng.normal(0.0, input_std, size=(H, D)),
        "weight_hh": scale * np.eye(H),
        "bias_ih": np.zeros(H),
        "bias_hh": np.zeros(H),
    }
