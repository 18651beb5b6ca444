"""Translation (sequence to sequence) as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.seq2seq import train
    from rnnkit.tasks.seq2seq_config import resolve_config
    result = train(resolve_config({"model.attention": "additive"}), "runs/bible")

The pairs come from ``rnnkit.data.parallel.load_parallel`` (the Bible's verses or a user's
TSV), split once with a seed; each side has its own word vocabulary, built on the training
split only (``<unk>``, ``<pad>``, ``<bos>``, ``<eos>``, then the words seen ``min_count``
times). The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: batches of similar source length (``rnnkit.data.buckets.LengthBuckets``),
  resumable at any step; each batch carries its global step for the teacher-forcing schedule;
- ``training_step``: the mean cross-entropy per target token (``Seq2Seq.forward``);
- ``evaluate``: teacher-forced loss, and greedy BLEU and chrF, on the validation split.

At the end the best checkpoint translates the test split greedily (batched) and with beam
search; BLEU and chrF (sacrebleu) of both go into the summary, the translations into
``translations-test.tsv`` and the attention of the first examples into
``plots/attention-test-<k>.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.atomic import atomic_write_text
from rnnkit.data.buckets import LengthBuckets, sorted_chunks
from rnnkit.data.parallel import (
    BOS,
    EOS,
    PAD,
    SPLITS,
    ParallelData,
    build_vocab,
    detokenize,
    load_parallel,
    tokenize,
)
from rnnkit.data.vocab import Vocab
from rnnkit.evaluation.bleu import corpus_bleu, corpus_chrf, signatures
from rnnkit.generation.beam_search import beam_search
from rnnkit.models.seq2seq import DecoderSteps, Seq2Seq
from rnnkit.plots.heatmaps import plot_attention
from rnnkit.tasks import lifecycle
from rnnkit.tasks.encoder_decoder import (
    BLEU_GAP,
    LEGACY_BLEU_GAP,
    bleu_chrf,
    check_fingerprint,
    eval_metric,
)
from rnnkit.tasks.lifecycle import slug
from rnnkit.tasks.seq2seq_config import Seq2SeqTaskConfig
from rnnkit.tasks.spec import RunResult, TaskSpec, parameter_count, run_figures, run_head
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer

TASK_NAME = "seq2seq"
SOURCE_VOCAB, TARGET_VOCAB = "vocab-source.json", "vocab-target.json"
TRANSLATIONS = "translations-{split}.tsv"
EVAL_BATCH = 128
SAMPLE_EXAMPLES = 3


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


class Seq2SeqTask:
    """Hooks for the ``Trainer``: translation of padded, bucketed batches."""

    loss_unit = "nats/token"

    def __init__(self, config: Seq2SeqTaskConfig, data: ParallelData, vocabs: Vocabularies):
        self.config, self.data, self.vocabs = config, data, vocabs
        self.eval_metric = eval_metric(config.selection)
        self.sources = [vocabs.encode_source(s) for s, _ in data.pairs]
        self.targets = [vocabs.encode_target(t) for _, t in data.pairs]
        self.splits = data.splits
        for name in ("train", "val"):
            if len(self.splits[name]) == 0:
                raise ValueError(f"{data.name} has an empty {name} split; it needs pairs")
        train_lengths = [len(self.sources[i]) for i in self.splits["train"]]
        self.buckets = LengthBuckets(train_lengths, config.data.batch_size, config.trainer.seed)
        self.pad_id = vocabs.target.stoi[PAD]

    def model_sizes(self) -> dict:
        """What the model needs from the data: the vocabularies' sizes and special ids."""
        stoi = self.vocabs.target.stoi
        return {
            "source_vocab_size": len(self.vocabs.source),
            "target_vocab_size": len(self.vocabs.target),
            "pad_id": stoi[PAD],
            "bos_id": stoi[BOS],
            "eos_id": stoi[EOS],
        }

    def build_model(self) -> Seq2Seq:
        return Seq2Seq(self.config.model, **self.model_sizes())

    def collate(self, indices: Sequence[int]):
        src, lengths = pad_batch([self.sources[i] for i in indices], self.pad_id)
        tgt, _ = pad_batch([self.targets[i] for i in indices], self.pad_id)
        return src, lengths, tgt

    def train_batches(self, start_step: int):
        train = self.splits["train"]
        for step, positions in enumerate(self.buckets.batches(start_step), start=start_step):
            yield (*self.collate(train[positions]), step)

    def training_step(self, model: Seq2Seq, batch, carry) -> StepOutput:
        src, lengths, tgt, step = batch
        ratio = self.config.teacher_forcing.ratio(step)
        _, loss = model(src, lengths, tgt, teacher_forcing=ratio)
        tokens = int((tgt[:, 1:] != self.pad_id).sum())
        return StepOutput(loss, None, tokens)

    def evaluate(self, model: Seq2Seq) -> dict[str, float]:
        loss = self.loss(model, "val")
        bleu, chrf = bleu_chrf(*self.translate_split(model, "val"))
        figures = {"val_loss": loss, "val_bleu": bleu, "val_chrf": chrf}
        return {**figures, LEGACY_BLEU_GAP: 100.0 - bleu, BLEU_GAP: 100.0 - bleu}

    @torch.no_grad()
    def loss(self, model: Seq2Seq, split: str) -> float:
        """Teacher-forced cross-entropy per target token on ``split``."""
        indices = self.splits[split]
        total, tokens = 0.0, 0
        for chunk in sorted_chunks([len(self.sources[i]) for i in indices], EVAL_BATCH):
            src, lengths, tgt = self.collate(indices[chunk])
            _, mean = model(src, lengths, tgt)
            count = int((tgt[:, 1:] != self.pad_id).sum())
            total, tokens = total + float(mean) * count, tokens + count
        return total / tokens

    @torch.no_grad()
    def translate_split(
        self, model: Seq2Seq, split: str, beam_size: int | None = None
    ) -> tuple[list[str], list[str]]:
        """Hypotheses (greedy, batched; or beam search, one source at a time) and references."""
        indices = self.splits[split]
        outputs = translate_ids(
            model, [self.sources[i] for i in indices], self.config.decoding, beam_size
        )
        hypotheses = [hypothesis_text(self.vocabs, ids) for ids in outputs]
        references = [self.vocabs.reference(self.data.pairs[i][1]) for i in indices]
        return hypotheses, references

    def sample(self, model: Seq2Seq) -> str:
        """Greedy translations of the first validation pairs."""
        indices = self.splits["val"][:SAMPLE_EXAMPLES]
        outputs = translate_ids(model, [self.sources[i] for i in indices], self.config.decoding)
        lines = []
        for i, ids in zip(indices, outputs, strict=True):
            source, target = self.data.pairs[i]
            lines += [f"source: {source}", f"output: {self.vocabs.decode_target(ids)}"]
            lines += [f"reference: {target}", ""]
        return "\n".join(lines).rstrip()

    def data_position(self, step: int) -> dict:
        return self.buckets.position(step)

    def checkpoint_metadata(self) -> dict:
        return {"name": TASK_NAME, "model": {**asdict(self.config.model), **self.model_sizes()}}


@torch.no_grad()
def translate_ids(
    model: Seq2Seq, sources: Sequence[np.ndarray], decoding, beam_size: int | None = None
) -> list[list[int]]:
    """Output ids (without ``<bos>``/``<eos>``) for encoded sources: batched greedy when
    ``beam_size`` is None, else beam search (``rnnkit.generation``) one source at a time."""
    was_training = model.training
    model.eval()
    pad_id = model.pad_id
    outputs: list[list[int]] = [[] for _ in sources]
    try:
        if beam_size is None:
            for chunk in sorted_chunks([len(s) for s in sources], EVAL_BATCH):
                src, lengths = pad_batch([sources[i] for i in chunk], pad_id)
                longest = decoding.longest(int(lengths.max()))
                for i, ids in zip(chunk, model.greedy(src, lengths, longest), strict=True):
                    outputs[i] = ids
        else:
            for i, source in enumerate(sources):
                outputs[i] = beam_translate(model, source, decoding, beam_size)
    finally:
        model.train(was_training)
    return outputs


def beam_translate(model: Seq2Seq, source: np.ndarray, decoding, beam_size: int) -> list[int]:
    """Beam search over one source (no ``<bos>``/``<eos>`` in the result)."""
    src = torch.from_numpy(source).unsqueeze(0)  # (1, S)
    state = model.encode(src, torch.tensor([len(source)]))
    result = beam_search(
        DecoderSteps(model),
        [model.bos_id],
        decoding.longest(len(source)),
        beam_size=beam_size,
        length_penalty=decoding.length_penalty,
        eos_id=model.eos_id,
        state=state,
    )
    ids = result.ids
    return ids[:-1] if ids and ids[-1] == model.eos_id else ids


def attention_of(model: Seq2Seq, source: np.ndarray, ids: list[int]) -> np.ndarray | None:
    """The attention weights (len(ids) + 1, S) while the decoder reads ``<bos> ids`` and
    predicts ``ids <eos>``; None without attention."""
    src = torch.from_numpy(source).unsqueeze(0)  # (1, S)
    tgt = torch.tensor([[model.bos_id, *ids, model.eos_id]])  # (1, T + 2)
    weights = model.attention_weights(src, torch.tensor([len(source)]), tgt)
    return None if weights is None else weights[0].float().numpy()


def save_heatmaps(model: Seq2Seq, task: Seq2SeqTask, split: str, folder: Path, count: int):
    """Heatmaps of the greedy translations of the first ``count`` pairs of ``split``."""
    if model.attention is None:
        return []
    indices = task.splits[split][:count]
    sources = [task.sources[i] for i in indices]
    paths = []
    for k, (i, ids) in enumerate(
        zip(indices, translate_ids(model, sources, task.config.decoding), strict=True)
    ):
        source = task.sources[i]
        source_tokens = [task.vocabs.source.itos[j] for j in source]
        outputs = [task.vocabs.target.itos[j] for j in ids] + ["<eos>"]
        weights = attention_of(model, source, ids)
        title = f"{task.data.origins[i]} (greedy)"
        path = folder / f"attention-{split}-{k + 1}.png"
        paths.append(plot_attention(weights, source_tokens, outputs, path, title))
    return paths


# -- the data, as recorded in config.json ------------------------------------------------------


def load_data(config: Seq2SeqTaskConfig) -> ParallelData:
    d = config.data
    return load_parallel(d.dataset, d.direction, d.max_words, d.split_seed, d.val_size, d.test_size)


def data_record(config: Seq2SeqTaskConfig, data: ParallelData) -> dict:
    path = Path(config.data.dataset)
    return {
        "dataset": str(path.resolve()) if path.is_file() else config.data.dataset,
        "name": data.name,
        "direction": data.direction,
        "sizes": {name: int(len(data.splits[name])) for name in SPLITS},
        "fingerprint": data.fingerprint(),
        "card": data.card,
    }


def reload_data(record: dict, config: Seq2SeqTaskConfig) -> ParallelData:
    """The pairs a run was trained on, or a ValueError if they have changed since."""
    config.data.dataset = record["data"]["dataset"]
    data = load_data(config)
    recorded = record["data"]
    check_fingerprint(
        data.fingerprint(), recorded["fingerprint"], recorded["dataset"], "pairs or split"
    )
    return data


# -- scoring ------------------------------------------------------------------------------------


def score_split(task: Seq2SeqTask, model: Seq2Seq, split: str, beam_size: int | None) -> dict:
    """Loss, greedy BLEU/chrF and (``beam_size``) beam BLEU/chrF on ``split``; also the
    translations, one dict per pair."""
    greedy, references = task.translate_split(model, split)
    scores = {
        "loss": task.loss(model, split),
        "bleu_greedy": corpus_bleu(greedy, references),
        "chrf_greedy": corpus_chrf(greedy, references),
        "pairs": len(references),
        "signatures": signatures(),
    }
    beam = greedy
    if beam_size is not None:
        beam, _ = task.translate_split(model, split, beam_size)
        scores["bleu"] = corpus_bleu(beam, references)
        scores["chrf"] = corpus_chrf(beam, references)
        scores["beam_size"] = beam_size
    scores["translations"] = [
        {
            "origin": task.data.origins[i],
            "source": task.data.pairs[i][0],
            "reference": ref,
            "greedy": g,
            "beam": b,
        }
        for i, ref, g, b in zip(task.splits[split], references, greedy, beam, strict=True)
    ]
    return scores


def write_translations(path: Path, translations: list[dict]) -> Path:
    lines = ["origin\tsource\treference\tgreedy\tbeam"]
    lines += [
        "\t".join(row[k] for k in ("origin", "source", "reference", "greedy", "beam"))
        for row in translations
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: Seq2SeqTaskConfig, data: ParallelData | None) -> Seq2SeqTask:
    """The task on ``data`` (default: the config's data set), vocabularies fitted."""
    data = data if data is not None else load_data(config)
    vocabs = Vocabularies.fit(data, config.data.lowercase, config.data.min_count)
    return Seq2SeqTask(config, data, vocabs)


def reopen(run_dir: Path, record: dict, config: Seq2SeqTaskConfig) -> Seq2SeqTask:
    data = reload_data(record, config)
    return Seq2SeqTask(config, data, Vocabularies.load(run_dir, config.data.lowercase))


def describe(task: Seq2SeqTask, model: Seq2Seq, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, {k: len(v) for k, v in task.splits.items()}
    return (
        f"run {run_dir}: {task.data.name} {task.data.direction}, "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test pairs, vocabularies "
        f"{len(task.vocabs.source)}/{len(task.vocabs.target)}; {m.num_layers}x{m.hidden_size} "
        f"{'bi' if m.bidirectional else ''}{m.cell}, attention {m.attention}, "
        f"{parameter_count(model) / 1e6:.2f}M parameters"
    )


def score_test(trainer: Trainer, task: Seq2SeqTask, baselines: dict) -> dict:
    """The best checkpoint on the test split (greedy and beam): scores, translations and
    attention heatmaps written into the run."""
    if not len(task.splits["test"]):
        return {}
    trainer.reporter.message("translating the test split (greedy, then beam search)")
    test = score_split(task, trainer.model, "test", task.config.decoding.beam_size)
    translations = test.pop("translations")
    write_translations(trainer.run_dir / TRANSLATIONS.format(split="test"), translations)
    count = task.config.decoding.heatmaps
    save_heatmaps(trainer.model, task, "test", trainer.run_dir / "plots", count)
    layout.write_json(trainer.run_dir / "test-scores.json", test)
    return test


def summary(result: RunResult) -> dict:
    test = result.test
    return {
        **run_head(result),
        "val_loss": result.train.metrics.get("val_loss"),
        "test_bleu": test.get("bleu"),
        "test_chrf": test.get("chrf"),
        "test_bleu_greedy": test.get("bleu_greedy"),
        "test_chrf_greedy": test.get("chrf_greedy"),
        "test_loss": test.get("loss"),
        "test_pairs": test.get("pairs"),
        "beam_size": test.get("beam_size"),
        **run_figures(result.train),
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="encoder-decoder translation (bible or a TSV of sentence pairs), with attention",
    config_class=Seq2SeqTaskConfig,
    prepare=prepare,
    reopen=reopen,
    record=lambda task: {"data": data_record(task.config, task.data)},
    save=lambda task, run_dir: task.vocabs.save(run_dir),
    run_name=lambda task: slug(task.data.name),
    describe=describe,
    score_test=score_test,
    summary=summary,
)


def train(config: Seq2SeqTaskConfig, run_dir=None, **options) -> RunResult:
    """Train a translation model into ``run_dir`` (default ``runs/seq2seq-<data>-<time>``);
    ``lifecycle.train``'s options (``data=`` replaces loading the config's data set)."""
    return lifecycle.train(SPEC, config, run_dir, **options)


def resume(run_dir, **options) -> RunResult:
    """Continue a translation run from its last checkpoint (``lifecycle.resume``)."""
    return lifecycle.resume(run_dir, task=TASK_NAME, **options)
