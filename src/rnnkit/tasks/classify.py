"""Sequence classification as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.classify import train
    from rnnkit.tasks.classify_config import resolve_config
    result = train(resolve_config({"data.dataset": "names"}), "runs/names")  # ClassifyResult

The examples come from ``rnnkit.data.labelled.load_classification`` with its fixed
train / val / test split. Text becomes characters or lowercase words
(``classify_data.tokenize_words``); the vocabulary is built on the training split only.
The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: length-bucketed, shuffled batches of the training split
  (``classify_data.LengthBuckets``), resumable at any step;
- ``training_step``: the mean cross-entropy of a padded batch (``SequenceClassifier``);
- ``evaluate``: loss, error, accuracy and macro-F1 on the validation split; ``val_loss``
  (or ``val_error``, ``selection.metric``) chooses the best checkpoint. The test split is
  scored once, at the end, with the best checkpoint.

Before training, the baselines (``rnnkit.baselines.classification``) are fitted on the same
training split and scored on the same test split; ``baselines.json`` keeps their figures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rnnkit.baselines.classification import logistic_regression, majority_class
from rnnkit.data.vocab import Vocab
from rnnkit.evaluation.classification import classification_report, paired_comparison
from rnnkit.evaluation.plots import plot_confusion_matrix
from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier
from rnnkit.tasks import runs
from rnnkit.tasks.classify_config import ClassifyConfig
from rnnkit.tasks.classify_data import InputEncoder, LengthBuckets, sorted_chunks, tokenize_words
from rnnkit.training import run_dir as layout
from rnnkit.training.progress import Reporter
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer, TrainResult

TASK_NAME = "classify"
BASELINES = "baselines.json"
EVAL_BATCH = 256


class ClassifyTask:
    """Hooks for the ``Trainer``: many-to-one classification of padded, bucketed batches."""

    loss_unit = "nats/example"

    def __init__(self, config: ClassifyConfig, data, encoder: InputEncoder):
        self.config, self.data, self.encoder = config, data, encoder
        self.eval_metric = f"val_{config.selection.metric}"
        self.classes = list(data.classes)
        index = {label: k for k, label in enumerate(self.classes)}
        self.labels = np.array([index[label] for label in data.labels], dtype=np.int64)
        self.encoded = [encoder.encode(raw) for raw in data.inputs]
        self.splits = {name: np.asarray(data.splits[name], dtype=np.int64) for name in SPLITS}
        for name in ("train", "val"):
            if len(self.splits[name]) == 0:
                raise ValueError(f"{data.name} has an empty {name} split; it needs examples")
        train_lengths = [len(self.encoded[i]) for i in self.splits["train"]]
        self.buckets = LengthBuckets(train_lengths, config.data.batch_size, config.trainer.seed)

    def model_config(self) -> ClassifierConfig:
        m = self.config.model
        embedding = "vectors" if self.encoder.kind == "vectors" else m.embedding
        return ClassifierConfig(
            num_classes=len(self.classes),
            input_size=self.encoder.input_size,
            embedding=embedding,
            embedding_size=m.embedding_size,
            cell=m.cell,
            hidden_size=m.hidden_size,
            num_layers=m.num_layers,
            bidirectional=m.bidirectional,
            pooling=m.pooling,
            dropout=m.dropout,
            embedding_dropout=m.embedding_dropout,
            input_noise=m.input_noise,
            random_crop=m.random_crop,
            time_warp=m.time_warp,
            pool_points=m.pool_points,
            label_smoothing=m.label_smoothing,
            input_shift=m.input_shift,
            conv_channels=m.conv_channels,
            conv_width=m.conv_width,
            conv_layers=m.conv_layers,
        )

    def build_model(self) -> SequenceClassifier:
        model = SequenceClassifier(self.model_config())
        if self.encoder.kind == "vectors":
            frames = np.concatenate([self.encoded[i] for i in self.splits["train"]])  # (sum T, F)
            model.set_input_scale(torch.from_numpy(frames.mean(0)), torch.from_numpy(frames.std(0)))
        return model

    def collate(self, indices: np.ndarray):
        inputs, lengths = self.encoder.batch([self.encoded[i] for i in indices])
        return inputs, lengths, torch.from_numpy(self.labels[indices])

    def train_batches(self, start_step: int):
        train = self.splits["train"]
        for positions in self.buckets.batches(start_step):
            yield self.collate(train[positions])

    def training_step(self, model: SequenceClassifier, batch, carry) -> StepOutput:
        inputs, lengths, targets = batch
        _, loss = model(inputs, lengths, targets)
        return StepOutput(loss, None, int(lengths.sum()))

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

    def sample(self, model) -> None:
        return None

    def data_position(self, step: int) -> dict:
        return self.buckets.position(step)

    def checkpoint_metadata(self) -> dict:
        return {"name": TASK_NAME, "model": self.model_config().to_dict(), "classes": self.classes}


SPLITS = ("train", "val", "test")


@torch.no_grad()
def predict_logits(
    model: SequenceClassifier, rows: list[np.ndarray], encoder: InputEncoder
) -> np.ndarray:
    """(n, K) float32 logits of the encoded ``rows``, in batches sorted by length."""
    was_training = model.training
    model.eval()
    logits = np.zeros((len(rows), model.config.num_classes), dtype=np.float32)
    try:
        for chunk in sorted_chunks([len(row) for row in rows], EVAL_BATCH):
            inputs, lengths = encoder.batch([rows[i] for i in chunk])
            logits[chunk] = model(inputs, lengths)[0].numpy()
    finally:
        model.train(was_training)
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
    path = Path(dataset)
    return {
        "dataset": str(path.resolve()) if path.is_file() else dataset,
        "split_seed": split_seed,
        "name": data.name,
        "kind": data.kind,
        "classes": list(data.classes),
        "sizes": {name: int(len(data.splits[name])) for name in SPLITS},
        "fingerprint": data_fingerprint(data),
        "card": data.card,
    }


def reload_data(record: dict):
    """The examples a run was trained on, or a ValueError if they have changed since."""
    data = load_data(record["dataset"], record["split_seed"])
    if data_fingerprint(data) != record["fingerprint"]:
        raise ValueError(
            f"the data {record['dataset']} has changed since this run was trained (different "
            "examples, labels or split); it cannot be evaluated or resumed on the same split"
        )
    return data


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


def baseline_figures(baselines: dict) -> dict:
    """The ``baseline_*`` numbers of ``baselines.json``, for summaries."""
    return {k: v for k, v in baselines.items() if k.startswith("baseline_")}


# -- train and resume ---------------------------------------------------------------------------


@dataclass
class ClassifyResult:
    """How a run ended (``train``), its test-split scores with the best checkpoint, and the
    baselines' figures."""

    train: TrainResult
    test: dict
    baselines: dict = field(default_factory=dict)
    selected_by: str = "val_loss"  # the validation figure that picked the best checkpoint

    def summary(self) -> dict:
        result = self.train
        return {
            "task": TASK_NAME,
            "run_dir": str(result.run_dir),
            "steps": result.steps,
            "stop_reason": result.stop_reason,
            "best_step": result.best_step,
            "selected_by": self.selected_by,
            "best_val": result.best_metric,
            "test_accuracy": self.test.get("accuracy"),
            "test_macro_f1": self.test.get("macro_f1"),
            "test_loss": self.test.get("loss"),
            "test_examples": self.test.get("examples"),
            **baseline_figures(self.baselines),
            "test_vs_logreg": self.test.get("vs_logreg"),
            "tokens_per_s": result.tokens_per_s,
            "train_seconds": result.train_seconds,
            "elapsed_s": result.elapsed,
            "clip_fraction": result.clip_fraction,
        }


def train(
    config: ClassifyConfig,
    run_dir: str | Path | None = None,
    *,
    data=None,
    reporter: Reporter | None = None,
    callbacks: Iterable[Callable[[Trainer], None]] = (),
) -> ClassifyResult:
    """Train a classifier into ``run_dir`` (default ``runs/classify-<dataset>-<time>``).

    ``data`` (a ``ClassificationData``) replaces loading ``config.data.dataset``. The data,
    the model's configuration and the baselines are done before the run directory is made.
    """
    config.validate()
    data = data if data is not None else load_data(config.data.dataset, config.data.split_seed)
    encoder = InputEncoder.fit(data, config)
    task = ClassifyTask(config, data, encoder)
    trainer, baselines = runs.start_labelled_run(
        TASK_NAME,
        task,
        record=data_record(config.data.dataset, config.data.split_seed, data),
        vocabularies={layout.VOCAB: encoder.vocab},
        fit_baselines=fit_baselines,
        describe=describe,
        baselines_file=BASELINES,
        run_dir=run_dir,
        reporter=reporter,
        callbacks=callbacks,
    )
    return _finish(trainer, task, baselines)


def resume(
    run_dir: str | Path,
    *,
    max_steps: int | None = None,
    time_budget: float | None = None,
    reporter: Reporter | None = None,
    callbacks: Iterable[Callable[[Trainer], None]] = (),
) -> ClassifyResult:
    """Continue a classification run from its last checkpoint (see ``runs.resume_trainer``)."""

    def rebuild(run_dir: Path, record: dict, config: ClassifyConfig) -> ClassifyTask:
        return ClassifyTask(config, reload_data(record["data"]), load_encoder(run_dir, record))

    return runs.resume_labelled(
        run_dir,
        TASK_NAME,
        ClassifyConfig,
        rebuild,
        _finish,
        BASELINES,
        max_steps=max_steps,
        time_budget=time_budget,
        reporter=reporter,
        callbacks=callbacks,
    )


def read_run_config(run_dir: str | Path) -> tuple[Path, dict, ClassifyConfig]:
    """``(run_dir, config.json's record, the ClassifyConfig)`` of a classification run."""
    return runs.read_run_config(run_dir, TASK_NAME, ClassifyConfig)


def load_encoder(run_dir: Path, record: dict) -> InputEncoder:
    values = record["encoder"]
    vocab = Vocab.load(run_dir / layout.VOCAB) if values["kind"] != "vectors" else None
    return InputEncoder.from_dict(values, vocab)


def describe(task: ClassifyTask, model, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, {k: len(v) for k, v in task.splits.items()}
    parameters = sum(p.numel() for p in model.parameters())
    text = (
        f"run {run_dir}: {task.data.name}, {len(task.classes)} classes, "
        f"{sizes['train']}/{sizes['val']}/{sizes['test']} train/val/test; "
        f"{m.num_layers}x{m.hidden_size} {'bi' if m.bidirectional else ''}{m.cell}, "
        f"{m.pooling} pooling, {parameters / 1e6:.2f}M parameters"
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


def _finish(trainer: Trainer, task: ClassifyTask, baselines: dict) -> ClassifyResult:
    """Fit, then score the best checkpoint on the test split and draw its confusion matrix."""
    result = trainer.fit()
    test = {}
    with trainer.run_threads():
        if runs.load_best(trainer):
            test = task.score(trainer.model, "test", baselines)
            plot_confusion_matrix(
                test["confusion_matrix"],
                task.classes,
                trainer.run_dir / "plots" / "confusion-test.png",
                f"{task.data.name}, test split: accuracy {test['accuracy']:.3f}",
            )
    return ClassifyResult(result, test, baselines, task.eval_metric)
