"""Recurrent cells: one time step each, written from the lecture equations.

Shape letters, used in every comment below:
    N batch, D input features, H hidden units, G gates (1 for RNN, 4 for LSTM, 3 for GRU).

Parameter names and gate order are torch.nn's, so weights copy to and from ``torch.nn.RNNCell``,
``torch.nn.LSTMCell`` and ``torch.nn.GRUCell`` (and the layers) without a translation table:

    weight_ih  (G*H, D)   the lectures' U (or W_xh): input -> hidden
    weight_hh  (G*H, H)   the lectures' W (or W_hh): hidden -> hidden
    bias_ih    (G*H,)     torch keeps two biases; the lectures' b is bias_ih + bias_hh
    bias_hh    (G*H,)

Every cell follows one protocol, the one :class:`rnnkit.nn.Recurrent` runs over time:

    cell(x_t, state) -> new_state        state: a tensor (N, H), or a tuple such as (h, c)
    cell.initial_state(N, dtype=, device=) -> the zero state
    cell.output(state) -> h_t            what the layer emits at this step, (N, H)

The standard cells also split a step into ``project_input(x)`` (the input matmul, which a layer
hoists out of the time loop and does for all T steps in one GEMM) and ``step(xp_t, state)``.
"""

from __future__ import annotations

import math
import typing

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.nn.sequences import check_dtype
from rnnkit.nn.states import map_state
from rnnkit.options import check_int

State = Tensor | tuple[Tensor, ...]


class RecurrentCell(nn.Module):
    """Shared parameters and checks of the standard cells.

    Subclasses set ``gate_count`` and implement :meth:`activations` and :meth:`step`.
    """

    gate_count: int = 1
    # the names of weight_hh's row blocks, in order (the spectrum of each, rnnkit.diagnostics)
    gate_names: tuple[str, ...] = ()
    # the activations of a step that are measured (gate saturation in rnnkit.diagnostics, the
    # studio's gates), each with its nonlinearity: "sigmoid", "tanh" or "relu"
    gate_kinds: typing.ClassVar[dict[str, str]] = {}
    # Gal and Ghahramani (2016): the share of h_{t-1}'s units dropped from the recurrent
    # matmuls, one mask per sequence (``rnnkit.nn.regularise.recurrent_dropout``)
    recurrent_dropout: float = 0.0
    _mask: Tensor | None = None

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.bias = bool(bias)
        factory = {"device": device, "dtype": dtype}
        rows = self.gate_count * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows, **factory))
            self.bias_hh = nn.Parameter(torch.empty(rows, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every parameter, as torch.nn does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    @classmethod
    def from_parameters(
        cls,
        weight_ih: Tensor,
        weight_hh: Tensor,
        bias_ih: Tensor | None = None,
        bias_hh: Tensor | None = None,
        **options,
    ) -> RecurrentCell:
        """A cell that uses the given tensors as its parameters (shared, not copied).

        This is how a layer's readable loop runs on the very parameters of its fused path.
        """
        cell = cls.__new__(cls)
        nn.Module.__init__(cell)
        rows, cell.input_size = weight_ih.shape
        cell.hidden_size = weight_hh.shape[1]
        if rows != cls.gate_count * cell.hidden_size:
            raise ValueError(
                f"{cls.__name__}: weight_ih has {rows} rows, expected "
                f"{cls.gate_count} x hidden_size = {cls.gate_count * cell.hidden_size}"
            )
        cell.bias = bias_ih is not None
        cell.weight_ih, cell.weight_hh = weight_ih, weight_hh
        cell.bias_ih, cell.bias_hh = bias_ih, bias_hh
        for name, value in options.items():
            setattr(cell, name, value)
        return cell

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}"

    # -- the protocol -------------------------------------------------------------------------

    def begin_sequence(self, batch_size: int, like: Tensor) -> None:
        """Draw the recurrent dropout mask of the sequences about to run: one (N, H) mask,
        scaled by 1/(1-p), for all their steps, in training only. A layer calls this before
        its time loop and :meth:`end_sequence` after it; a cell stepped by hand without it
        drops nothing."""
        self._mask = None
        p = self.recurrent_dropout
        if self.training and p > 0:
            keep = torch.full((batch_size, self.hidden_size), 1 - p, dtype=like.dtype)
            self._mask = torch.bernoulli(keep).to(like.device) / (1 - p)

    def end_sequence(self) -> None:
        """Forget the mask of :meth:`begin_sequence`: the sequences it was drawn for are done
        (a later step by hand, of any batch size, drops nothing)."""
        self._mask = None

    def recurrent_mask(self) -> Tensor | None:
        """The mask :meth:`dropped` applies now, (N, H) scaled by 1/(1-p), or None (none
        drawn, or evaluation): for a route that runs the whole sequence at once."""
        return self._mask if self.training else None

    def dropped(self, h: Tensor) -> Tensor:
        """``h_{t-1}`` as the recurrent matmuls read it: with this sequence's dropout mask
        (in training only: a mask left from the last training batch is not used in
        evaluation, e.g. by one-step generation)."""
        return h if self._mask is None or not self.training else h * self._mask

    def initial_state(
        self, batch_size: int, *, dtype: torch.dtype | None = None, device=None
    ) -> State:
        dtype = dtype or self.weight_hh.dtype
        device = device or self.weight_hh.device
        return torch.zeros(batch_size, self.hidden_size, dtype=dtype, device=device)

    def output(self, state: State) -> Tensor:
        return state

    def project_input(self, x: Tensor) -> Tensor:
        """``W_ih x + b_ih`` for any leading shape: (..., D) -> (..., G*H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def activations(self, xp: Tensor, state: State) -> dict[str, Tensor]:
        """The named values one step computes from ``xp`` and the state it starts from: its
        gates (``gate_kinds``) and what :meth:`step` makes the new state of. Each (N, H)."""
        raise NotImplementedError

    def step(self, xp: Tensor, state: State) -> State:
        """One step given the projected input ``xp = W_ih x_t + b_ih``, (N, G*H)."""
        raise NotImplementedError

    def forward(self, input: Tensor, state: State | None = None) -> State:
        x, state, unbatched = self._check_step_input(input, state)
        new_state = self.step(self.project_input(x), state)
        if unbatched:
            return map_state(new_state, lambda tensor: tensor.squeeze(0))
        return new_state

    # -- boundary checks ----------------------------------------------------------------------

    def _check_step_input(self, input: Tensor, state: State | None):
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.dim() not in (1, 2):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(
                f"{name}: expected input of shape (N, D) or (D,) with D={self.input_size}, "
                f"got {shape}"
            )
        if input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: input has {input.shape[-1]} features, expected input_size="
                f"{self.input_size}"
            )
        check_dtype(name, input, (self.weight_ih,), "cell")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input  # (N, D)
        if state is None:
            return x, self.initial_state(x.shape[0], dtype=x.dtype, device=x.device), unbatched
        if unbatched:
            state = map_state(state, lambda tensor: tensor.unsqueeze(0))
        self._check_state(state, x.shape[0])
        return x, state, unbatched

    def _check_state(self, state: State, batch_size: int) -> None:
        expected = (batch_size, self.hidden_size)
        if not isinstance(state, Tensor) or tuple(state.shape) != expected:
            got = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(
                f"{type(self).__name__}: expected state of shape {expected}, got {got}"
            )


class RNNCell(RecurrentCell):
    r"""The vanilla (Elman) RNN cell of the lectures.

    .. math::
        h_t = \mathrm{act}(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})

    with act = tanh (the lectures' form) or relu (used with identity initialisation, IRNN,
    Le et al. 2015). The lectures write ``a_t = W h_{t-1} + U x_t + b``, ``h_t = tanh(a_t)``:
    W = weight_hh, U = weight_ih, b = bias_ih + bias_hh. The output layer ``o_t = V h_t + c``
    belongs to the model, not to the cell.
    """

    gate_count = 1
    gate_names = ("h",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    @classmethod
    def from_parameters(cls, *args, nonlinearity: str = "tanh", **kwargs) -> RNNCell:
        return super().from_parameters(*args, nonlinearity=nonlinearity, **kwargs)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nonlinearity={self.nonlinearity!r}"

    @property
    def gate_kinds(self) -> dict[str, str]:
        return {"h": self.nonlinearity}

    def activations(self, xp: Tensor, h: Tensor) -> dict[str, Tensor]:
        # a_t = U x_t + W h_{t-1} + b, (N, H)
        a = xp + F.linear(self.dropped(h), self.weight_hh, self.bias_hh)
        return {"h": torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)}

    def step(self, xp: Tensor, h: Tensor) -> Tensor:
        return self.activations(xp, h)["h"]


class LSTMCell(RecurrentCell):
    r"""Long short-term memory (Hochreiter and Schmidhuber 1997, with the forget gate of
    Gers et al. 2000), as the lectures write it. Gates are stacked ``i|f|g|o`` in the weights.

    .. math::
        i &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})   \quad\text{input gate}\\
        f &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})   \quad\text{forget gate}\\
        g &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})    \quad\text{candidate}\\
        o &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})   \quad\text{output gate}\\
        c_t &= f \odot c_{t-1} + i \odot g \\
        h_t &= o \odot \tanh(c_t)

    The cell state path ``c_t = f * c_{t-1} + ...`` is additive: backpropagation through it
    multiplies by ``f`` rather than by ``W_hh^T diag(tanh')``, which is why gradients can flow
    over long distances ("uninterrupted gradient flow"). The state is the tuple ``(h, c)``.
    """

    gate_count = 4
    gate_names = ("i", "f", "g", "o")
    gate_kinds = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid", "tanh_c": "tanh"}

    def initial_state(self, batch_size: int, *, dtype=None, device=None) -> tuple[Tensor, Tensor]:
        h = super().initial_state(batch_size, dtype=dtype, device=device)
        return h, torch.zeros_like(h)

    def output(self, state: tuple[Tensor, Tensor]) -> Tensor:
        return state[0]

    def activations(self, xp: Tensor, state: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        h_prev, c_prev = state
        gates = xp + F.linear(self.dropped(h_prev), self.weight_hh, self.bias_hh)  # (N, 4H)
        i, f, g, o = gates.chunk(4, dim=1)  # each (N, H)
        i = torch.sigmoid(i)
        f = torch.sigmoid(f)
        g = torch.tanh(g)
        o = torch.sigmoid(o)
        c = f * c_prev + i * g
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "tanh_c": torch.tanh(c)}

    def step(self, xp: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        a = self.activations(xp, state)
        return a["o"] * a["tanh_c"], a["c"]  # h_t = o * tanh(c_t)

    def _check_state(self, state, batch_size: int) -> None:
        if not isinstance(state, tuple) or len(state) != 2:
            raise ValueError(
                f"LSTMCell: state must be a tuple (h, c) of two tensors, got {type(state).__name__}"
            )
        for tensor in state:
            super()._check_state(tensor, batch_size)


class GRUCell(RecurrentCell):
    r"""Gated recurrent unit (Cho et al. 2014). Gates are stacked ``r|z|n`` in the weights.

    By default (``reset_after=True``) this is torch.nn's form, where the reset gate multiplies
    the hidden matmul *after* it is computed:

    .. math::
        r &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})     \quad\text{reset gate}\\
        z &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})     \quad\text{update gate}\\
        n &= \tanh(W_{in} x_t + b_{in} + r \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z) \odot n + z \odot h_{t-1}

    Departure from the paper: Cho et al. 2014, and the lectures after them, apply the reset
    gate to the previous state *before* the matmul,
    ``n = tanh(W_in x_t + b_in + W_hn (r * h_{t-1}) + b_hn)``. The two are different functions
    with the same parameters. torch (and cuDNN) use the "reset after" form because then
    ``W_hh h_{t-1}`` for all three gates is one matmul; only that form runs on the fused kernels.
    ``reset_after=False`` gives the lectures' form (no fused kernel: its whole-sequence route is
    MUT2's, of which it is a case, :func:`rnnkit.nn.mut_bptt.run_lectures_gru_sequence`).
    """

    gate_count = 3
    gate_names = ("r", "z", "n")
    gate_kinds = {"r": "sigmoid", "z": "sigmoid", "n": "tanh"}

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        reset_after: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        self.reset_after = bool(reset_after)
        super().__init__(input_size, hidden_size, bias, device, dtype)

    @classmethod
    def from_parameters(cls, *args, reset_after: bool = True, **kwargs) -> GRUCell:
        return super().from_parameters(*args, reset_after=reset_after, **kwargs)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, reset_after={self.reset_after}"

    def activations(self, xp: Tensor, h_prev: Tensor) -> dict[str, Tensor]:
        x_r, x_z, x_n = xp.chunk(3, dim=1)  # W_i* x_t + b_i*, each (N, H)
        if self.reset_after:
            hp = F.linear(self.dropped(h_prev), self.weight_hh, self.bias_hh)
            h_r, h_z, h_n = hp.chunk(3, dim=1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
        else:
            w_r, w_z, w_n = self.weight_hh.chunk(3, dim=0)  # each (H, H)
            b_r, b_z, b_n = self.bias_hh.chunk(3) if self.bias else (None, None, None)
            dropped = self.dropped(h_prev)
            r = torch.sigmoid(x_r + F.linear(dropped, w_r, b_r))
            z = torch.sigmoid(x_z + F.linear(dropped, w_z, b_z))
            n = torch.tanh(x_n + F.linear(r * dropped, w_n, b_n))
        return {"r": r, "z": z, "n": n}

    def step(self, xp: Tensor, h_prev: Tensor) -> Tensor:
        a = self.activations(xp, h_prev)
        return (1 - a["z"]) * a["n"] + a["z"] * h_prev
