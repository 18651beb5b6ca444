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

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.pooling import POOLINGS, Pooling, check_points, length_mask, pooled_copies
from rnnkit.models.recurrent import build_recurrent, cell_names, check_cell

EMBEDDINGS = ("learned", "onehot", "vectors")
CELLS = cell_names(horizon=False)  # all but clstm, whose horizon this config does not hold


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass
class ClassifierConfig:
    """Everything needed to rebuild a :class:`SequenceClassifier` (saved beside its weights).

    Attributes:
        num_classes: ``K``.
        input_size: the vocabulary size ``V`` for token input (``learned``, ``onehot``), the
            number of features ``F`` of each frame for ``vectors``.
        embedding: ``learned`` (an ``nn.Embedding`` of ``embedding_size``), ``onehot`` or
            ``vectors`` (real-valued frames, standardised).
        cell, hidden_size, num_layers, bidirectional: the recurrent core.
        pooling: one of ``last``, ``mean``, ``max``, ``attention``, ``concat``, ``points``.
        pool_points: ``K`` >= 2, the evenly spaced steps ``points`` pooling reads.
        dropout: probability in [0, 1).
        embedding_dropout: probability in [0, 1) that a whole input step is zeroed in training.
        input_noise: standard deviation (>= 0) of the Gaussian noise added to standardised
            vector input in training; 0 for token input.
        input_shift: standard deviation (>= 0) of one Gaussian offset per sequence, added to
            every standardised frame of it in training; 0 for token input.
        random_crop: in [0, 1): the largest share of a sequence that a training window cuts
            away (0: whole sequences).
        time_warp: in [0, 1): training sequences are resampled to between ``1 - w`` and
            ``1 + w`` times their length (0: as they are); vector input only.
        label_smoothing: in [0, 1): the share of the training target spread evenly over
            all classes (0: one-hot).
        conv_channels: ``C``, the channels of the convolutional front end (0: none).
        conv_width: ``k``, odd: the steps each convolution reads.
        conv_layers: ``J``, how many convolutions (each with a ReLU) run one after another.
    """

    num_classes: int
    input_size: int
    embedding: str = "learned"
    embedding_size: int = 64
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    pooling: str = "last"
    dropout: float = 0.0
    embedding_dropout: float = 0.0
    input_noise: float = 0.0
    random_crop: float = 0.0
    input_shift: float = 0.0
    conv_channels: int = 0
    conv_width: int = 3
    conv_layers: int = 1
    time_warp: float = 0.0
    pool_points: int = 5
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "num_classes",
            "input_size",
            "embedding_size",
            "hidden_size",
            "num_layers",
            "conv_width",
            "conv_layers",
        ):
            _check_positive_int(name, getattr(self, name))
        channels = self.conv_channels
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 0:
            raise ValueError(
                f"conv_channels must be an integer >= 0 (0: no convolution), got {channels!r}"
            )
        if self.conv_width % 2 == 0:
            raise ValueError(f"conv_width must be odd (a centred window), got {self.conv_width}")
        check_points(self.pool_points)
        if self.num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {self.num_classes}")
        for name, value, allowed in (
            ("embedding", self.embedding, EMBEDDINGS),
            ("pooling", self.pooling, POOLINGS),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
        check_cell(self.cell, CELLS, "the classifier")
        if not isinstance(self.bidirectional, bool):
            raise ValueError(f"bidirectional must be true or false, got {self.bidirectional!r}")
        for name in ("dropout", "embedding_dropout", "random_crop", "time_warp", "label_smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
            if not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        for name in ("input_noise", "input_shift"):
            noise = getattr(self, name)
            if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {noise!r}")
            if noise > 0 and self.embedding != "vectors":
                raise ValueError(
                    f"{name} is for real-valued (vector) input; token input has "
                    "embedding_dropout instead"
                )
        if self.time_warp > 0 and self.embedding != "vectors":
            raise ValueError(
                "time_warp is for real-valued (vector) input: token ids cannot be interpolated; "
                "token input has random_crop and embedding_dropout instead"
            )

    @property
    def features(self) -> int:
        """``D``, the features of ``x_t`` (the embedding's output)."""
        return self.embedding_size if self.embedding == "learned" else self.input_size

    @property
    def recurrent_input_size(self) -> int:
        """The features of each step the recurrent core reads: ``C`` after a convolutional
        front end, ``D`` without one."""
        return self.conv_channels or self.features

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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ClassifierConfig:
        """The inverse of :meth:`to_dict`; unknown keys are a ValueError."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(
                f"unknown classifier config keys: {', '.join(unknown)}; known: {', '.join(known)}"
            )
        return cls(**data)


class SequenceClassifier(nn.Module):
    """Embedding -> recurrent core -> pooling -> dropout -> linear head (module docstring).

    ``forward(inputs, lengths, targets=None) -> (logits (N, K), loss or None)``.
    """

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        if config.embedding == "learned":
            self.embedding = nn.Embedding(config.input_size, config.embedding_size)
        if config.embedding == "vectors":
            self.register_buffer("input_mean", torch.zeros(config.input_size))
            self.register_buffer("input_std", torch.ones(config.input_size))
        self.convolutions = nn.ModuleList()
        channels = config.features
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
            config.recurrent_input_size,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.pooling = Pooling(
            config.pooling, config.output_size, config.bidirectional, config.pool_points
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.pooled_size, config.num_classes)

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
        return F.one_hot(inputs, self.config.input_size).float()  # (N, T, V)

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
