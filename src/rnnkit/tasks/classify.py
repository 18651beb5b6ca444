"""Sequence classification as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.classify import train
    from rnnkit.tasks.classify_config import resolve_config
    result = train(resolve_config({"data.dataset": "names"}), "runs/names")  # a RunResult

The examples come from ``rnnkit.data.labelled.load_classification`` with its fixed
train / val / test split. Text becomes characters or lowercase words
(``rnnkit.data.encoders.tokenize_words``); the vocabulary is built on the training split only.
The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: length-bucketed, shuffled batches of the training split
  (``rnnkit.data.buckets.LengthBuckets``), resumable at any step;
- ``training_step``: the mean cross-entropy of a padded batch (``SequenceClassifier``);
- ``evaluate``: loss, error, accuracy and macro-F1 on the validation split; ``val_loss``
  (or ``val_error``, ``selection.metric``) chooses the best checkpoint. The test split is
  scored once, at the end, with the best checkpoint.

Before training, the baselines (``rnnkit.baselines.classification``) are fitted on the same
training split and scored on the same test split; ``baselines.json`` keeps their figures.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from rnnkit.baselines.classification import logistic_regression, majority_class
from rnnkit.data.buckets import sorted_chunks
from rnnkit.data.encoders import InputEncoder, tokenize_words
from rnnkit.data.vocab import Vocab
from rnnkit.evaluation.classification import classification_report, paired_comparison
from rnnkit.generation.sampling import evaluating
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier, classifier_dict
from rnnkit.plots.heatmaps import plot_confusion_matrix
from rnnkit.tasks import labelled, lifecycle
from rnnkit.tasks.classify_config import ClassifyConfig
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
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer

TASK_NAME = "classify"
EVAL_BATCH = 256


class ClassifyTask(LabelledTask):
    """Hooks for the ``Trainer``: many-to-one classification of padded, bucketed batches."""

    loss_unit = "nats/example"

    def __init__(self, config: ClassifyConfig, data, encoder: InputEncoder):
        self.eval_metric = f"val_{config.selection.metric}"
        self.classes = list(data.classes)
        index = {label: k for k, label in enumerate(self.classes)}
        self.labels = np.array([index[label] for label in data.labels], dtype=np.int64)
        self.encoded = [encoder.encode(raw) for raw in data.inputs]
        lengths = [len(row) for row in self.encoded]
        super().__init__(config, data, encoder, lengths, "examples")

    def model_sizes(self) -> tuple[ClassifierConfig, int, int]:
        """The model's config (for vectors: the ``vectors`` embedding), classes, input size."""
        config = self.config.model
        if self.encoder.kind == "vectors":
            config = replace(config, embedding="vectors")
        return config, len(self.classes), self.encoder.input_size

    def build_model(self) -> SequenceClassifier:
        """The classifier for the data; for vectors standardised by the training split."""
        model = SequenceClassifier(*self.model_sizes())
        if self.encoder.kind == "vectors":
            frames = np.concatenate([self.encoded[i] for i in self.splits["train"]])  # (sum T, F)
            model.set_input_scale(torch.from_numpy(frames.mean(0)), torch.from_numpy(frames.std(0)))
        return model

    def collate(self, indices: np.ndarray):
        inputs, lengths = self.encoder.batch([self.encoded[i] for i in indices])
        return inputs, lengths, torch.from_numpy(self.labels[indices])

    def training_step(self, model: SequenceClassifier, batch, carry) -> StepOutput:
        inputs, lengths, targets = batch
        _, loss = model(inputs, lengths, targets)
        return StepOutput(loss, None, int(lengths.sum()), examples=len(targets))

    def evaluate(self, model: SequenceClassifier) -> dict[str, float]:
        scores = self.score(model, "val")
        return {
            "val_loss": scores["loss"],
            "val_error": 1.0 - scores["accuracy"],
            "val_accuracy": scores["accuracy"],
            "val_macro_f1": scores["macro_f1"],
        }

    def score(self, model: SequenceClassifier, split: str, baselines: dict | None = None) -> dict:
        """Loss, accuracy, macro-F1, per-class scores and confusion matrix on ``split``; on
        the test split, with the ``baselines`` of ``fit_baselines``, also ``vs_logreg``: the
        example-by-example comparison with the logistic regression (``versus_logreg``)."""
        return self.score_log_probs(self.log_probs(model, split), split, baselines)

    def log_probs(self, model: SequenceClassifier, split: str) -> torch.Tensor:
        """(n, K) log-probabilities of ``model`` for the examples of ``split``, in order."""
        indices = self.splits[split]
        logits = predict_logits(model, [self.encoded[i] for i in indices], self.encoder)
        return torch.log_softmax(torch.from_numpy(logits), dim=1)

    def score_log_probs(
        self, log_probs: torch.Tensor, split: str, baselines: dict | None = None
    ) -> dict:
        """``score`` from (n, K) log-probabilities of ``split``'s examples: one model's, or an
        ensemble's (``classify_runs.evaluate_ensemble``)."""
        truth = self.labels[self.splits[split]]
        predicted = log_probs.argmax(1).numpy()
        report = classification_report(truth, predicted, self.classes)
        report["loss"] = float(-log_probs[torch.arange(len(truth)), torch.from_numpy(truth)].mean())
        if split == "test" and baselines:
            comparison = versus_logreg(baselines, truth, predicted)
            if comparison is not None:
                report["vs_logreg"] = comparison
        return report

    def checkpoint_metadata(self) -> dict:
        model = classifier_dict(*self.model_sizes())
        return {"name": TASK_NAME, "model": model, "classes": self.classes}


def predict_logits(
    model: SequenceClassifier, rows: list[np.ndarray], encoder: InputEncoder
) -> np.ndarray:
    """(n, K) float32 logits of the encoded ``rows``, in batches sorted by length."""
    logits = np.zeros((len(rows), model.num_classes), dtype=np.float32)
    with evaluating(model):
        for chunk in sorted_chunks([len(row) for row in rows], EVAL_BATCH):
            inputs, lengths = encoder.batch([rows[i] for i in chunk])
            logits[chunk] = model(inputs, lengths)[0].numpy()
    return logits


# -- the data, as recorded in config.json ------------------------------------------------------


def load_data(dataset: str, split_seed: int = 0):
    """``rnnkit.data.labelled.load_classification(dataset, seed=split_seed)``."""
    from rnnkit.data.labelled import load_classification

    return load_classification(dataset, seed=split_seed)


def _digest_example(digest, raw, label: str) -> None:
    if isinstance(raw, str):
        digest.update(raw.encode("utf-8", "surrogatepass"))
    else:
        digest.update(np.ascontiguousarray(raw, dtype=np.float32).tobytes())
    digest.update(b"\0" + label.encode("utf-8", "surrogatepass") + b"\0")


def data_fingerprint(data) -> str:
    """sha256 over every input, label and split, so a resumed run or an evaluation can tell
    that the data it reloaded is the data the run was trained on."""
    digest = hashlib.sha256()
    for raw, label in zip(data.inputs, data.labels, strict=True):
        _digest_example(digest, raw, label)
    for name in SPLITS:
        digest.update(name.encode() + np.asarray(data.splits[name], dtype=np.int64).tobytes())
    return digest.hexdigest()


def split_fingerprint(data, split: str) -> str:
    """sha256 over the inputs and labels of one split's examples, in order: two runs with
    different validation splits of the same data share it for ``test``."""
    digest = hashlib.sha256()
    for i in np.asarray(data.splits[split], dtype=np.int64):
        _digest_example(digest, data.inputs[i], data.labels[i])
    return digest.hexdigest()


def data_record(dataset: str, split_seed: int, data) -> dict:
    fingerprint = data_fingerprint(data)
    return labelled.data_record(
        dataset, split_seed, data, fingerprint, kind=data.kind, classes=list(data.classes)
    )


def reload_data(record: dict):
    """The examples a run was trained on, or a ValueError if they have changed since."""
    return labelled.reload_data(record, load_data, data_fingerprint, "examples, labels")


# -- baselines ----------------------------------------------------------------------------------


def fit_baselines(task: ClassifyTask) -> dict:
    """The majority and logistic-regression baselines on the task's splits (JSON-ready); for
    real-valued frames a second regression, on the frames at evenly spaced steps."""
    data, labels, splits = task.data, task.labels, task.splits

    def split(name):
        return [data.inputs[i] for i in splits[name]], labels[splits[name]]

    count = len(task.classes)
    majority = majority_class(labels[splits["train"]], labels[splits["test"]], count)
    logreg = logistic_regression(
        task.encoder.baseline_kind,
        split("train"),
        split("val"),
        split("test"),
        count,
        tokenizer=tokenize_words,
    )
    result = {
        "logreg_test_predictions": logreg.predictions.tolist(),
        "baseline_majority_accuracy": majority.accuracy,
        "baseline_majority_macro_f1": majority.macro_f1,
        "baseline_logreg_accuracy": logreg.accuracy,
        "baseline_logreg_macro_f1": logreg.macro_f1,
        "majority": majority.details,
        "logreg": logreg.details,
    }
    if task.encoder.baseline_kind == "vectors":  # real-valued frames: a time-aligned reading too
        points = logistic_regression("points", split("train"), split("val"), split("test"), count)
        result["baseline_logreg_points_accuracy"] = points.accuracy
        result["baseline_logreg_points_macro_f1"] = points.macro_f1
        result["logreg_points"] = points.details
    return result


def versus_logreg(baselines: dict, truth, predicted) -> dict | None:
    """The model against the logistic regression on the same test examples: how many only
    the model gets right, how many only the regression, and McNemar's exact p-value for
    "equally accurate" (``rnnkit.evaluation.classification.paired_comparison``). None when
    the run kept no regression predictions (``--no-baselines``, or a run from before they
    were kept) or they do not match the test split."""
    stored = baselines.get("logreg_test_predictions")
    if stored is None or len(stored) != len(truth):
        return None
    paired = paired_comparison(truth, predicted, stored)
    return {
        "examples": paired["examples"],
        "rnn_only_right": paired["a_only_right"],
        "logreg_only_right": paired["b_only_right"],
        "mcnemar_p": paired["mcnemar_p"],
    }


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: ClassifyConfig, data) -> ClassifyTask:
    """The task on ``data`` (a ``ClassificationData``; default: the config's data set)."""
    data = data if data is not None else load_data(config.data.dataset, config.data.split_seed)
    return ClassifyTask(config, data, fit_encoder(data, config))


def fit_encoder(data, config: ClassifyConfig) -> InputEncoder:
    """The encoder of ``data`` under the config's level, ``min_count`` and ``max_length``."""
    d = config.data
    text_only = labelled.changed_options(config, TEXT_OPTIONS) if data.kind == "vectors" else []
    if text_only:
        raise ValueError(f"{data.name} holds vectors, not text; {text_only[0][1]} does not apply")
    learned_only = [("model", "embedding_size", "--embedding-size")]
    if config.model.embedding == "onehot" and labelled.changed_options(config, learned_only):
        raise ValueError("--embedding-size applies to --embedding learned only; a one-hot "
                         "input has one feature per token of the vocabulary")  # fmt: skip
    conv_only = [] if config.model.conv_channels else labelled.changed_options(config, CONV_OPTIONS)
    if conv_only:
        raise ValueError(
            f"{conv_only[0][0]} applies to a convolutional front end only (conv_channels is 0)"
        )
    return InputEncoder.fit(data, d.level, d.min_count, d.max_length)


TEXT_OPTIONS = (  # (section, field, flag): what only token input reads
    ("data", "min_count", "--min-count"),
    ("model", "embedding", "--embedding"),
    ("model", "embedding_size", "--embedding-size"),
)

CONV_OPTIONS = (  # what only a convolutional front end (conv_channels > 0) reads
    ("model", "conv_width", "--conv-width"),
    ("model", "conv_layers", "--conv-layers"),
)


def reopen(run_dir: Path, record: dict, config: ClassifyConfig) -> ClassifyTask:
    return ClassifyTask(config, reload_data(record["data"]), load_encoder(run_dir, record))


def record(task: ClassifyTask) -> dict:
    d = task.config.data
    return {
        "data": data_record(d.dataset, d.split_seed, task.data),
        "encoder": task.encoder.to_dict(),
    }


def save(task: ClassifyTask, run_dir: Path) -> None:
    if task.encoder.vocab is not None:
        task.encoder.vocab.save(run_dir / layout.VOCAB)


def load_encoder(run_dir: Path, record: dict) -> InputEncoder:
    values = record["encoder"]
    vocab = Vocab.load(run_dir / layout.VOCAB) if values["kind"] != "vectors" else None
    return InputEncoder.from_dict(values, vocab)


def describe(task: ClassifyTask, model, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, {k: len(v) for k, v in task.splits.items()}
    text = (
        f"run {run_dir}: {task.data.name}, {len(task.classes)} classes, "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test; "
        f"{m.num_layers}x{m.hidden_size} {'bi' if m.bidirectional else ''}{m.cell}, "
        f"{m.pooling} pooling, {parameter_count(model) / 1e6:.2f}M parameters"
    )
    if baselines:
        text += (
            f"; baselines: majority {baselines['baseline_majority_accuracy']:.3f}, "
            f"logistic regression {baselines['baseline_logreg_accuracy']:.3f}"
        )
        if "baseline_logreg_points_accuracy" in baselines:
            text += (
                f" (on the frames at 5 steps {baselines['baseline_logreg_points_accuracy']:.3f})"
            )
        text += " test accuracy"
    return text


def score_test(trainer: Trainer, task: ClassifyTask, baselines: dict) -> dict:
    """The best checkpoint on the test split, and its confusion matrix drawn into the run."""
    test = task.score(trainer.model, "test", baselines)
    plot_confusion_matrix(
        test["confusion_matrix"],
        task.classes,
        trainer.run_dir / "plots" / "confusion-test.png",
        f"{task.data.name}, test split: accuracy {test['accuracy']:.3f}",
    )
    return test


def summary(result: RunResult) -> dict:
    test = result.test
    return {
        **run_head(result),
        "test_accuracy": test.get("accuracy"),
        "test_macro_f1": test.get("macro_f1"),
        "test_loss": test.get("loss"),
        "test_examples": test.get("examples"),
        **baseline_figures(result.baselines),
        "test_vs_logreg": test.get("vs_logreg"),
        **run_figures(result.train),
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="sequence classifier: names, sentiment, sentiment-tweets, vowels or a CSV",
    config_class=ClassifyConfig,
    prepare=prepare,
    reopen=reopen,
    record=record,
    save=save,
    run_name=lambda task: slug(task.data.name),
    baselines=fit_baselines,
    describe=describe,
    score_test=score_test,
    summary=summary,
    export="rnnkit.export.classify",
)


train, resume = lifecycle.entry_points(SPEC)
