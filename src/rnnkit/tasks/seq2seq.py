"""Translation (sequence to sequence) as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.seq2seq import train
    from rnnkit.tasks.seq2seq_config import resolve_config
    result = train(resolve_config({"model.attention": "additive"}), "runs/bible")

The pairs come from ``rnnkit.data.parallel.load_parallel`` (the Bible's verses or a user's
TSV), split once with a seed; each side has its own word vocabulary, built on the training
split only (``rnnkit.tasks.seq2seq_text``). The task's hooks (see ``rnnkit.training.task``):

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
from pathlib import Path

import torch

from rnnkit.data.atomic import atomic_write_text
from rnnkit.data.buckets import sorted_chunks
from rnnkit.data.parallel import BOS, EOS, PAD, SPLITS, ParallelData, load_parallel
from rnnkit.evaluation.bleu import signatures
from rnnkit.generation.sampling import evaluating
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.plots.heatmaps import plot_attention
from rnnkit.tasks import lifecycle
from rnnkit.tasks.encoder_decoder import (
    BLEU_GAP,
    LEGACY_BLEU_GAP,
    EncoderDecoderTask,
    bleu_chrf,
    check_fingerprint,
    validation_figures,
)
from rnnkit.tasks.lifecycle import slug
from rnnkit.tasks.seq2seq_config import Seq2SeqTaskConfig
from rnnkit.tasks.seq2seq_text import (
    EVAL_BATCH,
    Vocabularies,
    attention_of,
    hypothesis_text,
    pad_batch,
    translate_ids,
)
from rnnkit.tasks.spec import RunResult, TaskSpec, parameter_count, run_figures, run_head
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer

TASK_NAME = "seq2seq"
TRANSLATIONS = "translations-{split}.tsv"
SAMPLE_EXAMPLES = 3


class Seq2SeqTask(EncoderDecoderTask):
    """Hooks for the ``Trainer``: translation of padded, bucketed batches."""

    name, model_class = TASK_NAME, Seq2Seq
    loss_unit = "nats/token"

    def __init__(self, config: Seq2SeqTaskConfig, data: ParallelData, vocabs: Vocabularies):
        self.data, self.vocabs = data, vocabs
        self.sources = [vocabs.encode_source(s) for s, _ in data.pairs]
        self.targets = [vocabs.encode_target(t) for _, t in data.pairs]
        lengths = [len(self.sources[i]) for i in data.splits["train"]]
        empty = f"{data.name} has an empty {{}} split; it needs pairs"
        self.setup(config, data.splits, lengths, ("train", "val"), empty)
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
        figures = validation_figures(
            loss, *self.translate_split(model, "val"), "val_bleu", "val_chrf"
        )
        return {**figures, LEGACY_BLEU_GAP: figures[BLEU_GAP]}

    def loss(self, model: Seq2Seq, split: str) -> float:
        """Teacher-forced cross-entropy per target token on ``split``, in eval mode (no
        dropout; the model's mode is restored after)."""
        indices = self.splits[split]
        total, tokens = 0.0, 0
        with evaluating(model):
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
    scores = {"loss": task.loss(model, split)}
    scores["bleu_greedy"], scores["chrf_greedy"] = bleu_chrf(greedy, references)
    scores.update(pairs=len(references), signatures=signatures())
    beam = greedy
    if beam_size is not None:
        beam, _ = task.translate_split(model, split, beam_size)
        scores["bleu"], scores["chrf"] = bleu_chrf(beam, references)
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
    export="rnnkit.export.seq2seq",
)


train, resume = lifecycle.entry_points(SPEC)
