r"""An image captioner: a small CNN reads the image, an LSTM writes its caption word by word.

The CNN (trained from scratch: no pretrained weights are reachable offline) turns a
``64x64`` RGB image into a feature map ``a`` of ``S = h*w`` positions, ``C`` features each,
and its mean ``v = 1/S sum_i a_i``: the image is average-pooled by ``input_pool`` (2: 32x32,
four times cheaper on a CPU, and an emoji stays legible), then each block is conv 3x3, batch
norm, ReLU and, except after the last block, 2x2 max pooling: 32 -> 16 -> 8, so the
default map is 8x8 positions of 128 features. The decoder is an LSTM
over word embeddings ``x_t = E[w_t]``, ``w_0 = <start>``, that predicts
``p(w_{t+1} | image, w_{<=t}) = softmax(W_o h_t + b_o)`` until ``<end>``. Three ways of
giving it the image (``conditioning``):

``init``, Vinyals et al. 2015 ("Show and Tell", eq. 10-12): the image is the LSTM's input
once, at step -1, and never again::

    x_{-1} = W_I v + b_I;    (h_{-1}, c_{-1}) = LSTM(x_{-1}, 0);    h_t = LSTM(x_t, h_{t-1})

``every-step``, Karpathy and Fei-Fei 2015 ("Deep Visual-Semantic Alignments", sec. 3.2:
``h_t = f(W_hx x_t + W_hh h_{t-1} + b_h + 1(t=1) W_hi v)``; the issue's form, and ours, adds
the image at every step): the image vector is a second input at each step, so every gate
gets a term ``W_iv v``::

    gates_t = W_ix x_t + W_iv v + W_hh h_{t-1} + b         (W_ih = [W_ix | W_iv])

which is ``h = tanh(W_xh x + W_hh h + W_ih v)`` of the lectures, written for an LSTM.

``attention``, Xu et al. 2015 ("Show, Attend and Tell", sec. 3.1.2, soft attention): at each
step the previous hidden state weighs the ``S`` positions (additive attention,
:class:`rnnkit.nn.attention.AdditiveAttention`) and the context is concatenated to the word::

    e_ti = v_a^T tanh(W_q h_{t-1} + W_k a_i + b);  alpha_t = softmax(e_t);
    z_t = sum_i alpha_ti a_i;                       gates_t = W_ih [x_t; z_t] + W_hh h_{t-1} + b

with ``h_{-1}, c_{-1}`` predicted from the mean feature by two one-layer networks
(``tanh(W v + b)``, their eq. 5). Departures from the paper: the output layer reads ``h_t``
only (Xu et al.'s "deep output" also reads ``E w_{t-1}`` and ``z_t``), there is no gating
scalar ``beta`` and no doubly stochastic regulariser.

The decoder (:attr:`Captioner.decoder`) meets rnnkit.generation's protocol, so
``generate`` (sampling) and ``beam_search`` drive it unchanged from
``Captioner.start_state(images)``: its ``(h, c)``, the image vector or the attention memory
travel together in a :class:`CaptionState`, which reorders its own batch rows for beam search.

The decoder's cell is an LSTM unless ``cell`` names another core of
:mod:`rnnkit.models.recurrent` (all but clstm, which needs a horizon); a GRU or an RNN has no
``c`` (``CaptionState.c`` is None, and ``attention`` predicts ``h_{-1}`` only). The cell keeps
torch.nn's default initialisation where a core's own is only customary (no forget-gate bias 1),
as the captioner's LSTM always had.

Shape letters: ``N`` (= ``B``) images, ``T`` steps, ``V`` vocabulary, ``E`` embedding, ``H``
hidden, ``C`` feature channels, ``S`` positions, ``A`` attention size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.recurrent import (
    CoreRegularisers,
    build_cell,
    cell_names,
    check_cell,
    describe_cells,
    get_core,
)
from rnnkit.nn.attention import AdditiveAttention, Memory
from rnnkit.nn.regularise import recurrent_dropout as drop_recurrent
from rnnkit.nn.regularise import zone
from rnnkit.options import check_int, check_number, check_options, option

CONDITIONINGS = ("init", "every-step", "attention")
CELLS = cell_names(horizon=False)  # all but clstm, whose horizon this config does not hold


@dataclass
class CaptionerConfig(CoreRegularisers):
    """The captioner's settings that do not depend on the data (the vocabulary's size and the
    images' go to :class:`Captioner`'s constructor). The CNN average-pools the image by
    ``input_pool``, then has ``conv_blocks`` blocks of ``base_channels``, twice that, four
    times that ... channels (module docstring), so the default feature map of a 64x64 image
    is 8x8 positions of 128 features."""

    conditioning: str = option("attention", choices=CONDITIONINGS)
    cell: str = option("lstm", f"the decoder's: {describe_cells(CELLS)}", metavar="CELL")
    embedding_size: int = option(64, metavar="E", minimum=1)
    hidden_size: int = option(256, metavar="H", minimum=1)
    base_channels: int = option(32, "channels of the first CNN block", metavar="C", minimum=1)
    conv_blocks: int = option(3, "CNN blocks, each doubling the channels", minimum=1)
    input_pool: int = 2
    attention_size: int = option(128, metavar="A", minimum=1)
    dropout: float = option(0.2, metavar="P")

    def validate(self) -> None:
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(
                f"conditioning must be one of {', '.join(CONDITIONINGS)}, got {self.conditioning!r}"
            )
        check_cell(self.cell, CELLS, "the captioner")
        self.check_regularisers()
        check_options(self)
        check_int("input_pool", self.input_pool)
        check_number("dropout", self.dropout)

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels of the CNN's blocks."""
        return tuple(self.base_channels * 2**block for block in range(self.conv_blocks))

    @property
    def grid_divisor(self) -> int:
        return self.input_pool * 2 ** (self.conv_blocks - 1)


@dataclass
class CaptionState:
    """The decoder's state: the cell's ``h`` and, for an LSTM, ``c`` (N, H) (else None), and
    the image as the chosen conditioning needs it: the vector ``v`` (N, C) for
    ``every-step``, the attention ``memory`` for ``attention`` (None otherwise)."""

    h: Tensor
    c: Tensor | None
    image: Tensor | None = None
    memory: Memory | None = None

    def index_select(self, index: Tensor) -> CaptionState:
        """Batch rows ``index`` (repeats allowed): how beam search reorders the beams."""
        return CaptionState(
            self.h.index_select(0, index),
            None if self.c is None else self.c.index_select(0, index),
            None if self.image is None else self.image.index_select(0, index),
            None if self.memory is None else self.memory.index_select(index),
        )


class ImageEncoder(nn.Module):
    """(N, 3, 64, 64) in [0, 1] -> feature map (N, C, h, w) (module docstring)."""

    def __init__(self, channels: Sequence[int], input_pool: int = 1):
        super().__init__()
        layers, previous = [nn.AvgPool2d(input_pool)] if input_pool > 1 else [], 3
        for block, width in enumerate(channels):
            layers += [
                nn.Conv2d(previous, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            if block + 1 < len(channels):
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.blocks = nn.Sequential(*layers)

    def forward(self, images: Tensor) -> Tensor:
        return self.blocks(images - 0.5)  # (N, C, h, w)


class CaptionDecoder(nn.Module):
    """The LSTM that writes; meets rnnkit.generation's model protocol (module docstring)."""

    def __init__(self, config: CaptionerConfig, vocab_size: int):
        super().__init__()
        self.config = config
        features, mode = config.channels[-1], config.conditioning
        self.embedding = nn.Embedding(vocab_size, config.embedding_size)
        extra = 0 if mode == "init" else features  # v or z_t beside x_t
        # torch.nn's default init, the captioner's LSTM's before the registry (module docstring)
        self.cell = build_cell(
            config.cell, config.embedding_size + extra, config.hidden_size, customary_init=False
        )
        self.has_cell_state = get_core(config.cell).has_cell_state
        if config.recurrent_dropout:
            drop_recurrent(self.cell, config.recurrent_dropout)  # drawn per caption by run()
        self.attention = (
            AdditiveAttention(config.hidden_size, features, config.attention_size)
            if mode == "attention"
            else None
        )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.hidden_size, vocab_size)  # W_o, b_o

    def step_with_weights(
        self, tokens: Tensor, state: CaptionState
    ) -> tuple[Tensor, CaptionState, Tensor | None]:
        """One word: ``tokens`` (N,) -> logits (N, V), the new state, the attention
        weights (N, S) it used (None without attention)."""
        x = self.embedding(tokens)  # (N, E)
        weights = None
        if self.attention is not None:
            z, weights = self.attention(state.h, state.memory)  # (N, C), (N, S)
            x = torch.cat([x, z], dim=1)  # (N, E + C)
        elif state.image is not None:
            x = torch.cat([x, state.image], dim=1)  # (N, E + C)
        h, c = self.cell_step(x, state.h, state.c)
        logits = self.output(self.dropout(h))  # (N, V)
        return logits, CaptionState(h, c, state.image, state.memory), weights

    def cell_step(self, x: Tensor, h: Tensor, c: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """One step of the cell from ``(h, c)`` (``c`` None but for an LSTM): the new pair."""
        xp = self.cell.project_input(x)  # (N, G*H)
        p = self.config.zoneout  # Krueger et al. 2016, as rnnkit.nn.regularise.Zoneout
        if self.has_cell_state:
            return zone((h, c), self.cell.step(xp, (h, c)), p, p, self.training)
        return zone(h, self.cell.step(xp, h), p, p, self.training), None

    def step(self, tokens: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState]:
        logits, state, _ = self.step_with_weights(tokens, state)
        return logits, state

    def run(self, idx: Tensor, state: CaptionState) -> tuple[Tensor, CaptionState, Tensor | None]:
        """Teacher forcing: ``idx`` (T, N) -> logits (T, N, V), state, weights (T, N, S)."""
        logits, weights = [], []
        masked = hasattr(self.cell, "begin_sequence")  # one recurrent dropout mask per caption
        if masked:
            self.cell.begin_sequence(idx.shape[1], state.h)
        try:
            for tokens in idx:
                step_logits, state, step_weights = self.step_with_weights(tokens, state)
                logits.append(step_logits)
                weights.append(step_weights)
        finally:  # a step after these captions (decoding, say) draws no stale mask
            if masked:
                self.cell.end_sequence()
        stacked = torch.stack(weights) if self.attention is not None else None
        return torch.stack(logits), state, stacked

    def forward(self, idx: Tensor, state: CaptionState | None = None):
        """``(logits (T, N, V), None, state)``, as rnnkit.generation expects; the state comes
        from ``Captioner.start_state`` (a caption without its image means nothing)."""
        if state is None:
            raise ValueError("the caption decoder needs Captioner.start_state(images) as state")
        logits, state, _ = self.run(idx, state)
        return logits, None, state


class Captioner(nn.Module):
    """CNN encoder + LSTM decoder (module docstring). ``forward(images, inputs, targets)``.

    ``vocab_size`` words, of which ``pad_id`` is the target id the loss ignores; images of
    ``image_size`` pixels square (divisible by ``input_pool * 2**(conv_blocks - 1)``, one 2x2
    pooling per block but the last)."""

    def __init__(
        self, config: CaptionerConfig, vocab_size: int, pad_id: int = 0, image_size: int = 64
    ):
        super().__init__()
        config.validate()
        check_int("vocab_size", vocab_size)
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id must be a token id, got {pad_id}")
        if image_size % config.grid_divisor:
            raise ValueError(
                f"image_size {image_size} must be divisible by input_pool * "
                f"2**{config.conv_blocks - 1} = {config.grid_divisor} (one 2x2 pooling per "
                "block but the last)"
            )
        self.config, self.vocab_size, self.pad_id, self.image_size = (
            config,
            vocab_size,
            pad_id,
            image_size,
        )
        features, hidden = config.channels[-1], config.hidden_size
        self.encoder = ImageEncoder(config.channels, config.input_pool)
        self.decoder = CaptionDecoder(config, vocab_size)
        if config.conditioning == "init":
            self.image_input = nn.Linear(features, config.embedding_size)  # W_I, b_I
        if config.conditioning == "attention":
            self.init_h = nn.Linear(features, hidden)
            if self.decoder.has_cell_state:
                self.init_c = nn.Linear(features, hidden)

    def to_dict(self) -> dict:
        """The config with the vocabulary's and images' sizes: what a checkpoint records."""
        sizes = {"vocab_size": self.vocab_size, "pad_id": self.pad_id}
        return {**sizes, "image_size": self.image_size, **asdict(self.config)}

    @classmethod
    def from_dict(cls, values: dict) -> Captioner:
        """The (untrained) model that :meth:`to_dict` wrote, or a checkpoint of before it that
        lists the CNN's ``channels`` (doubling from block to block)."""
        values = dict(values)
        sizes = {key: values.pop(key) for key in ("vocab_size", "pad_id", "image_size")}
        if "channels" in values:
            channels = [int(c) for c in values.pop("channels")]
            if not channels or channels != [channels[0] * 2**k for k in range(len(channels))]:
                raise ValueError(f"channels must double from block to block, got {channels}")
            values.update(base_channels=channels[0], conv_blocks=len(channels))
        unknown = sorted(set(values) - {f.name for f in fields(CaptionerConfig)})
        if unknown:
            raise ValueError(f"unknown captioner config keys: {', '.join(unknown)}")
        return cls(CaptionerConfig(**values), **sizes)

    def features(self, images: Tensor) -> Tensor:
        """``images`` (N, 3, H, W) in [0, 1] -> the memory ``a`` (N, S, C), row by row."""
        feature_map = self.encoder(images)  # (N, C, h, w)
        return feature_map.flatten(2).transpose(1, 2)  # (N, S, C)

    def start_state(self, images: Tensor) -> CaptionState:
        """The decoder's state before ``<start>``, holding the image as ``conditioning`` says."""
        a = self.features(images)  # (N, S, C)
        v = a.mean(dim=1)  # (N, C)
        n, hidden = a.shape[0], self.config.hidden_size
        zeros = a.new_zeros(n, hidden)
        zero_c = zeros if self.decoder.has_cell_state else None
        mode = self.config.conditioning
        if mode == "init":
            x = self.image_input(v)  # x_{-1} = W_I v + b_I, (N, E)
            return CaptionState(*self.decoder.cell_step(x, zeros, zero_c))
        if mode == "every-step":
            return CaptionState(zeros, zero_c, image=v)
        memory = self.decoder.attention.prepare(a)  # keys W_k a_i + b computed once
        c = torch.tanh(self.init_c(v)) if self.decoder.has_cell_state else None
        return CaptionState(torch.tanh(self.init_h(v)), c, memory=memory)

    def forward(
        self, images: Tensor, inputs: Tensor, targets: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: ``inputs`` (T, N) = ``<start> w_1 .. w_n`` (padded), ``targets``
        (T, N) = ``w_1 .. w_n <end>`` (padded with ``pad_id``). Returns logits (T, N, V) and the
        mean cross-entropy per target token (nats), or None without targets."""
        logits, _, _ = self.decoder.run(inputs, self.start_state(images))
        if targets is None:
            return logits, None
        scores = logits.flatten(0, 1)  # (T * N, V)
        if scores.dtype != torch.float64:
            scores = scores.float()  # bf16 autocast: the softmax in float32
        loss = F.cross_entropy(scores, targets.flatten(), ignore_index=self.pad_id)
        return logits, loss

    @torch.no_grad()
    def greedy(
        self,
        images: Tensor,
        start_id: int,
        end_id: int,
        max_length: int,
        suppress_ids: Sequence[int] = (),
    ) -> tuple[list[list[int]], Tensor | None]:
        """Batched greedy decoding: each image's ids (ending with ``end_id`` unless
        ``max_length`` came first) and the attention weights (N, T, S) of every step taken
        (None without attention). The caller sets eval mode."""
        state = self.start_state(images)
        n = images.shape[0]
        tokens = torch.full((n,), start_id, dtype=torch.long, device=images.device)
        done = torch.zeros(n, dtype=torch.bool, device=images.device)
        chosen, weights = [], []
        for _ in range(max_length):
            logits, state, step_weights = self.decoder.step_with_weights(tokens, state)
            if suppress_ids:  # tokens never to emit (<unk>, <pad>, <start>)
                logits = logits.clone()
                logits[:, list(suppress_ids)] = float("-inf")
            tokens = logits.argmax(dim=-1)  # (N,)
            chosen.append(tokens)
            weights.append(step_weights)
            done |= tokens == end_id
            if bool(done.all()):
                break
        ids = []
        for row in torch.stack(chosen, dim=1).tolist():  # (N, T)
            ids.append(row[: row.index(end_id) + 1] if end_id in row else row)
        stacked = torch.stack(weights, dim=1) if weights[0] is not None else None  # (N, T, S)
        return ids, stacked

    @torch.no_grad()
    def attention_weights(self, image: Tensor, start_id: int, ids: Sequence[int]) -> Tensor:
        """The weights (T, S) the decoder gives the positions while it emits ``ids`` after
        ``<start>`` for one ``image`` (3, H, W); needs ``attention`` conditioning."""
        if self.config.conditioning != "attention":
            raise ValueError(f"a {self.config.conditioning} captioner has no attention weights")
        idx = torch.tensor([start_id, *ids[:-1]], dtype=torch.long).unsqueeze(1)  # (T, 1)
        _, _, weights = self.decoder.run(idx, self.start_state(image.unsqueeze(0)))
        return weights[:, 0]  # (T, S)
