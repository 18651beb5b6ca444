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

from rnnkit.data.parallel import tokenize
from rnnkit.generation.sampling import generate
from rnnkit.models.seq2seq import DecoderSteps, Seq2Seq
from rnnkit.plots.heatmaps import plot_attention
from rnnkit.tasks import lifecycle
from rnnkit.tasks.seq2seq import (
    TASK_NAME,
    TRANSLATIONS,
    Seq2SeqTask,
    Vocabularies,
    attention_of,
    beam_translate,
    reload_data,
    score_split,
    write_translations,
)
from rnnkit.tasks.seq2seq_config import Seq2SeqTaskConfig

SPLITS = ("train", "val", "test")


@dataclass
class LoadedTranslator:
    """A run's model (eval mode, CPU) with its vocabularies."""

    run_dir: Path
    record: dict
    config: Seq2SeqTaskConfig
    vocabs: Vocabularies
    model: Seq2Seq
    checkpoint: str
    step: int


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


def load_run(run_dir: str | Path, checkpoint: str = "best") -> LoadedTranslator:
    """The model of checkpoint ``best`` (``last`` when there is no best yet) or ``last``."""
    opened = lifecycle.open_checkpoint(run_dir, checkpoint, "seq2seq")
    run_dir, record, config, loaded = opened.run_dir, opened.record, opened.config, opened.loaded
    checkpoint = opened.checkpoint
    vocabs = Vocabularies.load(run_dir, config.data.lowercase)
    try:
        model = Seq2Seq.from_dict(loaded.meta["task"]["model"])
        model.load_state_dict(loaded.section("model"))
    except (KeyError, TypeError, RuntimeError) as error:
        raise ValueError(
            f"checkpoint {loaded.path} does not hold a {TASK_NAME} model: "
            f"{' '.join(str(error).split())}"
        ) from None
    model.eval()
    return LoadedTranslator(run_dir, record, config, vocabs, model, checkpoint, loaded.meta["step"])


@torch.no_grad()
def translate(
    run: LoadedTranslator,
    sentence: str,
    beam_size: int = 5,
    temperature: float | None = None,
    seed: int | None = None,
) -> Translation:
    """Translate one sentence: beam search (``beam_size`` 1 is greedy), or sampling at
    ``temperature`` (then ``beam_size`` is ignored)."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("give a non-empty sentence to translate")
    vocabs, model, decoding = run.vocabs, run.model, run.config.decoding
    tokens = tokenize(sentence, vocabs.lowercase)
    unknown = sorted({w for w in tokens if w not in vocabs.source.stoi})
    source = vocabs.encode_source(sentence)
    if temperature is None:
        ids = beam_translate(model, source, decoding, beam_size)
    else:
        state = model.encode(torch.from_numpy(source).unsqueeze(0), torch.tensor([len(source)]))
        eos = model.eos_id
        ids = generate(
            DecoderSteps(model),
            [model.bos_id],
            decoding.longest(len(source)),
            temperature=temperature,
            seed=seed,
            state=state,
        )
        ids = ids[: ids.index(eos)] if eos in ids else ids
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
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be a positive integer, got {beam_size!r}")
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
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    run = load_run(run_dir, checkpoint)
    data = reload_data(run.record, run.config)
    task = Seq2SeqTask(run.config, data, run.vocabs)
    scores = score_split(task, run.model, split, beam_size)
    path = write_translations(
        run.run_dir / TRANSLATIONS.format(split=split), scores.pop("translations")
    )
    return {
        "task": TASK_NAME,
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
        "data": data.name,
        "direction": data.direction,
        "split": split,
        **scores,
        "translations": str(path),
    }
