"""Variants of the gated cells: peephole connections, layer normalisation, and the three
architectures Jozefowicz et al. (2015) evolved from the GRU.

Each keeps the protocol of :mod:`rnnkit.nn.cells` (``project_input`` hoisted out of the time
loop, ``step(xp_t, state)``) and torch.nn's parameter names and gate order where the cell has
the same gates. None of them has a fused kernel: :class:`rnnkit.nn.Recurrent` runs them on
a whole-sequence route with a hand-derived backward pass (:mod:`rnnkit.nn.routes`), tested
equal to its readable loop.

Shape letters: N batch, D input features, H hidden units.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.cells import GRUCell, LSTMCell, RecurrentCell


def _uniform(cell: nn.Module, names: tuple[str, ...]) -> None:
    """Create the vectors ``names`` (H,) on a cell if they are missing."""
    for name in names:
        if getattr(cell, name, None) is None:
            setattr(cell, name, nn.Parameter(cell.weight_hh.new_empty(cell.hidden_size)))


class PeepholeLSTMCell(LSTMCell):
    r"""LSTM with peephole connections (Gers and Schmidhuber 2000): the gates also read the
    cell state, through one weight per unit (a diagonal matrix).

    .. math::
        i &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + w_{ci} \odot c_{t-1} + b_i) \\
        f &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + w_{cf} \odot c_{t-1} + b_f) \\
        g &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) \\
        c_t &= f \odot c_{t-1} + i \odot g \\
        o &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + w_{co} \odot c_t + b_o) \\
        h_t &= o \odot \tanh(c_t)

    The output gate looks at the new cell state ``c_t``, the input and forget gates at the old
    one, as in the paper. ``weight_ci``, ``weight_cf``, ``weight_co`` (H,) are the peepholes;
    the rest are :class:`LSTMCell`'s parameters, in its ``i|f|g|o`` order.
    """

    def reset_parameters(self) -> None:
        _uniform(self, ("weight_ci", "weight_cf", "weight_co"))
        super().reset_parameters()

    def activations(self, xp: Tensor, state: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        h_prev, c_prev = state
        gates = xp + F.linear(self.dropped(h_prev), self.weight_hh, self.bias_hh)  # (N, 4H)
        i, f, g, o = gates.chunk(4, dim=1)
        i = torch.sigmoid(i + self.weight_ci * c_prev)
        f = torch.sigmoid(f + self.weight_cf * c_prev)
        g = torch.tanh(g)
        c = f * c_prev + i * g
        o = torch.sigmoid(o + self.weight_co * c)
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": torch.tanh(c)}


LN_EPS = 1e-5  # the layer norms' epsilon, as torch.nn.LayerNorm's


def _layer_norm(x: Tensor, gain: Tensor, shift: Tensor | None = None) -> Tensor:
    return F.layer_norm(x, x.shape[-1:], gain, shift, eps=LN_EPS)


class _LayerNormMixin:
    """The gains and shifts of the normalised pre-activations: ``ln_ih`` and ``ln_hh`` over
    all G*H gate rows (gain 1, no shift: the cell's biases shift), ``ln_c`` over the H cell
    units (gain 1, shift 0)."""

    def _make_norms(self, cell_norm: bool) -> None:
        rows = self.gate_count * self.hidden_size
        for name in ("ln_ih_weight", "ln_hh_weight"):
            if getattr(self, name, None) is None:
                setattr(self, name, nn.Parameter(self.weight_hh.new_ones(rows)))
        if cell_norm and getattr(self, "ln_c_weight", None) is None:
            self.ln_c_weight = nn.Parameter(self.weight_hh.new_ones(self.hidden_size))
            self.ln_c_bias = nn.Parameter(self.weight_hh.new_zeros(self.hidden_size))

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name, parameter in self.named_parameters():
            if name.startswith("ln_"):
                nn.init.constant_(parameter, 0.0 if name.endswith("bias") else 1.0)
            else:
                nn.init.uniform_(parameter, -bound, bound)

    def project_input(self, x: Tensor) -> Tensor:
        """``LN(W_ih x) + b_ih``: normalised before the bias (the bias is the norm's shift: one
        pass over the T steps' projections, not two), for all T steps at once."""
        return _layer_norm(F.linear(x, self.weight_ih), self.ln_ih_weight, self.bias_ih)

    def recurrent(self, h: Tensor) -> Tensor:
        """``LN(W_hh h) + b_hh``, (N, G*H)."""
        hp = _layer_norm(F.linear(self.dropped(h), self.weight_hh), self.ln_hh_weight)
        return hp if self.bias_hh is None else hp + self.bias_hh


class LayerNormLSTMCell(_LayerNormMixin, LSTMCell):
    r"""Layer-normalised LSTM (Ba, Kiros and Hinton 2016, eqs. 20-22).

    .. math::
        (i, f, g, o) &= \mathrm{LN}(W_{ih} x_t; \alpha_1) + \mathrm{LN}(W_{hh} h_{t-1};
            \alpha_2) + b \\
        c_t &= \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g) \\
        h_t &= \sigma(o) \odot \tanh(\mathrm{LN}(c_t; \alpha_3, \beta_3))

    Each LN normalises over all 4H pre-activations of a sample (as in the paper, not gate by
    gate), then scales by a learned gain (``ln_ih_weight``, ``ln_hh_weight``, 4H); the paper's
    shifts of the two are the biases ``bias_ih + bias_hh``. The cell state's LN has a gain and
    a shift (``ln_c_weight``, ``ln_c_bias``). The state carried is the unnormalised ``c_t``.
    """

    def reset_parameters(self) -> None:
        self._make_norms(cell_norm=True)
        super().reset_parameters()

    def activations(self, xp: Tensor, state: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """``tanh_c`` is ``tanh(LN(c_t))``, what the output gate lets through."""
        h_prev, c_prev = state
        i, f, g, o = (xp + self.recurrent(h_prev)).chunk(4, dim=1)  # each (N, H)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c_prev + i * g
        tanh_c = torch.tanh(_layer_norm(c, self.ln_c_weight, self.ln_c_bias))
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": tanh_c}


class LayerNormGRUCell(_LayerNormMixin, GRUCell):
    r"""Layer-normalised GRU: torch.nn's GRU (``reset_after``) with the input and the
    recurrent pre-activations each normalised over their 3H rows, as Ba et al. (2016)
    normalise the LSTM's.

    .. math::
        (x_r, x_z, x_n) &= \mathrm{LN}(W_{ih} x_t; \alpha_1) + b_{ih}, \quad
        (h_r, h_z, h_n) = \mathrm{LN}(W_{hh} h_{t-1}; \alpha_2) + b_{hh} \\
        r &= \sigma(x_r + h_r), \quad z = \sigma(x_z + h_z), \quad
        n = \tanh(x_n + r \odot h_n) \\
        h_t &= (1 - z) \odot n + z \odot h_{t-1}
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, **factory):
        super().__init__(input_size, hidden_size, bias, reset_after=True, **factory)

    def reset_parameters(self) -> None:
        self._make_norms(cell_norm=False)
        super().reset_parameters()

    def activations(self, xp: Tensor, h_prev: Tensor) -> dict[str, Tensor]:
        x_r, x_z, x_n = xp.chunk(3, dim=1)
        h_r, h_z, h_n = self.recurrent(h_prev).chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        return {"r": r, "z": z, "n": torch.tanh(x_n + r * h_n)}


class _MutatedCell(RecurrentCell):
    """What MUT1-3 share: gates stacked ``z|r|n`` in ``weight_ih`` (3H, D) and ``weight_hh``
    (3H, H), the candidate ``n = tanh(W_hn (r * h) + ...)`` and the GRU-style mix
    ``h_t = n * z + h_{t-1} * (1 - z)``.

    Departure from the paper: where it adds the input itself (MUT1's ``tanh(x_t)``, MUT2's
    reset gate ``x_t + ...``), the input must be H wide. Here that term is ``W x_t`` with a
    learned matrix started at the identity (on the first min(D, H) units) and its bias at 0,
    so the cell is the paper's at initialisation when D = H and takes inputs of any width.
    In MUT1 the update gate reads no state: its rows of ``weight_hh`` and ``bias_hh`` are
    kept (one layout for the three) but not used, and get no gradient."""

    gate_count = 3
    gate_names = ("z", "r", "n")
    gate_kinds = {"z": "sigmoid", "r": "sigmoid", "n": "tanh"}
    identity_rows: tuple[int, ...] = ()  # the gates whose input term is the input itself

    def reset_parameters(self) -> None:
        super().reset_parameters()
        H = self.hidden_size
        with torch.no_grad():
            for gate in self.identity_rows:
                rows = self.weight_ih[gate * H : (gate + 1) * H]
                rows.zero_()
                rows.fill_diagonal_(1.0)
                if self.bias_ih is not None:  # the input itself: MUT1's tanh(x_t) has no bias
                    self.bias_ih[gate * H : (gate + 1) * H].zero_()

    def gates(self, z_pre: Tensor, r_pre: Tensor, x_n: Tensor, h_prev: Tensor) -> dict:
        """``z``, ``r`` and the candidate ``n`` from the two gates' pre-activations and the
        candidate's input term."""
        z, r = torch.sigmoid(z_pre), torch.sigmoid(r_pre)
        w_n, b_n = self.weight_hh[2 * self.hidden_size :], None
        if self.bias_hh is not None:
            b_n = self.bias_hh[2 * self.hidden_size :]
        return {"z": z, "r": r, "n": torch.tanh(F.linear(r * self.dropped(h_prev), w_n, b_n) + x_n)}

    def step(self, xp: Tensor, h_prev: Tensor) -> Tensor:
        a = self.activations(xp, h_prev)
        return a["n"] * a["z"] + h_prev * (1 - a["z"])

    def _hidden(self, h: Tensor, gate: int) -> Tensor:
        """``W_h<gate> h + b_h<gate>`` for gate 0 (z) or 1 (r)."""
        H = self.hidden_size
        bias = None if self.bias_hh is None else self.bias_hh[gate * H : (gate + 1) * H]
        return F.linear(self.dropped(h), self.weight_hh[gate * H : (gate + 1) * H], bias)


class MUT1Cell(_MutatedCell):
    r"""MUT1 (Jozefowicz, Zaremba and Sutskever 2015), as the lectures write it:

    .. math::
        z &= \sigma(W_{xz} x_t + b_z) \\
        r &= \sigma(W_{xr} x_t + W_{hr} h_t + b_r) \\
        h_{t+1} &= \tanh(W_{hh} (r \odot h_t) + \tanh(x_t) + b_h) \odot z
            + h_t \odot (1 - z)

    ``tanh(x_t)`` is ``tanh(W_{xn} x_t + b_{xn})`` with ``W_{xn}`` started at the identity
    (see :class:`_MutatedCell`)."""

    identity_rows = (2,)

    def activations(self, xp: Tensor, h_prev: Tensor) -> dict[str, Tensor]:
        x_z, x_r, x_n = xp.chunk(3, dim=1)
        return self.gates(x_z, x_r + self._hidden(h_prev, 1), torch.tanh(x_n), h_prev)


class MUT2Cell(_MutatedCell):
    r"""MUT2 (Jozefowicz et al. 2015):

    .. math::
        z &= \sigma(W_{xz} x_t + W_{hz} h_t + b_z) \\
        r &= \sigma(x_t + W_{hr} h_t + b_r) \\
        h_{t+1} &= \tanh(W_{hh} (r \odot h_t) + W_{xh} x_t + b_h) \odot z + h_t \odot (1 - z)

    The reset gate's ``x_t`` is ``W_{xr} x_t`` started at the identity."""

    identity_rows = (1,)

    def activations(self, xp: Tensor, h_prev: Tensor) -> dict[str, Tensor]:
        x_z, x_r, x_n = xp.chunk(3, dim=1)
        z_pre = x_z + self._hidden(h_prev, 0)
        return self.gates(z_pre, x_r + self._hidden(h_prev, 1), x_n, h_prev)


class MUT3Cell(_MutatedCell):
    r"""MUT3 (Jozefowicz et al. 2015):

    .. math::
        z &= \sigma(W_{xz} x_t + W_{hz} \tanh(h_t) + b_z) \\
        r &= \sigma(W_{xr} x_t + W_{hr} h_t + b_r) \\
        h_{t+1} &= \tanh(W_{hh} (r \odot h_t) + W_{xh} x_t + b_h) \odot z + h_t \odot (1 - z)
    """

    def activations(self, xp: Tensor, h_prev: Tensor) -> dict[str, Tensor]:
        x_z, x_r, x_n = xp.chunk(3, dim=1)
        z_pre = x_z + self._hidden(torch.tanh(h_prev), 0)
        return self.gates(z_pre, x_r + self._hidden(h_prev, 1), x_n, h_prev)
