"""Sequence tagging as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.tag import train
    from rnnkit.tasks.tag_config import resolve_config
    result = train(resolve_config({"data.dataset": "ner"}), "runs/ner")   # a RunResult

The sentences come from ``rnnkit.data.labelled.load_tagging`` with its fixed split by
sentence. The word vocabulary (and the character vocabulary, for ``char_features``) is built
on the training split only. The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: length-bucketed, shuffled batches of training sentences;
- ``training_step``: the mean cross-entropy over the batch's real tokens;
- ``evaluate``: on the validation split, token accuracy, and for a BIO tag set entity-level
  precision / recall / F1 (``rnnkit.evaluation.entities``). The best checkpoint is the one
  with the lowest ``val_entity_error`` (1 - entity F1) for BIO tags, else ``val_error``
  (1 - token accuracy); or ``val_loss`` with ``selection.metric = "loss"``. The test split
  is scored once, at the end, with the best checkpoint.

With ``model.crf`` and BIO tags the CRF forbids what BIO tags cannot do (``I-X`` after
anything but ``B-X`` or ``I-X``: ``rnnkit.nn.crf.bio_constraints``) only when every training
sentence obeys that; IOB1 data (CoNLL-2003's original tags, where ``I-X`` after ``O`` begins
an entity) does not, and its CRF learns every transition instead (said once as the run
starts). The choice lives in the CRF's buffers, saved with the weights, so predict, evaluate
and resume use the run's own.

The baselines (``rnnkit.baselines.tagging``) are the most frequent tag of each word and the
single most frequent tag, fitted on the same training split and scored on the same test split.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from rnnkit.baselines.tagging import MostFrequentTag
from rnnkit.data.buckets import pad_ids, sorted_chunks
from rnnkit.data.encoders import EncodedSentence, TagEncoder
from rnnkit.data.vocab import Vocab
from rnnkit.evaluation.entities import entity_scores, is_bio, token_accuracy
from rnnkit.generation.sampling import evaluating
from rnnkit.models.tagger import SequenceTagger, TaggerConfig, tagger_dict
from rnnkit.nn.crf import bio_constraints, forbidden_steps
from rnnkit.tasks import labelled, lifecycle
from rnnkit.tasks.labelled import SPLITS, LabelledTask
from rnnkit.tasks.lifecycle import slug
from rnnkit.tasks.spec import (
    RunResult,
    TaskSpec,
    baseline_figures,
    parameter_count,
    run_figures,
    run_head,
)
from rnnkit.tasks.tag_config import TagConfig
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput

logger = logging.getLogger(__name__)

TASK_NAME = "tag"
CHAR_VOCAB = "chars.json"
EVAL_BATCH = 128


class TagTask(LabelledTask):
    """Hooks for the ``Trainer``: one tag per token of padded, bucketed sentence batches."""

    loss_unit = "nats/token"

    def __init__(self, config: TagConfig, data, encoder: TagEncoder):
        self.bio = is_bio(encoder.tag_set)
        error = "val_entity_error" if self.bio else "val_error"
        self.eval_metric = error if config.selection.metric == "error" else "val_loss"
        self.encoded = [encoder.encode(s) for s in data.sentences]
        self.targets = [encoder.encode_tags(t) for t in data.tags]
        lengths = [len(row.words) for row in self.encoded]
        super().__init__(config, data, encoder, lengths, "sentences")
        self.constraints, self.constraint_note = None, None
        if config.model.crf and self.bio:
            self.constraints, self.constraint_note = crf_constraints(self)

    def model_sizes(self) -> tuple[TaggerConfig, int, int, int | None]:
        """The model's config and the sizes of its tags, words and characters."""
        chars = self.encoder.chars
        sizes = len(self.encoder.tag_set), len(self.encoder.words)
        return self.config.model, *sizes, len(chars) if chars is not None else None

    def build_model(self) -> SequenceTagger:
        model = SequenceTagger(*self.model_sizes())
        if model.crf is not None and self.constraints is not None:
            model.crf.constrain(*self.constraints)  # kept in the weights, so a run reloads them
        return model

    def collate(self, indices: np.ndarray) -> dict:
        batch = self.encoder.batch([self.encoded[i] for i in indices])
        batch["targets"] = pad_ids([self.targets[i] for i in indices])[0]  # (N, T)
        return batch

    def training_step(self, model: SequenceTagger, batch, carry) -> StepOutput:
        _, loss = model(**batch)
        return StepOutput(loss, None, int(batch["lengths"].sum()))

    def evaluate(self, model: SequenceTagger) -> dict[str, float]:
        scores = self.score(model, "val")
        metrics = {
            "val_loss": scores["loss"],
            "val_error": 1.0 - scores["accuracy"],
            "val_accuracy": scores["accuracy"],
        }
        if self.bio:
            metrics["val_entity_f1"] = scores["entity_f1"]
            metrics["val_entity_error"] = 1.0 - scores["entity_f1"]
        return metrics

    def score(self, model: SequenceTagger, split: str) -> dict:
        """Loss, token accuracy and (BIO tags) entity scores on ``split``."""
        indices = self.splits[split]
        predicted = predict_tags(model, [self.encoded[i] for i in indices], self.encoder)
        log_probs = [lp for lp, _ in predicted]
        truth = [self.data.tags[i] for i in indices]
        guesses = [[self.encoder.tag_set[k] for k in tags] for _, tags in predicted]
        nats = [
            -lp[np.arange(len(lp)), self.targets[i]]
            for lp, i in zip(log_probs, indices, strict=True)
        ]
        report = {
            "loss": float(np.concatenate(nats).mean()),
            "accuracy": token_accuracy(truth, guesses),
            "tokens": int(sum(len(t) for t in truth)),
            "sentences": len(truth),
        }
        if self.bio:
            report.update(entity_report(truth, guesses))
        return report

    def checkpoint_metadata(self) -> dict:
        return {
            "name": TASK_NAME,
            "model": tagger_dict(*self.model_sizes()),
            "tag_set": self.encoder.tag_set,
        }


def crf_constraints(task: TagTask) -> tuple[tuple | None, str | None]:
    """A CRF's BIO constraints (``bio_constraints``) when every training sentence's tags obey
    them (BIO / IOB2 data), else None and a note saying which sentence broke which rule."""
    constraints = bio_constraints(task.encoder.tag_set)
    train = task.splits["train"]
    broken = forbidden_steps((task.targets[i] for i in train), *constraints)
    if not broken:
        return constraints, None
    index, t = broken[0]
    sentence = int(train[index])
    words, tags = task.data.sentences[sentence], task.data.tags[sentence]
    where = "opens the sentence" if t == 0 else f"follows {tags[t - 1]}"
    note = (
        f"--crf: {len(broken)} of {len(train)} training sentences break the BIO rule that "
        f"I-X follows only B-X or I-X: in sentence {sentence + 1} of {task.data.name}, "
        f"{tags[t]} at word {t + 1} ({words[t]!r}) {where} (IOB1 tags?); so the CRF learns "
        "its transitions instead of forbidding those"
    )
    return None, note


def entity_report(truth: list[list[str]], guesses: list[list[str]]) -> dict:
    scores = entity_scores(truth, guesses)
    return {
        "entity_f1": scores["f1"],
        "entity_precision": scores["precision"],
        "entity_recall": scores["recall"],
        "entities": scores["entities"],
        "per_type": scores["per_type"],
    }


def predict_tags(
    model: SequenceTagger, rows: list[EncodedSentence], encoder: TagEncoder
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each sentence's (T_i, K) log-probabilities of every tag (a CRF's: its marginals) and
    its (T_i,) predicted tag ids (a CRF's: the Viterbi sequence), in batches sorted by length."""
    results: list = [None] * len(rows)
    with evaluating(model):
        for chunk in sorted_chunks([len(row.words) for row in rows], EVAL_BATCH):
            batch = encoder.batch([rows[i] for i in chunk])
            logits, _ = model(**batch)  # (n, T, K)
            log_probs, tags = model.decode(logits, batch["lengths"])
            for k, i in enumerate(chunk):
                length = len(rows[i].words)
                results[i] = (log_probs[k, :length].numpy(), tags[k, :length].numpy())
    return results


# -- the data, as recorded in config.json ------------------------------------------------------


def load_data(dataset: str, split_seed: int = 0):
    """``rnnkit.data.labelled.load_tagging(dataset, seed=split_seed)``."""
    from rnnkit.data.labelled import load_tagging

    return load_tagging(dataset, seed=split_seed)


def data_fingerprint(data) -> str:
    """sha256 over every sentence, tag and split (see ``classify.data_fingerprint``)."""
    digest = hashlib.sha256()
    for words, tags in zip(data.sentences, data.tags, strict=True):
        line = "\t".join(words) + "\n" + "\t".join(tags) + "\n\n"
        digest.update(line.encode("utf-8", "surrogatepass"))
    for name in SPLITS:
        digest.update(name.encode() + np.asarray(data.splits[name], dtype=np.int64).tobytes())
    return digest.hexdigest()


def data_record(dataset: str, split_seed: int, data) -> dict:
    fingerprint = data_fingerprint(data)
    return labelled.data_record(dataset, split_seed, data, fingerprint, tag_set=list(data.tag_set))


def reload_data(record: dict):
    """The sentences a run was trained on, or a ValueError if they have changed since."""
    return labelled.reload_data(record, load_data, data_fingerprint, "sentences, tags")


# -- baselines ----------------------------------------------------------------------------------


def fit_baselines(task: TagTask) -> dict:
    """Most frequent tag per word, and overall, on the task's splits (JSON-ready)."""
    data, splits = task.data, task.splits
    train, test = splits["train"], splits["test"]
    tagger = MostFrequentTag([data.sentences[i] for i in train], [data.tags[i] for i in train])
    truth = [data.tags[i] for i in test]
    guesses = tagger.tag_all([data.sentences[i] for i in test])
    majority = [[tagger.default] * len(tags) for tags in truth]
    baselines = {
        "baseline_most_frequent_tag_accuracy": token_accuracy(truth, guesses),
        "baseline_majority_accuracy": token_accuracy(truth, majority),
        "majority": {"tag": tagger.default},
    }
    if task.bio:
        baselines["baseline_most_frequent_tag_entity_f1"] = entity_scores(truth, guesses)["f1"]
    return baselines


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: TagConfig, data) -> TagTask:
    """The task on ``data`` (a ``TaggingData``; default: the config's data set)."""
    data = data if data is not None else load_data(config.data.dataset, config.data.split_seed)
    task = TagTask(config, data, fit_encoder(data, config))
    if task.constraint_note:  # said once, when a run starts (resumed ones keep their weights')
        logger.warning("%s", task.constraint_note)
    return task


def fit_encoder(data, config: TagConfig) -> TagEncoder:
    """The encoder of ``data`` under the config (characters too with ``char_features``)."""
    d = config.data
    char_only = [] if config.model.char_features else labelled.changed_options(config, CHAR_OPTIONS)
    if char_only:
        raise ValueError(f"{char_only[0][0]} applies to char_features only (char_features is off)")
    return TagEncoder.fit(
        data, d.lowercase, d.min_count, d.max_word_chars, config.model.char_features
    )


CHAR_OPTIONS = (  # what only the character features read
    ("model", "char_embedding_size", "--char-embedding-size"),
    ("model", "char_hidden_size", "--char-hidden-size"),
    ("data", "max_word_chars", "--max-word-chars"),
)


def reopen(run_dir: Path, record: dict, config: TagConfig) -> TagTask:
    return TagTask(config, reload_data(record["data"]), load_encoder(run_dir, record))


def record(task: TagTask) -> dict:
    d = task.config.data
    return {
        "data": data_record(d.dataset, d.split_seed, task.data),
        "encoder": task.encoder.to_dict(),
    }


def save(task: TagTask, run_dir: Path) -> None:
    task.encoder.words.save(run_dir / layout.VOCAB)
    if task.encoder.chars is not None:
        task.encoder.chars.save(run_dir / CHAR_VOCAB)


def load_encoder(run_dir: Path, record: dict) -> TagEncoder:
    values = record["encoder"]
    words = Vocab.load(run_dir / layout.VOCAB)
    chars = Vocab.load(run_dir / CHAR_VOCAB) if (run_dir / CHAR_VOCAB).exists() else None
    return TagEncoder(
        words, chars, values["tag_set"], values["lowercase"], values["max_word_chars"]
    )


def describe(task: TagTask, model, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, {k: len(v) for k, v in task.splits.items()}
    text = (
        f"run {run_dir}: {task.data.name}, {len(task.encoder.tag_set)} tags, "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test sentences; "
        f"{m.num_layers}x{m.hidden_size} {'bi' if m.bidirectional else ''}{m.cell}"
        f"{' + character BiLSTM' if m.char_features else ''}, "
        f"{parameter_count(model) / 1e6:.2f}M parameters"
    )
    if baselines:
        text += (
            "; baseline: most frequent tag per word "
            f"{baselines['baseline_most_frequent_tag_accuracy']:.3f} test token accuracy"
        )
    return text


def summary(result: RunResult) -> dict:
    test = result.test
    entities = {}
    if "entity_f1" in test:
        entities = {
            "test_entity_f1": test["entity_f1"],
            "test_entity_precision": test["entity_precision"],
            "test_entity_recall": test["entity_recall"],
        }
    return {
        **run_head(result),
        "test_accuracy": test.get("accuracy"),
        "test_loss": test.get("loss"),
        "test_tokens": test.get("tokens"),
        **entities,
        **baseline_figures(result.baselines),
        **run_figures(result.train),
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="sequence tagger: pos, pos-oanc, ner or a CoNLL file",
    config_class=TagConfig,
    prepare=prepare,
    reopen=reopen,
    record=record,
    save=save,
    run_name=lambda task: slug(task.data.name),
    baselines=fit_baselines,
    describe=describe,
    score_test=lambda trainer, task, baselines: task.score(trainer.model, "test"),
    summary=summary,
    export="rnnkit.export.tag",
)


train, resume = lifecycle.entry_points(SPEC)
