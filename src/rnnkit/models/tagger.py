r"""A sequence tagger (many-to-many, aligned): one label per token.

    x_t = [ E[w_t] ; c(w_t) ]                                  (N, T, D)   word (+ characters)
    h_t = [ forward_t ; backward_t ]                            (N, T, H')  H' = 2H by default
    o_t = W dropout(h_t) + b                                    (N, T, K)   raw logits per token
    loss = mean over the real tokens of -log softmax(o_t)[y_t]  nats per token

With ``crf=True`` the logits are the emission scores of a linear-chain CRF
(``rnnkit.nn.crf``, as in Lample et al. 2016): the loss is ``-log p(y_1..y_T | x)`` summed
over the sentences and divided by the number of real tokens, tags are decoded together
(Viterbi), and the per-token probabilities are the CRF's marginals.

``c(w)`` are optional character-level features (Lample et al. 2016, "Neural Architectures for
Named Entity Recognition", section 4.1): a small bidirectional LSTM reads the characters of
the word, and its two final states are concatenated, so a word never seen in training still
has a shape (capitals, suffixes, digits). The recurrent core over the words is any of
``rnnkit.models.recurrent``'s cores but clstm (``CELLS``), bidirectional unless asked otherwise.

Batches are padded: word ids (N, T) with ``lengths`` (N,), and for character features the
character ids (N, T, C) with ``char_lengths`` (N, T) (0 for padded words). Padded words and
characters are never read (packed sequences; the loss is masked), so a padded batch gives
every sentence what it gets alone (``tests/models/test_tagger.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.pooling import length_mask
from rnnkit.models.recurrent import (
    CoreRegularisers,
    build_recurrent,
    cell_names,
    check_cell,
    describe_cells,
)
from rnnkit.nn.crf import LinearChainCRF
from rnnkit.options import check_int, check_number, check_options, config_from_values, option

CELLS = cell_names(horizon=False)  # all but clstm, whose horizon this config does not hold


@dataclass
class TaggerConfig(CoreRegularisers):
    """The settings of a :class:`SequenceTagger` (the flags of ``rnnkit train tag``); the
    sizes the data gives (tags, words, characters) go to the model itself."""

    cell: str = option("lstm", describe_cells(CELLS), metavar="CELL")
    hidden_size: int = option(128, metavar="H", minimum=1)
    num_layers: int = option(1, name="layers", metavar="N", minimum=1)
    bidirectional: bool = option(True)
    embedding_size: int = option(64, metavar="E", minimum=1)
    char_features: bool = option(False, "a character BiLSTM over each word (Lample et al. 2016)")
    char_embedding_size: int = option(16, metavar="E", minimum=1)
    char_hidden_size: int = option(25, metavar="H", minimum=1)
    dropout: float = option(0.0, metavar="P")
    crf: bool = option(
        False,
        "a linear-chain CRF output layer: tags decoded together (Viterbi), BIO tags "
        "constrained to valid sequences (Lample et al. 2016)",
    )

    def validate(self) -> None:
        check_options(self)
        check_cell(self.cell, CELLS, "the tagger")
        self.check_regularisers()
        check_number("dropout", self.dropout)

    @property
    def features(self) -> int:
        """``D``: the word embedding plus, with character features, ``2 * char_hidden_size``."""
        extra = 2 * self.char_hidden_size if self.char_features else 0
        return self.embedding_size + extra


class CharFeatures(nn.Module):
    """A word's characters -> the final states of a character BiLSTM, [forward ; backward]."""

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.recurrent = build_recurrent("lstm", embedding_size, hidden_size, bidirectional=True)

    def forward(self, chars: Tensor, char_lengths: Tensor) -> Tensor:
        """(N, T, C) character ids, (N, T) lengths (0: no word) -> (N, T, 2 Hc)."""
        batch, steps, _ = chars.shape
        real = char_lengths > 0  # (N, T)
        words = chars[real]  # (M, C): the real words only
        features = chars.new_zeros((batch, steps, 2 * self.hidden_size), dtype=torch.float32)
        if words.shape[0] == 0:
            return features
        lengths = char_lengths[real].to("cpu", torch.long)  # (M,)
        _, (h_n, _) = self.recurrent(self.embedding(words), lengths=lengths)  # h_n (2, M, Hc)
        features = features.to(h_n.dtype)
        features[real] = torch.cat([h_n[0], h_n[1]], dim=1)  # (M, 2 Hc)
        return features


def tagger_dict(
    config: TaggerConfig, num_tags: int, vocab_size: int, char_vocab_size: int | None
) -> dict:
    """The sizes and the config of a tagger, as a checkpoint's metadata holds them
    (``SequenceTagger.from_dict`` builds it again)."""
    sizes = {"num_tags": num_tags, "vocab_size": vocab_size, "char_vocab_size": char_vocab_size}
    return {**sizes, **asdict(config)}


class SequenceTagger(nn.Module):
    """Word embedding (+ character features) -> recurrent core -> dropout -> linear, per token.

    ``forward(words, lengths, chars=None, char_lengths=None, targets=None)
    -> (logits (N, T, K), loss or None)``.
    """

    def __init__(
        self,
        config: TaggerConfig,
        num_tags: int,
        vocab_size: int,
        char_vocab_size: int | None = None,
    ):
        """``num_tags`` K, ``vocab_size`` the words' and (with ``char_features``)
        ``char_vocab_size`` the characters' vocabulary sizes."""
        super().__init__()
        config.validate()
        check_int("num_tags", num_tags)
        check_int("vocab_size", vocab_size)
        if config.char_features:
            check_int("char_vocab_size", char_vocab_size)
        else:
            char_vocab_size = None
        self.config, self.num_tags = config, num_tags
        self.vocab_size, self.char_vocab_size = vocab_size, char_vocab_size
        self.embedding = nn.Embedding(vocab_size, config.embedding_size)
        if config.char_features:
            self.chars = CharFeatures(
                char_vocab_size, config.char_embedding_size, config.char_hidden_size
            )
        self.recurrent = build_recurrent(
            config.cell,
            config.features,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            **config.regularisers(),
        )
        self.dropout = nn.Dropout(config.dropout)
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(config.hidden_size * directions, num_tags)
        self.crf = LinearChainCRF(num_tags) if config.crf else None

    @classmethod
    def from_dict(cls, values: dict) -> SequenceTagger:
        """The model (untrained) that ``tagger_dict`` describes; unknown keys are a ValueError.
        A dict without ``char_features`` (an older checkpoint's) has them when it has a
        ``char_vocab_size``."""
        values = dict(values)
        sizes = [values.pop(name, None) for name in ("num_tags", "vocab_size", "char_vocab_size")]
        values.setdefault("char_features", sizes[2] is not None)
        return cls(config_from_values(TaggerConfig, values, "tagger"), *sizes)

    def forward(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None = None,
        char_lengths: Tensor | None = None,
        targets: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Logits (CRF: emission scores) for every token; with ``targets`` (N, T), the loss in
        nats per real token (what ``targets`` holds in the padding does not matter)."""
        if words.dtype != torch.long or words.dim() != 2:
            raise ValueError(f"words must be int64 ids (N, T), got {words.dtype} {words.shape}")
        lengths = torch.as_tensor(lengths, dtype=torch.long, device="cpu")
        x = self.embedding(words)  # (N, T, E)
        if self.config.char_features:
            if chars is None or char_lengths is None:
                raise ValueError("this tagger reads characters: pass chars and char_lengths")
            x = torch.cat([x, self.chars(chars, char_lengths).to(x.dtype)], dim=2)  # (N, T, D)
        outputs, _ = self.recurrent(self.dropout(x), lengths=lengths)  # (N, T, H')
        logits = self.head(self.dropout(outputs)).float()  # (N, T, K)
        if targets is None:
            return logits, None
        mask = length_mask(lengths, words.shape[1]).to(logits.device)  # (N, T)
        if self.crf is not None:
            nll = -self.crf.log_likelihood(logits, targets, mask).sum()
            return logits, nll / mask.sum()
        return logits, F.cross_entropy(logits[mask], targets[mask])  # (tokens, K)

    @torch.no_grad()
    def decode(self, logits: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(log-probabilities (N, T, K), tags (N, T))`` from ``forward``'s logits: softmax
        and argmax per token, or with a CRF its log-marginals and the Viterbi sequence. The
        padding holds log-probability 0 and tag 0."""
        lengths = torch.as_tensor(lengths, dtype=torch.long, device="cpu")
        mask = length_mask(lengths, logits.shape[1]).to(logits.device)  # (N, T)
        if self.crf is None:
            log_probs = torch.log_softmax(logits.float(), dim=2)
            tags = log_probs.argmax(dim=2)
        else:
            log_probs = self.crf.marginals(logits, mask).clamp_min(1e-30).log()
            tags = self.crf.decode(logits, mask)
        keep = mask.unsqueeze(2)
        return torch.where(keep, log_probs, 0.0), tags * mask
