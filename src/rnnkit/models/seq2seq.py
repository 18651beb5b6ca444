r"""An encoder-decoder (sequence to sequence) model, with or without attention.

Encoder (Sutskever et al. 2014; bidirectional as in Bahdanau et al. 2015)::

    x_i = E_src[w_i]                                    (N, S, E)
    h_1 .. h_S, h_final = recurrent(x)                  (N, S, K), K = D * H (D = 2 if bidi)
    s_0 = h_final                 one direction: the decoder starts from the encoder's state
    s_0 = tanh(W_s [h_fwd; h_bwd])   two directions (Bahdanau et al., appendix A.2.2); an LSTM's
                                  cell state goes through W_c without the tanh

Decoder, one step for output token t (``y_0 = <bos>``)::

    none            z   = [h_fwd; h_bwd] of the top layer, the same for every t: the whole
                          source squeezed into one vector (Cho et al. 2014 feed it at every
                          step), the "encoding bottleneck"
                    s_t = recurrent([E_tgt[y_{t-1}]; z], s_{t-1})
    additive        z_t = attention(s_{t-1}, h_1 .. h_S)           Bahdanau: query s_{t-1}
                    s_t = recurrent([E_tgt[y_{t-1}]; z_t], s_{t-1})
    multiplicative  s_t = recurrent([E_tgt[y_{t-1}]; h~_{t-1}], s_{t-1})   Luong's input
                    z_t = attention(s_t, h_1 .. h_S)                        feeding, h~_0 = 0
    then, for all three
                    h~_t = tanh(W_c [z_t; s_t])      Luong et al. 2015, eq. 5 (attentional
                                                     hidden state)
                    o_t  = W_o h~_t + b_o            raw logits over the target vocabulary

``attention(q, h)`` is ``rnnkit.nn.attention``: weights ``p = softmax(score(q, h_i))`` over
the real source tokens only (padding gets exactly 0) and ``z = sum_i p_i h_i``. Departures
from the papers: Bahdanau's deep output is a maxout layer over ``(s_t, y_{t-1}, z_t)``; here
all three variants share Luong's ``h~_t``, so they differ only in where the context comes from.

Training is teacher-forced with a ratio ``r`` (scheduled sampling, Bengio et al. 2015): at each
step a row is fed the gold previous token with probability ``r``, else the model's own most
likely previous token (the paper samples it). ``forward(src, src_lengths, tgt)`` returns the
logits and the mean cross-entropy over the real target tokens (padding masked).

For generation, :class:`DecoderSteps` presents the decoder in ``rnnkit.generation``'s protocol
(``model(idx, state=)`` and ``model.step(tokens, state)``); the state is ``(recurrent state,
attention memory or None, feed)`` with ``feed`` (1, N, F) (``z`` for none, ``h~_{t-1}`` for
multiplicative, None for additive), so beam search reorders every part by batch row.
Shape letters: N batch, S source length, T target length, E embedding, H hidden, K encoder
features, V vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
from rnnkit.nn.attention import ATTENTIONS, build_attention, length_mask
from rnnkit.nn.layers import layer_cells
from rnnkit.options import check_int, check_number, check_options, option

CELLS = cell_names(horizon=False)  # every core but clstm, which needs a horizon


@dataclass
class Seq2SeqConfig(CoreRegularisers):
    """The model's settings that do not depend on the data (the sizes and ids of the
    vocabularies go to :class:`Seq2Seq`'s constructor). ``dropout`` acts on the embeddings,
    between stacked layers and before the output."""

    attention: str = option("multiplicative", choices=ATTENTIONS)
    cell: str = option("lstm", describe_cells(CELLS), metavar="CELL")
    embedding_size: int = option(96, metavar="E", minimum=1)
    hidden_size: int = option(128, metavar="H", minimum=1)
    num_layers: int = option(1, name="layers", metavar="N", minimum=1)
    bidirectional: bool = option(True, "a bidirectional encoder")
    dropout: float = option(0.1, metavar="P")

    def validate(self) -> None:
        if self.attention not in ATTENTIONS:
            raise ValueError(
                f"unknown attention {self.attention!r}; allowed: {', '.join(ATTENTIONS)}"
            )
        check_cell(self.cell, CELLS, "the seq2seq model")
        self.check_regularisers()
        check_options(self)
        check_number("dropout", self.dropout)

    @property
    def key_size(self) -> int:
        """``K``: the encoder's output features."""
        return self.hidden_size * (2 if self.bidirectional else 1)


class Seq2Seq(nn.Module):
    """Encoder, decoder with optional attention, output layer (see the module docstring).

    ``pad_id``, ``bos_id``, ``eos_id`` are target-vocabulary ids (``pad_id`` also pads the
    source)."""

    def __init__(
        self,
        config: Seq2SeqConfig,
        source_vocab_size: int,
        target_vocab_size: int,
        pad_id: int = 1,
        bos_id: int = 2,
        eos_id: int = 3,
    ):
        super().__init__()
        config.validate()
        check_int("source_vocab_size", source_vocab_size)
        check_int("target_vocab_size", target_vocab_size)
        self.config = c = config
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self._lstm = get_core(c.cell).has_cell_state  # the state is (h, c)
        H, K, E, L = c.hidden_size, c.key_size, c.embedding_size, c.num_layers
        layer_dropout = c.dropout if L > 1 else 0.0
        self.source_embedding = nn.Embedding(source_vocab_size, E, padding_idx=pad_id)
        self.encoder = build_recurrent(
            c.cell,
            E,
            H,
            num_layers=L,
            bidirectional=c.bidirectional,
            dropout=layer_dropout,
            **c.regularisers(),
        )
        if c.bidirectional:
            self.bridge = nn.Linear(K, H)  # W_s
            self.bridge_cell = nn.Linear(K, H) if self._lstm else None  # W_c of c_0
        feed_size = H if c.attention == "multiplicative" else K
        self.target_embedding = nn.Embedding(target_vocab_size, E, padding_idx=pad_id)
        self.decoder = build_recurrent(
            c.cell, E + feed_size, H, num_layers=L, dropout=layer_dropout, **c.regularisers()
        )
        self.attention = build_attention(c.attention, H, K)
        self.combine = nn.Linear(K + H, H)  # W_c of h~_t
        self.output = nn.Linear(H, target_vocab_size)  # W_o, b_o
        self.dropout = nn.Dropout(c.dropout)

    def to_dict(self) -> dict:
        """The config with the vocabularies' sizes and ids: what a checkpoint records."""
        sizes = {"source_vocab_size": self.source_vocab_size}
        sizes["target_vocab_size"] = self.target_vocab_size
        ids = {"pad_id": self.pad_id, "bos_id": self.bos_id, "eos_id": self.eos_id}
        return {**sizes, **asdict(self.config), **ids}

    @classmethod
    def from_dict(cls, values: dict) -> Seq2Seq:
        """The (untrained) model that :meth:`to_dict` wrote."""
        values = dict(values)
        sizes = {key: values.pop(key) for key in ("source_vocab_size", "target_vocab_size")}
        ids = {key: values.pop(key) for key in ("pad_id", "bos_id", "eos_id") if key in values}
        unknown = sorted(set(values) - {f.name for f in fields(Seq2SeqConfig)})
        if unknown:
            raise ValueError(f"unknown seq2seq config keys: {', '.join(unknown)}")
        return cls(Seq2SeqConfig(**values), **sizes, **ids)

    # ------------------------------------------------------------------ encoder
    def encode(self, src: Tensor, src_lengths: Tensor):
        """The decoder's initial state ``(recurrent state, memory, feed)`` for ``src`` (N, S)."""
        c = self.config
        lengths = torch.as_tensor(src_lengths, dtype=torch.long, device="cpu")
        if src.dim() != 2 or src.dtype != torch.long:
            raise ValueError(f"src must be int64 ids (N, S), got {src.dtype} {tuple(src.shape)}")
        x = self.dropout(self.source_embedding(src))  # (N, S, E)
        outputs, final = self.encoder(x, lengths=lengths)  # (N, S, K), (L * D, N, H)
        h = final[0] if self._lstm else final
        top = self._directions(h)[-1]  # (N, K): [h_fwd; h_bwd] of the top layer
        if c.bidirectional:
            state = torch.tanh(self.bridge(self._directions(h)))  # (L, N, H)
            if self._lstm:
                state = (state, self.bridge_cell(self._directions(final[1])))
        else:
            state = final
        memory, feed = None, None
        if self.attention is not None:
            mask = length_mask(lengths, src.shape[1]).to(src.device)  # (N, S)
            memory = self.attention.prepare(outputs, mask)
        if c.attention == "none":
            feed = top.unsqueeze(0)  # (1, N, K)
        elif c.attention == "multiplicative":
            feed = top.new_zeros(1, src.shape[0], c.hidden_size)  # (1, N, H): h~_0 = 0
        return state, memory, feed

    def _directions(self, h: Tensor) -> Tensor:
        """(L * D, N, H) -> (L, N, D * H), each layer's directions side by side."""
        L, D = self.config.num_layers, 2 if self.config.bidirectional else 1
        h = h.view(L, D, h.shape[1], h.shape[2])  # (L, D, N, H)
        return h.permute(0, 2, 1, 3).reshape(L, h.shape[2], D * h.shape[3])  # (L, N, D * H)

    # ------------------------------------------------------------------ decoder
    def step(self, tokens: Tensor, state) -> tuple[Tensor, object, Tensor | None]:
        """One decoder step: previous tokens (N,) -> logits (N, V), new state, attention
        weights (N, S) (None without attention)."""
        e = self.dropout(self.target_embedding(tokens))  # (N, E)
        h_tilde, state, weights = self._attend_step(e, state)
        return self.output(self.dropout(h_tilde)), state, weights  # (N, V)

    def _attend_step(self, e: Tensor, state) -> tuple[Tensor, object, Tensor | None]:
        """One decoder step from the embedded previous tokens ``e`` (N, E) up to the
        attentional hidden state ``h~_t`` (N, H), before the output layer; also the new state
        and the attention weights (N, S) or None."""
        recurrent_state, memory, feed = state
        kind = self.config.attention
        weights = None
        if kind == "additive":
            z, weights = self.attention(self._top_hidden(recurrent_state), memory)  # (N, K)
            x = torch.cat([e, z], dim=-1)  # (N, E + K)
        else:
            x = torch.cat([e, feed[0]], dim=-1)  # (N, E + K) or (N, E + H)
        s, recurrent_state = self._decoder_step(x, recurrent_state)  # (N, H)
        if kind == "multiplicative":
            z, weights = self.attention(s, memory)  # (N, K)
        elif kind == "none":
            z = feed[0]  # (N, K)
        h_tilde = torch.tanh(self.combine(torch.cat([z, s], dim=-1)))  # (N, H)
        if kind == "multiplicative":
            feed = h_tilde.unsqueeze(0)  # (1, N, H)
        return h_tilde, (recurrent_state, memory, feed), weights

    def _decoder_step(self, x: Tensor, recurrent_state) -> tuple[Tensor, object]:
        """The decoder's cells, layer by layer, one step: x (N, D) -> top output (N, H) and
        the new state in torch's (L, N, H) layout. The cells run on the decoder layer's own
        parameters; one step of torch's fused kernel costs several times more (its backward
        above all), so the step path takes the cells' matmuls."""
        lstm = self._lstm
        h_all = recurrent_state[0] if lstm else recurrent_state  # (L, N, H)
        new_h, new_c = [], []
        for layer, cell in enumerate(layer_cells(self.decoder)):
            state = (h_all[layer], recurrent_state[1][layer]) if lstm else h_all[layer]
            state = cell.step(cell.project_input(x), state)
            h = state[0] if lstm else state  # (N, H)
            new_h.append(h)
            if lstm:
                new_c.append(state[1])
            x = F.dropout(h, self.decoder.dropout, self.training) if layer + 1 < len(h_all) else h
        h_all = torch.stack(new_h)  # (L, N, H)
        return x, ((h_all, torch.stack(new_c)) if lstm else h_all)

    def _top_hidden(self, recurrent_state) -> Tensor:
        h = recurrent_state[0] if self._lstm else recurrent_state
        return h[-1]  # (N, H)

    def decode(
        self, state, inputs: Tensor, teacher_forcing: float = 1.0, keep_weights: bool = False
    ) -> tuple[Tensor, Tensor | None]:
        """Logits (N, T, V) for the decoder inputs (N, T) (``<bos> y_1 .. y_{T-1}``), feeding
        the gold input with probability ``teacher_forcing``, else the model's previous argmax;
        with ``keep_weights`` also the attention weights (N, T, S)."""
        if self.config.attention == "none" and teacher_forcing >= 1 and not keep_weights:
            return self._decode_fused(state, inputs), None
        if teacher_forcing >= 1:
            # every input is known: the embedding (whose backward writes a dense V x E
            # gradient) and the output layer, the largest matmul, each run once over all
            # N * T positions; the loop in between stops at h~_t
            embedded = self.dropout(self.target_embedding(inputs))  # (N, T, E)
            hidden, weights = [], []
            for t in range(inputs.shape[1]):
                h_tilde, state, step_weights = self._attend_step(embedded[:, t], state)
                hidden.append(h_tilde)
                weights.append(step_weights)
            logits = self.output(self.dropout(torch.stack(hidden, 1)))  # (N, T, V)
        else:
            steps, weights = [], []
            token = inputs[:, 0]
            for t in range(inputs.shape[1]):
                if t > 0:
                    gold = torch.rand(token.shape, device=token.device) < teacher_forcing
                    token = torch.where(gold, inputs[:, t], steps[-1].argmax(-1))
                step_logits, state, step_weights = self.step(token, state)
                steps.append(step_logits)
                weights.append(step_weights)
            logits = torch.stack(steps, 1)  # (N, T, V)
        all_weights = torch.stack(weights, 1) if keep_weights and weights[0] is not None else None
        return logits, all_weights  # (N, T, V), (N, T, S)

    def _decode_fused(self, state, inputs: Tensor) -> Tensor:
        """Without attention and with every gold token fed, the decoder's inputs are known in
        advance: one call of the recurrent layer over all T steps (same result as the loop)."""
        recurrent_state, _, feed = state
        e = self.dropout(self.target_embedding(inputs))  # (N, T, E)
        z = feed[0].unsqueeze(1).expand(-1, inputs.shape[1], -1)  # (N, T, K)
        s, _ = self.decoder(torch.cat([e, z], dim=-1), recurrent_state)  # (N, T, H)
        h_tilde = torch.tanh(self.combine(torch.cat([z, s], dim=-1)))  # (N, T, H)
        return self.output(self.dropout(h_tilde))  # (N, T, V)

    def forward(
        self, src: Tensor, src_lengths: Tensor, tgt: Tensor, teacher_forcing: float = 1.0
    ) -> tuple[Tensor, Tensor]:
        """``tgt`` (N, T + 1) is ``<bos> y_1 .. y_n <eos>`` padded with ``pad_id``. Returns the
        logits (N, T, V) predicting ``tgt[:, 1:]`` and their mean cross-entropy over the real
        (non-pad) target tokens."""
        state = self.encode(src, src_lengths)
        logits, _ = self.decode(state, tgt[:, :-1], teacher_forcing)
        loss = F.cross_entropy(
            logits.float().flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=self.pad_id
        )
        return logits, loss

    @torch.no_grad()
    def attention_weights(self, src: Tensor, src_lengths: Tensor, tgt: Tensor) -> Tensor | None:
        """Attention weights (N, T, S) while the decoder reads ``tgt[:, :-1]`` (None without
        attention): for the heatmap of a translation, pass ``<bos> output <eos>``."""
        if self.attention is None:
            return None
        _, weights = self.decode(self.encode(src, src_lengths), tgt[:, :-1], keep_weights=True)
        return weights

    @torch.no_grad()
    def greedy(
        self,
        src: Tensor,
        src_lengths: Tensor,
        max_length: int | Sequence[int] | Tensor,
        suppress_ids: Sequence[int] = (),
    ) -> list[list[int]]:
        """The argmax translation of every row, batched: ids without ``<bos>`` and ``<eos>``.
        ``max_length`` is the most tokens of every row (an int) or of each row ((N,) ints):
        a row stops at its own limit, so it gets what it gets alone. ``suppress_ids`` are
        never chosen (their scores -inf, as ``rnnkit.generation.sampling.suppress`` does)."""
        limits = torch.as_tensor(max_length, dtype=torch.long, device=src.device)
        limits = limits.expand(src.shape[0])  # (N,)
        if int(limits.min()) < 1:
            raise ValueError(f"max_length must be >= 1 for every row, got {limits.tolist()}")
        state = self.encode(src, src_lengths)
        tokens = torch.full((src.shape[0],), self.bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros_like(tokens, dtype=torch.bool)
        banned = torch.tensor(list(suppress_ids), dtype=torch.long, device=src.device)
        outputs = []
        for t in range(int(limits.max())):
            logits, state, _ = self.step(tokens, state)
            tokens = logits.index_fill(-1, banned, -math.inf).argmax(-1)  # (N,)
            outputs.append(tokens)
            done |= (tokens == self.eos_id) | (limits <= t + 1)
            if bool(done.all()):
                break
        rows = torch.stack(outputs, 1).tolist()  # (N, T)
        eos = self.eos_id
        rows = [row[:limit] for row, limit in zip(rows, limits.tolist(), strict=True)]
        return [row[: row.index(eos)] if eos in row else row for row in rows]


class DecoderSteps(nn.Module):
    """A :class:`Seq2Seq`'s decoder in ``rnnkit.generation``'s protocol, for one encoded
    source: ``generate(DecoderSteps(model), [bos_id], n, state=model.encode(src, lengths))``.

    ``forward(idx (T, B), state)`` feeds the tokens one step at a time;
    ``step(tokens (B,), state)`` is :meth:`Seq2Seq.step` without the weights.
    """

    def __init__(self, model: Seq2Seq):
        super().__init__()
        self.model = model

    def forward(self, idx: Tensor, state=None):
        if state is None:
            raise ValueError("the decoder needs the encoder's state: state=model.encode(...)")
        logits = []
        for t in range(idx.shape[0]):
            step_logits, state, _ = self.model.step(idx[t], state)
            logits.append(step_logits)
        return torch.stack(logits), None, state  # (T, B, V)

    def step(self, tokens: Tensor, state):
        logits, state, _ = self.model.step(tokens, state)
        return logits, state
