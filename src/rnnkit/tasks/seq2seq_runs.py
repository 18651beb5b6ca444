"""Using a finished (or stopped) translation run: load it, translate with it, evaluate it.

    translate_run("runs/bible", ["In the beginning God created the heaven and the earth."],
                  beam_size=5)         # [Translation(text="en el principio ...", ...)]
    evaluate_run("runs/bible", beam_size=5)   # test BLEU / chrF, greedy and beam

``translate_run`` needs only the run directory (``config.json``, the two vocabularies, a
checkpoint); ``evaluate_run`` also reloads the run's data and checks it is the one trained on.
``translation_heatmap`` draws one translation's attention weights as a heatmap
(``rnnkit.plots.heatmaps.plot_attention``): source tokens across, output tokens down, each row
(one output token) summing to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.parallel import SPLITS, tokenize
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.options import check_int
from rnnkit.plots.heatmaps import plot_attention
from rnnkit.tasks import encoder_decoder
from rnnkit.tasks.encoder_decoder import LoadedRun
from rnnkit.tasks.seq2seq import (
    TASK_NAME,
    TRANSLATIONS,
    Seq2SeqTask,
    reload_data,
    score_split,
    write_translations,
)
from rnnkit.tasks.seq2seq_text import (
    Vocabularies,
    attention_of,
    beam_translate,
    sampled_translate,
)


@dataclass
class Translation:
    """One translated sentence: the output text and ids, the source tokens as the model saw
    them, the source words it did not know (read as ``<unk>``), and the attention weights
    (output tokens + ``<eos>``, source tokens), None without attention."""

    text: str
    ids: list[int]
    source_tokens: list[str]
    unknown_words: list[str]
    weights: np.ndarray | None = field(default=None, repr=False)


def load_run(run_dir: str | Path, checkpoint: str = "best") -> LoadedRun:
    """The model of checkpoint ``best`` (``last`` when there is no best yet) or ``last``,
    with the run's :class:`Vocabularies` as ``vocab``."""

    def read_vocab(run_dir: Path, config) -> Vocabularies:
        return Vocabularies.load(run_dir, config.data.lowercase)

    return encoder_decoder.load_run(run_dir, checkpoint, TASK_NAME, Seq2Seq, read_vocab)


@torch.no_grad()
def translate(
    run: LoadedRun,
    sentence: str,
    beam_size: int = 5,
    temperature: float | None = None,
    seed: int | None = None,
) -> Translation:
    """Translate one sentence: beam search (``beam_size`` 1 is greedy), or sampling at
    ``temperature`` (then ``beam_size`` is ignored)."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("give a non-empty sentence to translate")
    vocabs, model, decoding = run.vocab, run.model, run.config.decoding
    tokens = tokenize(sentence, vocabs.lowercase)
    unknown = sorted({w for w in tokens if w not in vocabs.source.stoi})
    source = vocabs.encode_source(sentence)
    if temperature is None:
        ids = beam_translate(model, source, decoding, beam_size)
    else:
        ids = sampled_translate(model, source, decoding, temperature, seed)
    weights = attention_of(model, source, ids)
    source_tokens = [vocabs.source.itos[i] for i in source]
    return Translation(vocabs.decode_target(ids), ids, source_tokens, unknown, weights)


def translate_run(
    run_dir: str | Path,
    sentences: list[str],
    beam_size: int = 5,
    temperature: float | None = None,
    seed: int | None = None,
    checkpoint: str = "best",
) -> list[Translation]:
    """:func:`translate` for every sentence, with the run's best checkpoint."""
    check_int("beam_size", beam_size)
    run = load_run(run_dir, checkpoint)
    return [translate(run, sentence, beam_size, temperature, seed) for sentence in sentences]


def translation_heatmap(translation: Translation, vocabs: Vocabularies, path, title="") -> Path:
    """The heatmap PNG of one :class:`Translation` (it needs attention weights)."""
    if translation.weights is None:
        raise ValueError("this model has no attention (attention none): there is no heatmap")
    outputs = [vocabs.target.itos[i] for i in translation.ids] + ["<eos>"]
    return plot_attention(translation.weights, translation.source_tokens, outputs, path, title)


def evaluate_run(
    run_dir: str | Path, split: str = "test", beam_size: int | None = 5, checkpoint: str = "best"
) -> dict:
    """Loss, greedy and beam BLEU / chrF on ``split``; the translations go to
    ``translations-<split>.tsv`` in the run directory."""
    encoder_decoder.check_split(split, SPLITS)
    run = load_run(run_dir, checkpoint)
    data = reload_data(run.record, run.config)
    task = Seq2SeqTask(run.config, data, run.vocab)
    scores = score_split(task, run.model, split, beam_size)
    translations = scores.pop("translations")
    path = write_translations(run.run_dir / TRANSLATIONS.format(split=split), translations)
    head = encoder_decoder.evaluation_head(run, split, data.name)
    where = {**head, "direction": data.direction, "split": split}
    return {**where, **scores, "translations": str(path)}
