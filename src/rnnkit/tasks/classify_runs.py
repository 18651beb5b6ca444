"""Using a finished (or stopped) classification run: load it, predict with it, evaluate it.

    predict_run("runs/names", ["Nakamura", "Smith"], top=3)
    # [[("Japanese", 0.97), ("Korean", 0.01), ...], [("English", 0.82), ...]]
    evaluate_run("runs/names")        # test accuracy, macro-F1, confusion matrix + PNG
    evaluate_ensemble(["runs/names-s0", "runs/names-s1", "runs/names-s2"])  # their mean vote

``predict_run`` needs only the run directory (``config.json``, ``vocab.json``, a checkpoint);
``evaluate_run`` also reloads the run's data set and checks that it is the one trained on.
For a run on vectors (``vowels``) an input is a (T, F) array, or a path to a ``.npy`` file
or a ``.csv`` file of T rows of F numbers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from rnnkit.models.classifier import SequenceClassifier
from rnnkit.plots.heatmaps import plot_confusion_matrix
from rnnkit.tasks import labelled, lifecycle
from rnnkit.tasks.classify import (
    ClassifyTask,
    load_encoder,
    predict_logits,
    reload_data,
    split_fingerprint,
)


def load_run(run_dir: str | Path, checkpoint: str = "best") -> labelled.LoadedRun:
    """The model of checkpoint ``best`` (``last`` when the run has no best yet) or ``last``;
    ``meta["classes"]`` names its classes."""
    return labelled.load_run(run_dir, checkpoint, "classify", SequenceClassifier, load_encoder)


def read_frames(source) -> np.ndarray:
    """A (T, F) float32 array from an array, a ``.npy`` file or a ``.csv`` file of numbers
    (UTF-8, a byte-order mark allowed); a ValueError unless every value is finite."""
    if not isinstance(source, (str, Path)):
        return finite_frames(as_float32(source), "an input array")
    path = Path(source)
    if not path.is_file() or path.suffix.lower() not in (".npy", ".csv"):
        raise ValueError(
            f"this run classifies sequences of vectors; give the path of a .npy or .csv file "
            f"of T rows of numbers, one frame a row (got {str(source)!r})"
        )
    try:
        if path.suffix.lower() == ".npy":
            frames = as_float32(np.load(path, allow_pickle=False))
        else:
            with warnings.catch_warnings():  # "input contained no data": refused below, in words
                warnings.simplefilter("ignore", UserWarning)
                frames = np.loadtxt(
                    path, delimiter=",", dtype=np.float32, ndmin=2, encoding="utf-8-sig"
                )
    except ValueError as error:
        raise ValueError(f"{path} is not an array of numbers: {error}") from None
    if frames.size == 0:
        raise ValueError(f"{path} holds no numbers; give T >= 1 rows of numbers, one frame a row")
    return finite_frames(frames, str(path))


def as_float32(values) -> np.ndarray:
    """``values`` as float32; one too large for it becomes an infinity (refused by
    ``finite_frames``), without NumPy's overflow warning."""
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float32)


def finite_frames(frames: np.ndarray, name: str) -> np.ndarray:
    """``frames``, or a ValueError naming ``name`` if a value is NaN or infinite."""
    finite = np.isfinite(frames)
    if not finite.all():
        raise ValueError(
            f"{name}: {int((~finite).sum())} of its {frames.size} values are not finite (NaN, "
            "infinite, or too large for float32); every value of a frame must be a finite number"
        )
    return frames


def predict_run(
    run_dir: str | Path, inputs: list, top: int = 5, checkpoint: str = "best"
) -> list[list[tuple[str, float]]]:
    """The ``top`` likeliest classes of each input, with their probabilities."""
    labelled.check_top(top)
    return predict(load_run(run_dir, checkpoint), inputs, top)


def predict(run: labelled.LoadedRun, inputs: list, top: int = 5) -> list[list[tuple[str, float]]]:
    """:func:`predict_run` on a loaded run."""
    if run.encoder.kind == "vectors":
        inputs = [read_frames(source) for source in inputs]
    elif any(not raw.strip() for raw in inputs):  # (training reads one as a lone <unk>)
        raise ValueError("nothing to classify in an empty text: give at least one character")
    rows = [run.encoder.encode(raw) for raw in inputs]
    probabilities = torch.softmax(
        torch.from_numpy(predict_logits(run.model, rows, run.encoder)), dim=1
    ).numpy()
    answers = []
    for p in probabilities:
        order = np.argsort(-p, kind="stable")[:top]
        answers.append([(run.meta["classes"][k], float(p[k])) for k in order])
    return answers


def evaluate_run(
    run_dir: str | Path, split: str = "test", checkpoint: str = "best", plot: bool = True
) -> dict:
    """Accuracy, macro-F1, loss, per-class scores and the confusion matrix on ``split``;
    with ``plot``, the matrix as ``plots/confusion-<split>.png`` in the run directory."""
    labelled.check_split(split)
    run = load_run(run_dir, checkpoint)
    data = reload_data(run.record["data"])
    task = ClassifyTask(run.config, data, run.encoder)
    scores = task.score(run.model, split, lifecycle.read_baselines(run.run_dir))
    result = {**run.head(data.name, split), **scores}
    if plot:
        path = plot_confusion_matrix(
            scores["confusion_matrix"],
            run.meta["classes"],
            run.run_dir / "plots" / f"confusion-{split}.png",
            f"{data.name}, {split} split: accuracy {scores['accuracy']:.3f}",
        )
        result["confusion_plot"] = str(path)
    return result


def evaluate_ensemble(
    run_dirs: list[str | Path], split: str = "test", checkpoint: str = "best"
) -> dict:
    """The runs as one classifier: the mean of their predicted probabilities, scored like
    ``evaluate_run`` (accuracy, macro-F1, the loss of the mean probabilities, per-class scores,
    confusion matrix and, on the test split, the comparison with the first run's logistic
    regression). ``members`` lists each run's own accuracy and loss. The runs must be
    classifiers of the same data set and classes (their models may differ), trained on the
    same split; on the test split, runs of different validation splits (``--split-seed``) of
    the same data are allowed too, as long as their test examples are the same ones in the
    same order: each member then saw a different part of the training data (bagging over
    validation splits), and none saw the test split. No plot is written, since the ensemble
    has no run directory of its own."""
    labelled.check_split(split)
    if len(run_dirs) < 2:
        raise ValueError("an ensemble needs at least two run directories")
    runs = [load_run(run_dir, checkpoint) for run_dir in run_dirs]
    loaded: dict[str, object] = {}  # fingerprint -> the data, reloaded once

    def data_of(run: labelled.LoadedRun):
        fingerprint = run.record["data"]["fingerprint"]
        if fingerprint not in loaded:
            loaded[fingerprint] = reload_data(run.record["data"])
        return loaded[fingerprint]

    first = runs[0]
    for run in runs[1:]:
        check_member(run, first, split, data_of)
    members, total = [], 0.0
    for run in runs:
        task = ClassifyTask(run.config, data_of(run), run.encoder)  # with its own vocabulary
        log_probs = task.log_probs(run.model, split)  # (n, K)
        members.append(member_scores(run, task, split, log_probs))
        total = total + log_probs.exp()
    task = ClassifyTask(first.config, data_of(first), first.encoder)
    baselines = lifecycle.read_baselines(first.run_dir)
    scores = task.score_log_probs(torch.log(total / len(runs)), split, baselines)
    head = {"task": "classify", "ensemble": len(runs), "members": members}
    return {**head, "data": task.data.name, "split": split, **scores}


def check_member(run: labelled.LoadedRun, first: labelled.LoadedRun, split: str, data_of) -> None:
    """A ValueError unless ``run`` can join ``first`` in an ensemble scored on ``split``: the
    same classes, and the same data and split (on the test split: the same test examples)."""
    if run.meta["classes"] != first.meta["classes"]:
        raise ValueError(f"{run.run_dir} has other classes than {first.run_dir}")
    mine, theirs = run.record["data"], first.record["data"]
    if mine["fingerprint"] == theirs["fingerprint"]:
        return
    other_split = mine["dataset"] == theirs["dataset"] and (
        mine["split_seed"] != theirs["split_seed"]
    )
    rule = "an ensemble needs the same data and split"
    if other_split and split != "test":
        rule = "runs of different validation splits can be combined on the test split only"
    elif other_split:
        if split_fingerprint(data_of(run), "test") == split_fingerprint(data_of(first), "test"):
            return
        rule = "an ensemble needs the same test examples"
    raise ValueError(
        f"{run.run_dir} was trained on different data or a different split than "
        f"{first.run_dir} ({mine['dataset']} split seed {mine['split_seed']} against "
        f"{theirs['dataset']} split seed {theirs['split_seed']}); {rule}"
    )


def member_scores(
    run: labelled.LoadedRun, task: ClassifyTask, split: str, log_probs: torch.Tensor
) -> dict:
    """One ensemble member's own accuracy and loss from its (n, K) ``log_probs``."""
    own = task.score_log_probs(log_probs, split)
    return {
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
        "split_seed": run.record["data"]["split_seed"],
        "accuracy": own["accuracy"],
        "loss": own["loss"],
    }
