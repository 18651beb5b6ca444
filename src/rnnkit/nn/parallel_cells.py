"""Cells whose recurrence is linear and elementwise, so a whole sequence runs as one scan.

Their gates read the input ``x_t`` only, never ``h_{t-1}``: every gate of every step is one
GEMM over the whole sequence, and what is left is ``h_t = a_t * h_{t-1} + b_t``
(:func:`rnnkit.nn.scan.linear_scan`). Each cell keeps the protocol of
:mod:`rnnkit.nn.cells` (``cell(x_t, state) -> state``, ``project_input``/``step``, for
generation one step at a time) and adds ``scan(xp, h0, mask, reverse)`` for training on whole
sequences; the two give the same numbers, and a test holds them to it.

Shape letters: T time, N batch, D input features, H hidden units, G rows of ``weight_ih``
per unit. Parameter names follow torch.nn: ``weight_ih`` (G*H, D), ``bias_ih`` (G*H,); there
is no ``weight_hh``.
"""

from __future__ import annotations

import math
import typing

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.scan import linear_scan
from rnnkit.options import check_int


def positive(x: Tensor) -> Tensor:
    """Feng et al.'s ``g``: ``x + 0.5`` for x >= 0, ``sigmoid(x)`` below; continuous, > 0."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


class ParallelCell(nn.Module):
    """What the three cells share: the input projection, the zero state, the checks, and the
    step and the scan written once over the cell's own ``coefficients``."""

    gate_count = 1
    scan_method = "auto"
    # the gates measured by rnnkit.diagnostics' saturation and the studio, as in
    # rnnkit.nn.cells.RecurrentCell; there is no weight_hh, so no gate_names
    gate_kinds: typing.ClassVar[dict[str, str]] = {}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            check_int(name, value)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        rows = self.gate_count * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(D), 1/sqrt(D)), as torch.nn.Linear (the gates read x, not h)."""
        bound = 1.0 / math.sqrt(self.input_size)
        nn.init.uniform_(self.weight_ih, -bound, bound)
        if self.bias_ih is not None:
            nn.init.uniform_(self.bias_ih, -bound, bound)

    def _use_log_space(self, log_space: bool) -> None:
        """Feng et al.'s log-space version: a positive candidate and the log-space scan."""
        self.log_space = bool(log_space)
        self.scan_method = "log" if self.log_space else "auto"

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"

    def initial_state(self, batch_size: int, *, dtype=None, device=None) -> Tensor:
        like = self.weight_ih
        shape = (batch_size, self.hidden_size)
        return torch.zeros(shape, dtype=dtype or like.dtype, device=device or like.device)

    def output(self, state: Tensor) -> Tensor:
        return state

    def project_input(self, x: Tensor) -> Tensor:
        """Every gate's pre-activation: (..., D) -> (..., G*H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def activations(self, xp: Tensor, state: Tensor | None = None) -> dict[str, Tensor]:
        """The gates and the candidate of the projected input (the state is not read)."""
        raise NotImplementedError

    def coefficients(self, xp: Tensor) -> tuple[Tensor, Tensor]:
        """``a`` and ``b`` of ``h_t = a_t * h_{t-1} + b_t`` from the projected input."""
        raise NotImplementedError

    def step(self, xp: Tensor, state: Tensor) -> Tensor:
        a, b = self.coefficients(xp)
        return a * state + b

    def scan(
        self, xp: Tensor, state: Tensor, mask: Tensor | None = None, reverse: bool = False
    ) -> tuple[Tensor, Tensor]:
        """A whole sequence: ``xp`` (T, N, G*H), ``state`` (N, H), ``mask`` (T, N, 1) true
        where t < length. Returns the outputs (T, N, H), zero past each length, and the
        final state."""
        a, b = self.coefficients(xp)
        return linear_scan(a, b, state, mask=mask, reverse=reverse, method=self.scan_method)

    def forward(self, input: Tensor, state: Tensor | None = None) -> Tensor:
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape (N, D) or (D,) with "
                f"D={self.input_size}, got {tuple(input.shape)}"
            )
        x = input.unsqueeze(0) if input.dim() == 1 else input  # (N, D)
        if state is None:
            state = self.initial_state(x.shape[0], dtype=x.dtype, device=x.device)
        elif state.dim() == 1:
            state = state.unsqueeze(0)
        if tuple(state.shape) != (x.shape[0], self.hidden_size):
            raise ValueError(
                f"{type(self).__name__}: expected state of shape "
                f"{(x.shape[0], self.hidden_size)}, got {tuple(state.shape)}"
            )
        h = self.step(self.project_input(x), state)
        return h.squeeze(0) if input.dim() == 1 else h


class MinGRUCell(ParallelCell):
    r"""minGRU (Feng et al. 2024, sec. 3.1): a GRU whose gates do not read ``h_{t-1}``.

    .. math::
        z_t = \sigma(W_z x_t + b_z), \quad \tilde h_t = W_n x_t + b_n, \quad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    ``weight_ih`` stacks ``z|n`` (torch's GRU names the candidate ``n``). With ``log_space``
    the candidate is ``g(W_n x_t + b_n)`` (``positive``), as in the paper's log-space version,
    and the scan runs in log space; the state should then start positive as well.
    """

    gate_count = 2
    gate_kinds = {"z": "sigmoid"}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, log_space=False):
        super().__init__(input_size, hidden_size, bias)
        self._use_log_space(log_space)

    def activations(self, xp: Tensor, state: Tensor | None = None) -> dict[str, Tensor]:
        z_pre, n = xp.chunk(2, dim=-1)
        return {"z": torch.sigmoid(z_pre), "n": positive(n) if self.log_space else n}

    def coefficients(self, xp: Tensor) -> tuple[Tensor, Tensor]:
        a = self.activations(xp)
        return 1 - a["z"], a["z"] * a["n"]


class MinLSTMCell(ParallelCell):
    r"""minLSTM (Feng et al. 2024, sec. 3.2): an LSTM without ``h_{t-1}`` in its gates, the
    output gate and the cell state, and with the forget and input gates normalised to sum
    to one (their time-independent form).

    .. math::
        f_t = \sigma(W_f x_t + b_f), \quad i_t = \sigma(W_i x_t + b_i), \quad
        \tilde h_t = W_n x_t + b_n \\
        f'_t = \frac{f_t}{f_t + i_t}, \quad i'_t = \frac{i_t}{f_t + i_t}, \quad
        h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde h_t

    ``weight_ih`` stacks ``f|i|n``; ``log_space`` as in :class:`MinGRUCell`.
    """

    gate_count = 3
    gate_kinds = {"f": "sigmoid", "i": "sigmoid"}

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, log_space=False):
        super().__init__(input_size, hidden_size, bias)
        self._use_log_space(log_space)

    def activations(self, xp: Tensor, state: Tensor | None = None) -> dict[str, Tensor]:
        f_pre, i_pre, n = xp.chunk(3, dim=-1)
        n = positive(n) if self.log_space else n
        return {"f": torch.sigmoid(f_pre), "i": torch.sigmoid(i_pre), "n": n}

    def coefficients(self, xp: Tensor) -> tuple[Tensor, Tensor]:
        a = self.activations(xp)
        f, i = a["f"], a["i"]
        return f / (f + i), i / (f + i) * a["n"]


class RGLRUCell(ParallelCell):
    r"""The Real-Gated Linear Recurrent Unit of Hawk/Griffin (De et al. 2024, eqs. 1-4).

    .. math::
        r_t = \sigma(W_a x_t + b_a), \quad i_t = \sigma(W_x x_t + b_x), \quad
        \hat x_t = W_n x_t + b_n \\
        a_t = a^{c r_t}, \quad a = \sigma(\Lambda), \quad c = 8 \\
        h_t = a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (i_t \odot \hat x_t)

    ``weight_ih`` stacks ``a|x|n``: the recurrence gate, the input gate and the input itself.
    Departure from the paper: there the input is already H wide (a projection and a
    convolution before the layer); here the cell projects it (``n``), so it can stand in
    for an LSTM. ``a_t`` is computed as ``log a_t = -c r_t softplus(-Lambda)``, and
    ``sqrt(1 - a_t^2)`` as ``sqrt(-expm1(2 log a_t))``, both without cancellation.
    ``Lambda`` (``recurrence_param``) starts with ``a^c`` uniform in [0.9, 0.999], as in
    the paper.
    """

    gate_count = 3
    gate_kinds = {"r": "sigmoid", "i": "sigmoid"}
    gate_titles = {"r": "recurrence"}  # the studio's name for it (not a GRU's reset gate)
    c = 8.0

    def reset_parameters(self) -> None:
        super().reset_parameters()
        a_c = torch.empty(self.hidden_size).uniform_(0.9, 0.999)  # a^c
        a = a_c ** (1.0 / self.c)
        logit = torch.log(a) - torch.log1p(-a)
        if getattr(self, "recurrence_param", None) is None:
            self.recurrence_param = nn.Parameter(logit)
        else:
            with torch.no_grad():
                self.recurrence_param.copy_(logit)

    def activations(self, xp: Tensor, state: Tensor | None = None) -> dict[str, Tensor]:
        r_pre, i_pre, x_hat = xp.chunk(3, dim=-1)
        return {"r": torch.sigmoid(r_pre), "i": torch.sigmoid(i_pre), "x_hat": x_hat}

    def coefficients(self, xp: Tensor) -> tuple[Tensor, Tensor]:
        gates = self.activations(xp)
        r, i, x_hat = gates["r"], gates["i"], gates["x_hat"]
        log_a = -self.c * r * F.softplus(-self.recurrence_param)  # log a_t <= 0
        scale = torch.sqrt(-torch.expm1(2 * log_a).clamp_max(-1e-12))  # sqrt(1 - a_t^2)
        return torch.exp(log_a), scale * (i * x_hat)
