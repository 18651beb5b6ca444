r"""A sequence classifier (many-to-one): read a whole sequence, name its class.

    x_t = E[w_t]  or  onehot(w_t)  or  (v_t - mu) / sigma      (N, T, D)  tokens or vectors
    x   = x_{a+1} .. x_{a+L}, L ~ U[ceil((1-c) len), len]        training only: a random window
    v'_j = v(j (len-1)/(M-1)), M = round(s len), s ~ U[1-w, 1+w]  training only, vectors: time warp
    x_t = x_t + sigma e_t,  e_t ~ N(0, I)                       training only, vectors: input noise
    x_t = x_t + rho u,      u ~ N(0, I), one draw per sequence   training only, vectors: input shift
    x_t = m_t x_t / (1 - q),  m_t ~ Bernoulli(1 - q)           training only: whole-token dropout
    x   = relu(conv_k(x)), repeated J times                    optional: (N, T, C) local features
    h_t = recurrent(x_1 .. x_t)  [, backward over x_t .. x_len]  (N, T, H')  H' = H or 2H
    s   = pool(h_1 .. h_len)                                   (N, H')   last|mean|max|attention
                                                               (N, 3H')  concat: [last|max|mean]
                                                               (N, KH')  points: K evenly spaced
    o   = W dropout(s) + c                                     (N, K)    raw logits
    loss = mean_n -log softmax(o_n)[y_n]                       cross-entropy, nats per sequence
    loss = mean_n [(1-e) (-log p_n[y_n]) + e mean_k (-log p_n[k])]  training, label smoothing e

The recurrent core is any of ``rnnkit.models.recurrent``'s cores but clstm (``CELLS``: rnn,
relu, irnn, lstm, gru, gru-lectures), optionally bidirectional and stacked. Batches are padded
(N, T) token ids or (N, T, F) vectors with their ``lengths`` (N,): the core runs with
``lengths=`` (packed, so no padded step is ever read) and the pooling is masked, so a padded
batch gives each sequence exactly what it would get alone (``tests/models/test_classifier.py``).

Vector input (``embedding="vectors"``) is standardised with per-feature ``input_mean`` and
``input_std`` buffers, set from the training split by the task and saved in the checkpoint, so
a loaded model needs nothing else. Dropout acts on the inputs (after the embedding), between
stacked layers, and on the pooled vector. ``embedding_dropout`` ``q`` (training only) drops whole
time steps of the input instead: every feature of ``x_t`` is zeroed together, with probability
``q`` per token, and the kept ones are scaled by ``1 / (1 - q)`` (word dropout, Iyyer et al.
2015; the embedding dropout of Gal and Ghahramani 2016 drops a word type, this one an
occurrence). The model then cannot lean on any single token. ``input_noise`` ``sigma`` (training
only, vector input only) adds Gaussian noise of that standard deviation to every standardised
feature of every frame, a new draw each batch (training with noise as a regulariser, Bishop
1995): on a data set as small as vowels' 270 utterances it keeps the model from fitting the
exact frames it has seen. ``input_shift`` ``rho`` (training only, vector input only) adds one
Gaussian offset per sequence, the same for all its frames: for cepstral features such as
vowels' LPC cepstra a recording channel multiplies the spectrum, which is an additive constant
in the cepstrum (the reason for cepstral mean normalisation), so the offset trains the model to
tolerate a change of channel or session. ``random_crop`` ``c`` (training only) replaces each
sequence by a random contiguous window of it, whose length is drawn uniformly between
``ceil((1 - c) len)`` and ``len`` and whose start uniformly among the places it fits, a fresh
draw each batch: for data where every part of a sequence carries the class (a speaker's
vowel), a cheap way to multiply the training sequences. ``time_warp`` ``w`` (training only,
vector input only) resamples each sequence, after any window, to ``M = round(s len)`` frames
(at least 1), ``s`` drawn uniformly from ``[1 - w, 1 + w]`` per sequence and batch, by linear
interpolation between neighbouring frames at the evenly spaced positions
``j (len - 1) / (M - 1)``: the first and last frames are kept and the sequence is read as if
spoken ``1 / s`` times as fast (speed perturbation, Ko et al. 2015).

``label_smoothing`` ``e`` (training only) trains towards ``1 - e + e / K`` on the true class
and ``e / K`` on each other one instead of a one-hot target (Szegedy et al. 2016): the model
can no longer lower its loss by growing ever more confident on examples it already gets
right. Evaluation always reports the plain cross-entropy.

An optional convolutional front end (``conv_channels`` ``C`` > 0) runs ``conv_layers`` ``J``
one-dimensional convolutions over time before the recurrent core, each of ``conv_width`` ``k``
(odd) steps, centred, with zero padding at both ends of every sequence, each followed by a
ReLU: the core then reads ``C`` features per step, each a learned detector of a local pattern
of ``k`` frames (the convolution-then-LSTM shape of Sainath et al. 2015's CLDNN, and the
convolutional branch of Karim et al. 2018's LSTM-FCN for time-series classification). Steps
beyond a sequence's length are zeroed before each convolution, so a padded batch still gives
each sequence what it would get alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.pooling import POOLINGS, Pooling, check_points, length_mask, pooled_copies
from rnnkit.models.recurrent import (
    CoreRegularisers,
    build_recurrent,
    cell_names,
    check_cell,
    describe_cells,
)
from rnnkit.options import check_int, check_number, check_options, config_from_values, option

EMBEDDINGS = ("learned", "onehot", "vectors")
CELLS = cell_names(horizon=False)  # all but clstm, whose horizon this config does not hold


@dataclass
class ClassifierConfig(CoreRegularisers):
    """The settings of a :class:`SequenceClassifier` (the flags of ``rnnkit train classify``);
    the sizes the data gives, ``num_classes`` K and ``input_size``, go to the model itself.

    ``embedding``: ``learned`` (an ``nn.Embedding`` of ``embedding_size``), ``onehot`` or
    ``vectors`` (real-valued frames, standardised; the task sets it for such data). The
    training-only options are described in the module docstring; ``input_noise``,
    ``input_shift`` and ``time_warp`` are for vectors only.
    """

    cell: str = option("lstm", describe_cells(CELLS), metavar="CELL")
    hidden_size: int = option(128, metavar="H", minimum=1)
    num_layers: int = option(1, name="layers", metavar="N", minimum=1)
    bidirectional: bool = option(False)
    pooling: str = option("last", choices=POOLINGS)
    embedding: str = option("learned", "for text", choices=EMBEDDINGS[:2])
    embedding_size: int = option(64, metavar="E", minimum=1)
    dropout: float = option(0.0, metavar="P")
    embedding_dropout: float = option(
        0.0, "zero each whole input token (or frame) with probability Q in training", metavar="Q"
    )
    input_noise: float = option(
        0.0,
        "real-valued frames (vowels): add N(0, SIGMA^2) noise to each standardised feature "
        "in training",
        metavar="SIGMA",
    )
    random_crop: float = option(
        0.0,
        "in training, read a random window of each sequence that cuts away up to the share C "
        "of it (0: whole sequences)",
        metavar="C",
    )
    input_shift: float = option(
        0.0,
        "real-valued frames: add one N(0, RHO^2) offset per sequence to all its standardised "
        "frames in training",
        metavar="RHO",
    )
    conv_channels: int = option(
        0,
        "a convolutional front end: C channels of 1-d convolutions over time, each with a "
        "ReLU, before the recurrent layer (0: none)",
        metavar="C",
        minimum=0,
    )
    conv_width: int = option(3, "odd: steps each convolution reads", metavar="K", minimum=1)
    conv_layers: int = option(1, "convolutions in the front end", metavar="J", minimum=1)
    time_warp: float = option(
        0.0,
        "real-valued frames: in training, resample each sequence by linear interpolation to "
        "between 1-W and 1+W times its length (0: as recorded)",
        metavar="W",
    )
    pool_points: int = option(
        5,
        "--pooling points: read the states at K evenly spaced steps of each sequence",
        metavar="K",
    )
    label_smoothing: float = option(
        0.0,
        "train towards 1-E+E/K on the true class and E/K on the others (0: one-hot)",
        metavar="E",
    )

    def validate(self) -> None:
        """Each setting alone (``check_input`` checks them against the kind of input)."""
        check_cell(self.cell, CELLS, "the classifier")
        self.check_regularisers()
        check_options(self)
        if self.conv_width % 2 == 0:
            raise ValueError(f"conv_width must be odd (a centred window), got {self.conv_width}")
        for name, value, allowed in (
            ("embedding", self.embedding, EMBEDDINGS),
            ("pooling", self.pooling, POOLINGS),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
        check_points(self.pool_points)
        if self.pool_points != 5 and self.pooling != "points":
            raise ValueError(
                f"pool_points applies to pooling 'points' only (pooling is {self.pooling!r})"
            )
        for name in ("dropout", "embedding_dropout", "random_crop", "time_warp", "label_smoothing"):
            check_number(name, getattr(self, name), below_one=True)
        for name in ("input_noise", "input_shift"):
            check_number(name, getattr(self, name), below_one=False)

    def check_input(self) -> None:
        """The options for real-valued input are refused for token input."""
        if self.embedding == "vectors":
            return
        for name in ("input_noise", "input_shift"):
            if getattr(self, name) > 0:
                raise ValueError(
                    f"{name} is for real-valued (vector) input; token input has "
                    "embedding_dropout instead"
                )
        if self.time_warp > 0:
            raise ValueError(
                "time_warp is for real-valued (vector) input: token ids cannot be interpolated; "
                "token input has random_crop and embedding_dropout instead"
            )

    @property
    def output_size(self) -> int:
        """``H'``, the features of each step the recurrent core outputs: ``2H`` when
        bidirectional."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    @property
    def pooled_size(self) -> int:
        """The features of the pooled vector the head reads: ``H'`` (``3H'`` for concat,
        ``K H'`` for points)."""
        return self.output_size * pooled_copies(self.pooling, self.pool_points)


def classifier_dict(config: ClassifierConfig, num_classes: int, input_size: int) -> dict:
    """The sizes and the config of a classifier, as a checkpoint's metadata holds them
    (``SequenceClassifier.from_dict`` builds it again)."""
    return {"num_classes": num_classes, "input_size": input_size, **asdict(config)}


class SequenceClassifier(nn.Module):
    """Embedding -> recurrent core -> pooling -> dropout -> linear head (module docstring).

    ``forward(inputs, lengths, targets=None) -> (logits (N, K), loss or None)``.
    """

    def __init__(self, config: ClassifierConfig, num_classes: int, input_size: int):
        """``num_classes`` K >= 2; ``input_size``: the vocabulary size V for token input
        (``learned``, ``onehot``), the number of features F of each frame for ``vectors``."""
        super().__init__()
        config.validate()
        config.check_input()
        check_int("num_classes", num_classes)
        check_int("input_size", input_size)
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
        self.config, self.num_classes, self.input_size = config, num_classes, input_size
        if config.embedding == "learned":
            self.embedding = nn.Embedding(input_size, config.embedding_size)
        if config.embedding == "vectors":
            self.register_buffer("input_mean", torch.zeros(input_size))
            self.register_buffer("input_std", torch.ones(input_size))
        self.convolutions = nn.ModuleList()
        features = config.embedding_size if config.embedding == "learned" else input_size  # D
        channels = features
        for _ in range(config.conv_layers if config.conv_channels else 0):
            self.convolutions.append(
                nn.Conv1d(
                    channels,
                    config.conv_channels,
                    config.conv_width,
                    padding=config.conv_width // 2,
                )
            )
            channels = config.conv_channels
        self.recurrent = build_recurrent(
            config.cell,
            channels,  # C after a convolutional front end, D without one
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            **config.regularisers(),
        )
        self.pooling = Pooling(
            config.pooling, config.output_size, config.bidirectional, config.pool_points
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.pooled_size, num_classes)

    @classmethod
    def from_dict(cls, values: dict) -> SequenceClassifier:
        """The model (untrained) that ``classifier_dict`` describes; unknown keys are a
        ValueError."""
        values = dict(values)
        sizes = values.pop("num_classes", None), values.pop("input_size", None)
        return cls(config_from_values(ClassifierConfig, values, "classifier"), *sizes)

    def set_input_scale(self, mean: Tensor, std: Tensor) -> None:
        """Standardise vector input with these per-feature statistics (of the train split);
        features with std 0 are left unscaled."""
        self.input_mean.copy_(torch.as_tensor(mean, dtype=self.input_mean.dtype))
        std = torch.as_tensor(std, dtype=self.input_std.dtype)
        self.input_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def embed(self, inputs: Tensor) -> Tensor:
        """Token ids (N, T) or vectors (N, T, F) -> the core's input x (N, T, D)."""
        kind = self.config.embedding
        if kind == "vectors":
            if not inputs.is_floating_point() or inputs.dim() != 3:
                raise ValueError(f"vector input must be float (N, T, F), got {_describe(inputs)}")
            x = (inputs - self.input_mean) / self.input_std  # (N, T, F)
            if self.training and self.config.input_noise > 0:
                x = x + self.config.input_noise * torch.randn_like(x)
            if self.training and self.config.input_shift > 0:
                shift = torch.randn(x.shape[0], 1, x.shape[2], dtype=x.dtype, device=x.device)
                x = x + self.config.input_shift * shift  # one offset per sequence
            return x
        if inputs.dtype != torch.long or inputs.dim() != 2:
            raise ValueError(f"token input must be int64 ids (N, T), got {_describe(inputs)}")
        if kind == "learned":
            return self.embedding(inputs)  # (N, T, E)
        return F.one_hot(inputs, self.input_size).float()  # (N, T, V)

    def drop_steps(self, x: Tensor) -> Tensor:
        """Whole-step dropout of x (N, T, D) in training (``embedding_dropout``); identity in
        evaluation or when it is 0."""
        q = self.config.embedding_dropout
        if not self.training or q == 0:
            return x
        keep = torch.empty(x.shape[0], x.shape[1], 1, dtype=x.dtype, device=x.device)
        return x * keep.bernoulli_(1.0 - q) / (1.0 - q)  # (N, T, D)

    def crop(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """A random window of each sequence in training (``random_crop``): the windows moved
        to the front of a (N, T', ...) batch, and their lengths; identity otherwise."""
        c = self.config.random_crop
        if not self.training or c == 0:
            return inputs, lengths
        shortest = torch.ceil((1 - c) * lengths.double()).long().clamp(1)  # (N,)
        spare = lengths - shortest + 1
        kept = shortest + (torch.rand(len(lengths), dtype=torch.float64) * spare).long()
        start = (torch.rand(len(lengths), dtype=torch.float64) * (lengths - kept + 1)).long()
        steps = int(kept.max())
        positions = (start[:, None] + torch.arange(steps)[None]).clamp(max=inputs.shape[1] - 1)
        positions = positions.to(inputs.device)  # (N, T'); beyond a window: padding, masked
        if inputs.dim() == 3:
            positions = positions.unsqueeze(2).expand(-1, -1, inputs.shape[2])
        return inputs.gather(1, positions), kept

    def warp(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Each vector sequence resampled in time in training (``time_warp``): a (N, T', F)
        batch of the resampled sequences, and their lengths; identity otherwise."""
        w = self.config.time_warp
        if not self.training or w == 0:
            return inputs, lengths
        scale = 1 - w + 2 * w * torch.rand(len(lengths), dtype=torch.float64)  # (N,)
        new = torch.round(lengths.double() * scale).long().clamp(1)  # (N,) M
        steps = int(new.max())
        j = torch.arange(steps, dtype=torch.float64)[None]  # (1, T')
        stride = (lengths - 1).double() / (new - 1).clamp(1).double()  # (N,)
        where = (j * stride[:, None]).clamp(max=(lengths - 1).double()[:, None])  # (N, T')
        below = where.floor().long()
        above = (below + 1).clamp(max=(lengths - 1)[:, None])
        frac = (where - below.double()).to(inputs.dtype).to(inputs.device).unsqueeze(2)
        features = inputs.shape[2]

        def rows(index: Tensor) -> Tensor:
            index = index.to(inputs.device).unsqueeze(2).expand(-1, -1, features)
            return inputs.gather(1, index)  # (N, T', F)

        return rows(below) * (1 - frac) + rows(above) * frac, new

    def convolve(self, x: Tensor, lengths: Tensor) -> Tensor:
        """The convolutional front end: x (N, T, D) -> (N, T, C); identity without one.
        Padded steps are zeroed before each convolution, as if each sequence ended there."""
        if not self.convolutions:
            return x
        real = length_mask(lengths.to(x.device), x.shape[1]).unsqueeze(1)  # (N, 1, T)
        y = x.transpose(1, 2)  # (N, D, T): Conv1d's layout
        for convolution in self.convolutions:
            y = torch.relu(convolution(y.masked_fill(~real, 0.0)))  # (N, C, T)
        return y.transpose(1, 2)  # (N, T, C)

    def forward(
        self, inputs: Tensor, lengths: Tensor, targets: Tensor | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Logits of each sequence's class, and the mean cross-entropy when ``targets`` (N,)
        are given. ``lengths`` (N,) are the true lengths (>= 1) of the padded ``inputs``."""
        lengths = torch.as_tensor(lengths, dtype=torch.long, device="cpu")
        inputs, lengths = self.crop(inputs, lengths)
        inputs, lengths = self.warp(inputs, lengths)
        x = self.dropout(self.drop_steps(self.embed(inputs)))  # (N, T, D)
        x = self.convolve(x, lengths)  # (N, T, C) with a front end, else unchanged
        outputs, _ = self.recurrent(x, lengths=lengths)  # (N, T, H')
        pooled = self.pooling(outputs, lengths)  # (N, H')
        logits = self.head(self.dropout(pooled)).float()  # (N, K)
        smoothing = self.config.label_smoothing if self.training else 0.0
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets, label_smoothing=smoothing)
        return logits, loss


def _describe(tensor: object) -> str:
    if isinstance(tensor, Tensor):
        return f"{tensor.dtype} {tuple(tensor.shape)}"
    return type(tensor).__name__
