"""A recurrent network as in the lectures: a cell over time, then an output layer.

    h_t = cell(x_t, h_{t-1})          rnn.py, lstm.py or gru.py
    o_t = V h_t + c                   V = weight_hy (C, H), c = bias_y (C,)
    L   = sum_t L_t(o_t, y_t)         losses.py

The output layer's backward gives, for every t at once,

    dL/dV = sum_t dL/do_t h_t^T
    dL/dc = sum_t dL/do_t
    V^T dL/do_t                       the loss's direct share of dL/dh_t

and the cell's backward adds the share that comes back through h_{t+1}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.reference import gru, lstm, rnn
from rnnkit.reference.init import output_params
from rnnkit.reference.losses import get_loss
from rnnkit.reference.products import apply, is_index, sum_over_time

CELLS = {"rnn": rnn, "lstm": lstm, "gru": gru}


def output_forward(hs: np.ndarray, params: dict):
    """o_t = V h_t + c for every t: hs (T, N, H) -> o (T, N, C)."""
    o = apply(params["weight_hy"], hs)  # (T, N, C)
    o += params["bias_y"]
    return o, hs


def output_backward(do: np.ndarray, hs: np.ndarray, params: dict):
    """From dL/do (T, N, C) to V^T dL/do_t (T, N, H) and the gradients of V and c."""
    grads = {
        "weight_hy": sum_over_time(do, hs),  # dL/dV = sum_t dL/do_t h_t^T            (C, H)
        "bias_y": do.sum(axis=(0, 1)),  # dL/dc = sum_t dL/do_t
    }
    dhs = apply(params["weight_hy"].T, do)  # V^T dL/do_t for every t                 (T, N, H)
    return dhs, grads


def check_inputs(xs: np.ndarray, input_size: int) -> None:
    """A ValueError unless ``xs`` is float features (T, N, D) or integer indexes (T, N) of
    one-hot rows in [0, D), for D = ``input_size``."""
    if is_index(xs):
        if xs.ndim != 2:
            raise ValueError(
                f"integer inputs are indexes of one-hot rows, of shape (T, N); got shape "
                f"{xs.shape} (features (T, N, D) are floats: xs.astype(float))"
            )
        if xs.size and not 0 <= xs.min() <= xs.max() < input_size:
            raise ValueError(
                f"input indexes must be in [0, {input_size}), got {xs.min()} to {xs.max()}"
            )
    elif xs.ndim != 3 or xs.shape[2] != input_size:
        raise ValueError(f"inputs must have shape (T, N, {input_size}), got {xs.shape}")


@dataclass(frozen=True)
class Network:
    """Which cell, with its options: ``nonlinearity`` (rnn only: tanh|relu) and
    ``reset_after`` (gru only: True is torch's form, False the Cho et al./lecture form)."""

    cell: str = "rnn"
    nonlinearity: str = "tanh"
    reset_after: bool = True

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; expected one of {', '.join(CELLS)}")
        if self.nonlinearity not in rnn.NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {', '.join(rnn.NONLINEARITIES)}, "
                f"got {self.nonlinearity!r}"
            )
        if self.nonlinearity != "tanh" and self.cell != "rnn":
            raise ValueError(f"nonlinearity is the rnn cell's option; the {self.cell} has none")
        if not self.reset_after and self.cell != "gru":
            raise ValueError(f"reset_after is the gru cell's option; the {self.cell} has none")

    @property
    def module(self):
        return CELLS[self.cell]

    def cell_options(self) -> dict:
        if self.cell == "rnn":
            return {"nonlinearity": self.nonlinearity}
        if self.cell == "gru":
            return {"reset_after": self.reset_after}
        return {}

    def init_params(
        self, input_size: int, hidden_size: int, output_size: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        params = self.module.init_params(input_size, hidden_size, rng)
        params.update(output_params(hidden_size, output_size, rng))
        return params

    def initial_state(self, batch_size: int, params: dict):
        return self.module.initial_state(batch_size, params["weight_hh"].shape[1])

    def forward(self, params: dict, xs: np.ndarray, state0=None):
        """xs (T, N, D) -> outputs o (T, N, C), the last state, and a cache for backward.

        xs may also be integer indexes (T, N) of one-hot rows, e.g. characters.
        """
        check_inputs(xs, params["weight_ih"].shape[1])
        if state0 is None:
            state0 = self.initial_state(xs.shape[1], params)
        hs, state, cell_cache = self.module.forward(xs, state0, params, **self.cell_options())
        o, hs = output_forward(hs, params)
        return o, state, (hs, cell_cache)

    def backward(
        self, do: np.ndarray, cache: tuple, params: dict, dstate_last=None, input_grads=True
    ):
        """dL/do (T, N, C) -> gradients of every parameter, dL/dxs (T, N, D), dL/dstate0.

        input_grads=False skips dL/dxs (returned as None) where the inputs are data.
        """
        hs, cell_cache = cache
        dhs, output_grads = output_backward(do, hs, params)
        dxs, dstate0, grads = self.module.backward(
            dhs, cell_cache, params, dstate_last, input_grads
        )
        grads.update(output_grads)
        return grads, dxs, dstate0

    def loss(self, params: dict, xs, targets, loss: str = "cross_entropy", state0=None) -> float:
        """The loss alone (what finite differences perturb)."""
        o, _, _ = self.forward(params, xs, state0)
        return get_loss(loss)[0](o, targets)[0]

    def loss_and_gradients(
        self, params: dict, xs, targets, loss: str = "cross_entropy", state0=None
    ):
        """Forward, loss, backward: returns (L, gradients by parameter name, last state)."""
        loss_forward, loss_backward = get_loss(loss)
        o, state, cache = self.forward(params, xs, state0)
        value, loss_cache = loss_forward(o, targets)
        grads, _, _ = self.backward(loss_backward(loss_cache), cache, params, input_grads=False)
        return value, grads, state
