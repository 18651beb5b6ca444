"""Translation's text and ids: the two vocabularies, padded batches, and a model's greedy,
beam and sampled decoding of encoded sources (``rnnkit.generation``).

Each side has its own word vocabulary, built on the training split only (``<unk>``,
``<pad>``, ``<bos>``, ``<eos>``, then the words seen ``min_count`` times). A source is its
words' ids (``<eos>`` alone for an empty one), a target ``<bos> y_1 .. y_n <eos>``; decoded
ids come without ``<bos>`` and ``<eos>``, and never hold ``<unk>``, ``<pad>`` or ``<bos>``
(:func:`never_generated`). Decoding runs in eval mode and restores the model's mode after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.buckets import sorted_chunks
from rnnkit.data.parallel import BOS, EOS, ParallelData, build_vocab, detokenize, tokenize
from rnnkit.data.vocab import Vocab
from rnnkit.generation.beam_search import beam_search
from rnnkit.generation.decoding import search_penalty
from rnnkit.generation.sampling import evaluating, generate
from rnnkit.models.seq2seq import DecoderSteps, Seq2Seq

SOURCE_VOCAB, TARGET_VOCAB = "vocab-source.json", "vocab-target.json"
EVAL_BATCH = 128


@dataclass
class Vocabularies:
    """The two sides' vocabularies and how text becomes ids."""

    source: Vocab
    target: Vocab
    lowercase: bool

    @classmethod
    def fit(cls, data: ParallelData, lowercase: bool, min_count: int) -> Vocabularies:
        train = [data.pairs[i] for i in data.splits["train"]]
        source = build_vocab((tokenize(s, lowercase) for s, _ in train), min_count)
        target = build_vocab((tokenize(t, lowercase) for _, t in train), min_count)
        return cls(source, target, lowercase)

    def encode_source(self, text: str) -> np.ndarray:
        ids = [self.source.stoi.get(w, self.source.unk_id) for w in tokenize(text, self.lowercase)]
        return np.asarray(ids or [self.source.stoi[EOS]], dtype=np.int64)

    def encode_target(self, text: str) -> np.ndarray:
        """``<bos> y_1 .. y_n <eos>``."""
        stoi = self.target.stoi
        ids = [stoi.get(w, self.target.unk_id) for w in tokenize(text, self.lowercase)]
        return np.asarray([stoi[BOS], *ids, stoi[EOS]], dtype=np.int64)

    def decode_target(self, ids: Sequence[int]) -> str:
        return detokenize(self.target.itos[i] for i in ids)

    def reference(self, text: str) -> str:
        """A reference as the metrics see it: the text tokenised (lowercased) and joined back."""
        return detokenize(tokenize(text, self.lowercase))

    def save(self, run_dir: Path) -> None:
        self.source.save(run_dir / SOURCE_VOCAB)
        self.target.save(run_dir / TARGET_VOCAB)

    @classmethod
    def load(cls, run_dir: Path, lowercase: bool) -> Vocabularies:
        return cls(
            Vocab.load(run_dir / SOURCE_VOCAB), Vocab.load(run_dir / TARGET_VOCAB), lowercase
        )


def pad_batch(rows: Sequence[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids (N, T) padded with pad_id, lengths (N,))``."""
    lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
    batch = torch.full((len(rows), int(lengths.max())), pad_id, dtype=torch.long)  # (N, T)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = torch.from_numpy(row)
    return batch, lengths


def hypothesis_text(vocabs: Vocabularies, ids: Sequence[int]) -> str:
    """What the metrics score: the output without ``<unk>`` (a word the vocabulary lacks
    cannot match the reference, and ``<unk>`` would count as three tokens)."""
    return vocabs.decode_target([i for i in ids if i != vocabs.target.unk_id])


def never_generated(model: Seq2Seq) -> tuple[int, int, int]:
    """The target ids no decoding may output: ``<unk>``, ``<pad>``, ``<bos>`` (``<eos>``
    ends an output). ``<unk>`` too, as the captioner does (``caption_tensors.NEVER_GENERATED``):
    it is not a word, so it tells a reader nothing and never matches a reference; in its
    place the decoder gives its most likely real word and reads that word on. The
    teacher-forced loss still counts ``<unk>`` targets: they are the reference as encoded."""
    return (Vocab.unk_id, model.pad_id, model.bos_id)


@torch.no_grad()
def translate_ids(
    model: Seq2Seq, sources: Sequence[np.ndarray], decoding, beam_size: int | None = None
) -> list[list[int]]:
    """Output ids (without ``<bos>``/``<eos>``) for encoded sources, in eval mode: batched
    greedy when ``beam_size`` is None, else beam search (``rnnkit.generation``) one source at
    a time. Each source has its own length limit, ``decoding.longest(len(source))``, in a
    batch as alone."""
    outputs: list[list[int]] = [[] for _ in sources]
    with evaluating(model):
        if beam_size is None:
            for chunk in sorted_chunks([len(s) for s in sources], EVAL_BATCH):
                src, lengths = pad_batch([sources[i] for i in chunk], model.pad_id)
                limits = [decoding.longest(len(sources[i])) for i in chunk]
                rows = model.greedy(src, lengths, limits, never_generated(model))
                for i, ids in zip(chunk, rows, strict=True):
                    outputs[i] = ids
        else:
            for i, source in enumerate(sources):
                outputs[i] = beam_translate(model, source, decoding, beam_size)
    return outputs


def beam_translate(model: Seq2Seq, source: np.ndarray, decoding, beam_size: int) -> list[int]:
    """Beam search over one source, in eval mode (no ``<bos>``/``<eos>`` in the result)."""
    src = torch.from_numpy(source).unsqueeze(0)  # (1, S)
    with evaluating(model):
        result = beam_search(
            DecoderSteps(model),
            [model.bos_id],
            decoding.longest(len(source)),
            beam_size=beam_size,
            length_penalty=search_penalty(beam_size, decoding.length_penalty),
            eos_id=model.eos_id,
            state=model.encode(src, torch.tensor([len(source)])),
            suppress_ids=never_generated(model),
        )
    ids = result.ids
    return ids[:-1] if ids and ids[-1] == model.eos_id else ids


def attention_of(model: Seq2Seq, source: np.ndarray, ids: list[int]) -> np.ndarray | None:
    """The attention weights (len(ids) + 1, S), in eval mode, while the decoder reads
    ``<bos> ids`` and predicts ``ids <eos>``; None without attention."""
    src = torch.from_numpy(source).unsqueeze(0)  # (1, S)
    tgt = torch.tensor([[model.bos_id, *ids, model.eos_id]])  # (1, T + 2)
    with evaluating(model):
        weights = model.attention_weights(src, torch.tensor([len(source)]), tgt)
    return None if weights is None else weights[0].float().numpy()


def sampled_translate(
    model: Seq2Seq, source: np.ndarray, decoding, temperature: float, seed: int | None = None
) -> list[int]:
    """A translation of one source sampled at ``temperature``, in eval mode (no
    ``<bos>``/``<eos>``)."""
    with evaluating(model):
        state = model.encode(torch.from_numpy(source).unsqueeze(0), torch.tensor([len(source)]))
        ids = generate(
            DecoderSteps(model),
            [model.bos_id],
            decoding.longest(len(source)),
            temperature=temperature,
            seed=seed,
            state=state,
            suppress_ids=never_generated(model),
        )
    return ids[: ids.index(model.eos_id)] if model.eos_id in ids else ids
