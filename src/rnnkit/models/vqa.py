r"""Visual question answering: a CNN reads the scene's regions, an LSTM reads the question
and goes on into the answer (Agrawal et al. 2015; Zhu et al. 2016, "Visual7W").

Regions: the scene (N, g*h, g*w) is cut into its ``R = g*g`` cells; one CNN (the captioner's
:class:`~rnnkit.models.captioner.ImageEncoder`, trained from scratch) reads each cell, a
linear layer and a ReLU turn its map into ``r_i`` (C features), and a learned position
vector ``p_i`` is added, so the features say where they are: ``a_i = relu(W f_i + b) + p_i``.

The LSTM (the captioner's :class:`~rnnkit.models.captioner.CaptionDecoder`: any ``--cell``
core) starts from the whole scene, ``h_0 = tanh(W_h [a_1; ..; a_R])`` (and ``c_0`` alike for
an LSTM), reads the question ``q_1 .. q_n`` and then continues into the answer: input
``<start> y_1 .. y_k``, target ``y_1 .. y_k <end>`` (teacher forcing in training; greedy or
beam search at test). With ``attention`` ``additive`` (Bahdanau's score, as in the captioner,
Xu et al.'s soft attention) or ``multiplicative`` (Luong's ``h^T W a_i``) every step also
reads a context ``z_t = sum_i alpha_ti a_i`` weighed by ``h_{t-1}`` over the regions; with
``none`` the scene only sets ``h_0``.

Pointing (Visual7W's multiple choice over regions): the candidate region ``i`` scores
``s_i = (W_p a_i + b_p)^T h_n``, a dot product between a transform of its feature and the
LSTM's last state after the question; the answer is ``argmax_i s_i`` and training adds the
cross-entropy of ``softmax(s)`` for questions whose answer is a region.

The baselines are the same network with part of its input taken away (``inputs``):
``question`` blanks the scene (all pixels 0), ``image`` reads no question word.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.captioner import (
    CaptionDecoder,
    CaptionerConfig,
    CaptionState,
    ImageEncoder,
)
from rnnkit.models.recurrent import cell_names, check_cell, describe_cells
from rnnkit.nn.attention import ATTENTIONS, build_attention
from rnnkit.options import option

INPUTS = ("both", "question", "image")
CELLS = cell_names(horizon=False)


@dataclass
class VQAModelConfig:
    """The VQA model's settings (module docstring); ``inputs`` makes the baselines."""

    attention: str = option(
        "multiplicative",
        "over the regions at every step (none: the scene only sets h_0)",
        choices=ATTENTIONS,
    )
    cell: str = option("lstm", describe_cells(CELLS), metavar="CELL")
    embedding_size: int = option(32, metavar="E", minimum=1)
    hidden_size: int = option(128, metavar="H", minimum=1)
    base_channels: int = option(
        16, "channels of the region CNN's first block", metavar="C", minimum=1
    )
    conv_blocks: int = option(2, "region CNN blocks, each doubling the channels", minimum=1)
    attention_size: int = option(64, metavar="A", minimum=1)
    dropout: float = option(0.1, metavar="P")
    inputs: str = "both"

    def validate(self) -> None:
        if self.attention not in ATTENTIONS:
            raise ValueError(
                f"attention must be one of {', '.join(ATTENTIONS)}, got {self.attention!r}"
            )
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {', '.join(INPUTS)}, got {self.inputs!r}")
        check_cell(self.cell, CELLS, "the VQA model")
        self.decoder_config().validate()

    def decoder_config(self) -> CaptionerConfig:
        return CaptionerConfig(
            conditioning="init" if self.attention == "none" else "attention",
            cell=self.cell,
            embedding_size=self.embedding_size,
            hidden_size=self.hidden_size,
            base_channels=self.base_channels,
            conv_blocks=self.conv_blocks,
            attention_size=self.attention_size,
            dropout=self.dropout,
        )


class VQAModel(nn.Module):
    """Region CNN + question/answer LSTM + pointing (module docstring).

    ``forward((scenes, questions, lengths, answer_in), (answer_out, regions)=None)`` ->
    ``(logits (T, N, V), loss)``: scenes (N, H, W) in [0, 1], questions (N, L) word ids padded
    after ``lengths``, answers (T, N) as :func:`rnnkit.tasks.caption_tensors.teacher_forcing_batch`
    lays them out, ``regions`` (N,) the answer's region or -1."""

    def __init__(self, config: VQAModelConfig, vocab_size: int, pad_id: int, grid: int, cell: int):
        super().__init__()
        config.validate()
        if cell % 2 ** (config.conv_blocks - 1):
            raise ValueError(
                f"a {cell}-pixel cell cannot be pooled {config.conv_blocks - 1} times; "
                "use fewer conv_blocks"
            )
        self.config, self.vocab_size, self.pad_id = config, vocab_size, pad_id
        self.grid, self.cell, self.regions = grid, cell, grid * grid
        decoder = config.decoder_config()
        features, hidden = decoder.channels[-1], config.hidden_size
        side = cell // 2 ** (config.conv_blocks - 1)
        self.encoder = ImageEncoder(decoder.channels)
        self.region = nn.Linear(features * side * side, features)
        self.position = nn.Parameter(0.1 * torch.randn(self.regions, features))
        self.decoder = CaptionDecoder(decoder, vocab_size)
        if config.attention != "none":  # the kind asked for, from rnnkit.nn.attention
            self.decoder.attention = build_attention(
                config.attention, hidden, features, config.attention_size
            )
        self.init_h = nn.Linear(self.regions * features, hidden)
        if self.decoder.has_cell_state:
            self.init_c = nn.Linear(self.regions * features, hidden)
        self.point = nn.Linear(features, hidden)  # W_p, b_p

    def to_dict(self) -> dict:
        sizes = {"vocab_size": self.vocab_size, "pad_id": self.pad_id}
        return {**sizes, "grid": self.grid, "cell": self.cell, "config": asdict(self.config)}

    @classmethod
    def from_dict(cls, values: dict) -> VQAModel:
        config = VQAModelConfig(**values["config"])
        return cls(config, values["vocab_size"], values["pad_id"], values["grid"], values["cell"])

    def features(self, scenes: Tensor) -> Tensor:
        """(N, g*h, g*w) -> region features ``a`` (N, R, C), row by row."""
        n, g, s = scenes.shape[0], self.grid, self.cell
        if scenes.shape[1:] != (g * s, g * s):
            raise ValueError(
                f"scenes must be {g * s}x{g * s} pixels, got {tuple(scenes.shape[1:])}"
            )
        if self.config.inputs == "question":
            scenes = torch.zeros_like(scenes)
        cells = scenes.reshape(n, g, s, g, s).transpose(2, 3).reshape(n * g * g, 1, s, s)
        maps = self.encoder(cells.expand(-1, 3, -1, -1))  # (N*R, C, s', s')
        regions = F.relu(self.region(maps.flatten(1)))  # (N*R, C)
        return regions.reshape(n, g * g, -1) + self.position  # (N, R, C)

    def start_state(self, a: Tensor) -> CaptionState:
        """The state before the question: ``h_0 = tanh(W_h [a_1; ..; a_R])``."""
        flat = a.flatten(1)
        c = torch.tanh(self.init_c(flat)) if self.decoder.has_cell_state else None
        memory = None
        if self.decoder.attention is not None:
            memory = self.decoder.attention.prepare(a)
        return CaptionState(torch.tanh(self.init_h(flat)), c, memory=memory)

    def read(self, scenes: Tensor, questions: Tensor, lengths: Tensor):
        """The regions ``a`` (N, R, C), the state after each row's last question word and the
        attention weights (N, L, R) while reading (None without attention). Rows stop taking
        steps at their length, so padding changes nothing."""
        a = self.features(scenes)
        state = self.start_state(a)
        weights = []
        if self.config.inputs == "image":
            lengths = torch.zeros_like(lengths)
        for t in range(questions.shape[1]):
            _, new, step_weights = self.decoder.step_with_weights(questions[:, t], state)
            keep = (t < lengths).unsqueeze(1)  # (N, 1)
            h = torch.where(keep, new.h, state.h)
            c = None if new.c is None else torch.where(keep, new.c, state.c)
            state = CaptionState(h, c, memory=state.memory)
            weights.append(step_weights)
        stacked = None
        if self.decoder.attention is not None and weights:
            stacked = torch.stack(weights, dim=1)  # (N, L, R)
        return a, state, stacked

    def pointing(self, a: Tensor, state: CaptionState) -> Tensor:
        """Scores (N, R) of the regions: ``s_i = (W_p a_i + b_p)^T h_n``."""
        return torch.einsum("nrh,nh->nr", self.point(a), state.h)

    def forward(self, inputs, targets=None) -> tuple[Tensor, Tensor | None]:
        """The answer's logits (T, N, V) and, with ``targets``, the loss: the mean
        cross-entropy of the answer words plus, where some question's answer is a region, the
        mean cross-entropy of the pointing over those questions (:func:`combined_loss`)."""
        scenes, questions, lengths, answer_in = inputs
        a, state, _ = self.read(scenes, questions, lengths)
        logits, _, _ = self.decoder.run(answer_in, state)  # (T, N, V)
        if targets is None:
            return logits, None
        return logits, combined_loss(*self.loss_sums(logits, a, state, targets))

    def loss_sums(self, logits: Tensor, a: Tensor, state: CaptionState, targets):
        """``(answer words' summed cross-entropy, their number, the pointing questions'
        summed cross-entropy, their number)``: sums, so that a split scored in chunks adds
        them up and divides once (:func:`combined_loss`), as one batch of it would."""
        answer_out, regions = targets
        flat = answer_out.flatten()
        words = F.cross_entropy(
            logits.flatten(0, 1).float(), flat, ignore_index=self.pad_id, reduction="sum"
        )
        asked = regions >= 0
        pointing = words.new_zeros(())
        if bool(asked.any()):
            scores = self.pointing(a[asked], _rows(state, asked))
            pointing = F.cross_entropy(scores.float(), regions[asked], reduction="sum")
        return words, (flat != self.pad_id).sum(), pointing, asked.sum()

    @torch.no_grad()
    def greedy(self, state: CaptionState, start_id: int, end_id: int, length: int, suppress=()):
        """Batched greedy answers from the states after the questions: each row's ids, up to
        and with ``end_id`` (or ``length`` ids)."""
        tokens = torch.full((state.h.shape[0],), start_id, dtype=torch.long, device=state.h.device)
        chosen = []
        for _ in range(length):
            logits, state = self.decoder.step(tokens, state)
            if suppress:
                logits = logits.clone()
                logits[:, list(suppress)] = float("-inf")
            tokens = logits.argmax(-1)
            chosen.append(tokens)
        ids = []
        for row in torch.stack(chosen, dim=1).tolist():
            ids.append(row[: row.index(end_id) + 1] if end_id in row else row)
        return ids


def combined_loss(words, word_count, pointing, pointed):
    """The mean cross-entropy per answer word, plus the mean per pointing question where
    there are any (:meth:`VQAModel.loss_sums`'s four figures, or their sums over chunks)."""
    loss = words / word_count
    return loss + pointing / pointed if pointed > 0 else loss


def _rows(state: CaptionState, mask: Tensor) -> CaptionState:
    index = mask.nonzero().squeeze(1)
    return state.index_select(index)
