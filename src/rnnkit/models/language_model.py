r"""A language model: predict token ``w_{t+1}`` from ``w_1 .. w_t``, one recurrent step a token.

In the lectures' notation (U input weights, W recurrent weights, V output weights)::

    x_t = onehot(w_t)                (V_size,)      the lectures' input; or
    x_t = E[w_t]                     (E,)           a learned embedding (Bengio et al. 2003)
    h_t = cell(x_t, h_{t-1})         (H,)           rnnkit.nn layers, L of them stacked
    o_t = V dropout(h_t^{(L)}) + c   (V_size,)      raw logits
    p(w_{t+1} | w_{<=t}) = softmax(o_t)
    loss = -1/(T B) sum_{t,b} log p(target_{t,b})  mean cross-entropy, nats per token

Shape letters: ``T`` time steps, ``B`` batch (streams), ``V`` vocabulary size, ``E`` embedding
size, ``H`` hidden units, ``L`` layers. Everything is time-major, (T, B), as
:class:`rnnkit.data.batching.TokenStreams` serves it.

The state between calls is the recurrent layer's own, in torch's stacked layout: (L, B, H), or
the tuple (h, c) of two of those for an LSTM. Carrying it from one call to the next is what
lets training run truncated BPTT over a long stream and lets generation read one token at a
time (:meth:`LanguageModel.step`) without ever re-reading the prefix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.recurrent import (
    CoreRegularisers,
    build_recurrent,
    cell_names,
    check_cell,
    describe_cells,
    get_core,
)
from rnnkit.nn.fused import fused_step
from rnnkit.nn.layers import layer_cells
from rnnkit.nn.recurrence import StepStates
from rnnkit.nn.states import map_state
from rnnkit.options import check_int, check_number, check_options, option

CELLS = cell_names(horizon=False)  # every core but clstm, which needs a horizon
EMBEDDINGS = ("learned", "onehot")


@dataclass
class LanguageModelConfig(CoreRegularisers):
    """Everything needed to rebuild a :class:`LanguageModel` but its vocabulary size ``V``,
    which comes from the data (``LanguageModel(config, vocab_size)``).

    Attributes:
        cell: a core of :mod:`rnnkit.models.recurrent` (``CELLS``: ``"lstm"``, ``"gru"``
            (torch's GRU), ``"gru-lectures"`` (the GRU of Cho et al. 2014 and the lectures,
            ``reset_after=False``, no fused kernel), ``"rnn"`` (tanh), ``"relu"`` (or its
            old name ``"rnn-relu"``), ``"irnn"``), with torch.nn's default initialisation
            where the core's own is only customary (an LSTM's forget-gate bias stays random).
        hidden_size: ``H``, units per recurrent layer.
        num_layers: ``L``, stacked recurrent layers.
        dropout: probability in [0, 1), applied between recurrent layers and to the top
            layer's output before the decoder (Zaremba et al. 2014: never on the recurrent
            connections).
        embedding: ``"learned"`` (an ``nn.Embedding``) or ``"onehot"`` (the lectures' input:
            ``x_t`` is a one-hot vector and the first layer's ``input_size`` is ``V``).
        embedding_size: ``E`` for the learned embedding; ``None`` means ``hidden_size``.
        tie_weights: the decoder reuses the embedding matrix (Press & Wolf 2017; Inan et al.
            2017); needs the learned embedding with ``E == H``.
    """

    cell: str = option("lstm", describe_cells(CELLS), metavar="CELL")
    hidden_size: int = option(256, "units per recurrent layer", metavar="H", minimum=1)
    num_layers: int = option(2, "stacked recurrent layers", name="layers", minimum=1)
    dropout: float = option(0.0, "between layers and before the decoder", metavar="P")
    embedding: str = option("learned", "onehot: the lectures' one-hot input", choices=EMBEDDINGS)
    embedding_size: int | None = option(None, metavar="E", minimum=1, none="hidden size")
    tie_weights: bool = option(False, "the decoder reuses the embedding matrix")

    def validate(self) -> None:
        """A ValueError that names the first field out of range."""
        check_options(self)
        check_cell(self.cell, CELLS, "the char language model")
        self.check_regularisers()
        if self.embedding not in EMBEDDINGS:
            raise ValueError(
                f"embedding must be one of {', '.join(EMBEDDINGS)}; got {self.embedding!r}"
            )
        check_number("dropout", self.dropout)
        if self.embedding_size is not None and self.embedding == "onehot":
            raise ValueError(
                "embedding_size applies to embedding='learned' only; a one-hot input has "
                f"vocab_size features; got embedding_size={self.embedding_size!r}"
            )
        self._check_tie_weights()

    def _check_tie_weights(self) -> None:
        if not self.tie_weights:
            return
        if self.embedding != "learned":
            raise ValueError(
                "tie_weights needs embedding='learned' (the decoder reuses the embedding "
                "matrix); a one-hot input has no embedding to tie"
            )
        size = self.embedding_size or self.hidden_size
        if size != self.hidden_size:
            raise ValueError(
                f"tie_weights needs embedding_size == hidden_size (the decoder weight is the "
                f"embedding matrix, (V, E) used as (V, H)); got embedding_size="
                f"{size}, hidden_size={self.hidden_size}"
            )

    def input_size(self, vocab_size: int) -> int:
        """Features of ``x_t``, the first recurrent layer's input: ``V`` or ``E``."""
        if self.embedding == "onehot":
            return vocab_size
        return self.embedding_size or self.hidden_size

    def to_dict(self, vocab_size: int) -> dict:
        """The fields and ``vocab_size`` as a JSON-safe dict (a checkpoint's ``model``)."""
        return {"vocab_size": vocab_size, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> tuple[LanguageModelConfig, int]:
        """The inverse of :meth:`to_dict`: the config and the vocabulary size; unknown or
        missing keys are a ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"a language model config must be a dict, got {type(data).__name__}")
        known = ["vocab_size", *(f.name for f in fields(cls))]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(
                f"unknown language model config keys: {', '.join(unknown)}; "
                f"known keys: {', '.join(known)}"
            )
        if "vocab_size" not in data:
            raise ValueError("a language model config needs vocab_size")
        values = dict(data)
        vocab_size = values.pop("vocab_size")
        return cls(**values), vocab_size


def _recurrent_layer(config: LanguageModelConfig, input_size: int) -> nn.Module:
    """The rnnkit layer of the core ``config.cell``; its parameters and state dict are
    torch.nn's. The char model keeps torch.nn's default initialisation where a core's own is
    only customary (no forget-gate bias 1 for an LSTM, unlike the classifier's): it always
    has, and so a run directory made before the registry rebuilds the same weights."""
    # The layer drops out between its layers only; with one layer the model's own dropout
    # (on the top output) is all there is, and torch.nn warns if given a layer dropout.
    dropout = config.dropout if config.num_layers > 1 else 0.0
    return build_recurrent(
        config.cell,
        input_size,
        config.hidden_size,
        num_layers=config.num_layers,
        batch_first=False,  # (T, B, E), as TokenStreams serves it
        customary_init=False,
        dropout=dropout,
        **config.regularisers(),
    )


class LanguageModel(nn.Module):
    """Embedding (one-hot or learned) -> rnnkit recurrent layers -> dropout -> linear decoder.

    ``forward(idx, targets=None, state=None) -> (logits, loss, state)`` for training and
    scoring; ``step(tokens, state) -> (logits, state)`` for generation, one token at a time.
    The modules are ``embedding`` (absent for one-hot input), ``recurrent`` (an
    :class:`rnnkit.nn.LSTM`, ``GRU`` or ``RNN``, whose state dict loads into torch.nn's layer),
    ``dropout`` and ``decoder`` (``nn.Linear(H, V)``).
    """

    def __init__(self, config: LanguageModelConfig, vocab_size: int) -> None:
        super().__init__()
        if not isinstance(config, LanguageModelConfig):
            raise ValueError(
                f"LanguageModel needs a LanguageModelConfig, got {type(config).__name__}"
            )
        config.validate()
        check_int("vocab_size", vocab_size)
        self.config, self.vocab_size = config, vocab_size
        input_size = config.input_size(vocab_size)
        if config.embedding == "learned":
            self.embedding = nn.Embedding(vocab_size, input_size)
        self.recurrent = _recurrent_layer(config, input_size)
        self.dropout = nn.Dropout(config.dropout)
        self.decoder = nn.Linear(config.hidden_size, vocab_size)
        self._init_weights()
        if config.tie_weights:
            self.decoder.weight = self.embedding.weight  # one Parameter, (V, H)

    def _init_weights(self) -> None:
        """U(-0.1, 0.1) embedding and decoder, zero decoder bias, as pytorch/examples'
        word_language_model; the recurrent layer keeps its own (:func:`_recurrent_layer`).
        (nn.Embedding's N(0, 1) would give a tied decoder logits of size ~sqrt(H).)"""
        if self.config.embedding == "learned":
            nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def embed(self, idx: Tensor) -> Tensor:
        """Token ids (T, B) -> the recurrent layer's input x (T, B, E) or (T, B, V).

        The one-hot input is built dense, as the lectures write it: the first layer's input
        GEMM then picks one column of ``U = weight_ih_l0`` per token. For a character
        vocabulary (V ~ 100) that costs about as much as a learned embedding of size V, and it
        keeps the layer a plain rnnkit layer whose parameters and state dict are torch.nn's.
        """
        if self.config.embedding == "learned":
            return self.embedding(idx)  # (T, B, E)
        dtype = self._dtype()
        return F.one_hot(idx, self.vocab_size).to(dtype)  # (T, B, V)

    def forward(
        self, idx: Tensor, targets: Tensor | None = None, state=None
    ) -> tuple[Tensor, Tensor | None, object]:
        """Run a chunk of T steps from ``state`` (zeros if None).

        Args:
            idx: (T, B) int64 token ids.
            targets: (T, B) int64 ids of the next tokens, or None.
            state: the state a previous call returned, or None.
        Returns:
            ``(logits, loss, state)``: logits (T, B, V) float32, raw (no softmax); the mean
            cross-entropy over all T * B positions in nats per token (float32, also under
            bf16 autocast), or None without targets; the state after the last step.
        """
        self._check_ids("idx", idx)
        if targets is not None:
            self._check_ids("targets", targets)
            if targets.shape != idx.shape:
                raise ValueError(
                    f"targets must have the shape of idx {tuple(idx.shape)}, "
                    f"got {tuple(targets.shape)}"
                )
        x = self.embed(idx)  # (T, B, E) or (T, B, V)
        output, state = self.recurrent(x, self._state_dtype(state))  # (T, B, H)
        state = self._state_dtype(state)
        logits = self.decoder(self.dropout(output)).float()  # (T, B, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        return logits, loss, state

    def step(self, tokens: Tensor, state=None) -> tuple[Tensor, object]:
        """One step of generation: tokens (B,) -> (logits (B, V), new state).

        In eval mode the layers run one cell step each (torch's fused cell kernel for the
        standard cores, ``rnnkit.nn.fused.fused_step``), on the layer's own parameters: at
        batch 1 the fused layer's set-up per call costs several times the step itself
        (benchmarks/bench_sampling.py, a 2x256 LSTM on one core of an AVX2 EPYC: 2,450
        characters/s this way, 520 through the layer). Equal to the forward pass up to
        rounding. In
        training mode (dropout between layers) the step is the forward pass of one token."""
        if not isinstance(tokens, Tensor) or tokens.dim() != 1:
            shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
            raise ValueError(f"step takes token ids of shape (B,), got {shape}")
        if self.training:
            logits, _, state = self(tokens.unsqueeze(0), state=state)  # (1, B, V)
            return logits.squeeze(0), state
        x = self.embed(tokens.unsqueeze(0))[0]  # (B, E)
        states = self._layer_states(state, tokens.shape[0])
        new = []
        for cell, layer_state in zip(self._cells(), states, strict=True):
            layer_state = fused_step(cell, x, layer_state)
            x = cell.output(layer_state)  # (B, H), the next layer's input
            new.append(layer_state)
        return self.decoder(x).float(), self._stack_states(new)

    def _cells(self) -> list[nn.Module]:
        """The recurrent layer's cells on its own parameters, made once (they hold the same
        Parameter objects, which load_state_dict and .to() update in place)."""
        key = (id(self.recurrent), id(next(self.recurrent.parameters())))
        cached = self.__dict__.get("_step_cells")
        if cached is None or cached[0] != key:
            self.__dict__["_step_cells"] = cached = (key, layer_cells(self.recurrent))
        return cached[1]

    def _layer_states(self, state, batch_size: int) -> list:
        """The carried state (L, B, H) or its (h, c) as one state per layer."""
        state = self._state_dtype(state)
        if state is None:
            state = self.initial_state(batch_size)
        if isinstance(state, tuple):
            return list(zip(*(part.unbind(0) for part in state), strict=True))
        return list(state.unbind(0))

    @staticmethod
    def _stack_states(states: list):
        """One state per layer back to the layer's stacked form."""
        if isinstance(states[0], tuple):
            return tuple(torch.stack(part) for part in zip(*states, strict=True))
        return torch.stack(states)

    @torch.no_grad()
    def trace(self, idx: Tensor) -> tuple[Tensor, StepStates]:
        """What the recurrent layers read and hold at every step of ``idx`` (T, B), from a
        zero state: the first layer's input (T, B, E) and every cell's state after every step
        (:class:`rnnkit.nn.StepStates`; ``steps[layer][t]`` is h, or (h, c) for an LSTM).
        Runs the readable loop, in eval mode as the model is."""
        self._check_ids("idx", idx)
        x = self.embed(idx)
        _, _, steps = self.recurrent(x, return_states=True)
        return x, steps

    def initial_state(self, batch_size: int, device: torch.device | str | None = None):
        """The zero state for ``batch_size`` streams: (L, B, H), or (h, c) for an LSTM."""
        check_int("batch_size", batch_size)
        weight = next(self.recurrent.parameters())
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        h = torch.zeros(shape, dtype=weight.dtype, device=device or weight.device)
        return (h, torch.zeros_like(h)) if get_core(self.config.cell).has_cell_state else h

    def _state_dtype(self, state):
        """The state in the parameters' dtype. Under bf16 autocast the layer returns a bf16
        state; keeping the carried state float32 lets it pass into a call without autocast
        (evaluation, generation) and keeps its dtype the same from chunk to chunk."""
        if state is None:
            return None
        dtype = self._dtype()
        return map_state(state, lambda t: t if t.dtype == dtype else t.to(dtype))

    def _dtype(self) -> torch.dtype:
        """The recurrent layer's parameter dtype."""
        return next(self.recurrent.parameters()).dtype

    def _check_ids(self, name: str, ids: Tensor) -> None:
        if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.dtype != torch.long:
            got = (
                f"{ids.dim()}-D {ids.dtype} {tuple(ids.shape)}"
                if isinstance(ids, Tensor)
                else type(ids).__name__
            )
            raise ValueError(f"{name} must be a (T, B) int64 tensor of token ids, got {got}")
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(
                f"{name} holds ids outside [0, {self.vocab_size}): "
                f"min {int(ids.min())}, max {int(ids.max())}"
            )
