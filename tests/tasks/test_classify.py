"""The classification task: training lowers the loss, baselines, resume, using a finished run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.tasks.classify import ClassifyTask, fit_encoder, resume, train
from rnnkit.tasks.classify_config import resolve_config
from rnnkit.tasks.classify_runs import evaluate_run, predict_run
from rnnkit.training.metrics import read_metrics
from rnnkit.training.trainer import Trainer
from tests.tasks import labelled_fixtures as fixtures


def tiny_config(vectors=False, **overrides):
    """Tiny settings; ``vectors``: without the embedding size, which frames do not have."""
    values = {
        "data.batch_size": 8,
        "model.hidden_size": 16,
        "model.embedding_size": 8,
        "optimizer.lr": 0.02,
        "trainer.max_steps": 24,
        "trainer.time_budget": None,
        "trainer.eval_every": 12,
        "trainer.log_every": 4,
        "trainer.tensorboard": False,
    }
    if vectors:
        del values["model.embedding_size"]
    return resolve_config({**values, **overrides})


@pytest.mark.parametrize(
    "make, overrides",
    [
        (fixtures.names, {"model.pooling": "last", "model.bidirectional": True}),
        (
            fixtures.reviews,
            {"model.pooling": "attention", "data.min_count": 1, "optimizer.lr": 0.05},
        ),
        (fixtures.vectors, {"model.pooling": "mean", "model.cell": "gru"}),
    ],
)
def test_training_lowers_the_validation_loss(make, overrides, tmp_path):
    config = tiny_config(make is fixtures.vectors, **overrides, **{"baselines.enabled": False})
    data = make()
    task = ClassifyTask(config, data, fit_encoder(data, config))
    torch.manual_seed(0)
    model = task.build_model()
    before = task.score(model, "val")["loss"]
    trainer = Trainer(task, model, tmp_path, config.trainer, config.optimizer, config.schedule)
    trainer.fit()
    after = task.score(model, "val")["loss"]
    assert after < 0.7 * before


def test_vocabulary_comes_from_the_training_split_only():
    data = fixtures.reviews()
    data.inputs[int(data.splits["test"][0])] = "zebra quokka"
    encoder = fit_encoder(data, tiny_config(**{"data.min_count": 1}))
    assert "zebra" not in encoder.vocab.stoi and "film" in encoder.vocab.stoi
    assert encoder.encode("zebra").tolist() == [0]
    assert encoder.encode("").tolist() == [0]  # an empty text is one <unk> step
    chars = fit_encoder(fixtures.names(), tiny_config())
    assert chars.level == "char" and chars.baseline_kind == "chars"


def test_train_writes_a_complete_run(tmp_path):
    result = train(tiny_config(), tmp_path / "run", data=fixtures.names())
    run = tmp_path / "run"
    for name in ("config.json", "vocab.json", "baselines.json", "metrics.jsonl"):
        assert (run / name).is_file(), name
    assert (run / "plots" / "confusion-test.png").is_file()
    summary = result.summary()
    assert summary["steps"] == 24
    assert 0 <= summary["test_accuracy"] <= 1 and 0 <= summary["test_macro_f1"] <= 1
    assert summary["baseline_majority_accuracy"] == pytest.approx(1 / 3)
    assert summary["baseline_logreg_accuracy"] == 1.0  # the endings give the class away
    assert "baseline_logreg_points_accuracy" not in summary  # text: no frames to read
    versus, examples = summary["test_vs_logreg"], summary["test_examples"]
    wrong = round((1 - summary["test_accuracy"]) * examples)
    assert versus["examples"] == examples
    assert (versus["rnn_only_right"], versus["logreg_only_right"]) == (0, wrong)
    assert versus["mcnemar_p"] == pytest.approx(min(1.0, 2 / 2**wrong))
    stored = json.loads((run / "baselines.json").read_text(encoding="utf-8"))
    assert len(stored["logreg_test_predictions"]) == examples
    evals = [r for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [12, 24]
    assert {"val_loss", "val_error", "val_accuracy", "val_macro_f1"} <= set(evals[0])


def _stop_at(step):
    def callback(trainer):
        if trainer.state.step == step:
            trainer.request_stop()

    return callback


def _losses(run_dir):
    return [r["loss"] for r in read_metrics(run_dir / "metrics.jsonl") if r["kind"] == "train"]


def test_resume_continues_exactly(tmp_path, monkeypatch):
    data = fixtures.reviews()
    config = tiny_config(
        **{"baselines.enabled": False, "model.dropout": 0.2, "model.embedding_dropout": 0.2}
    )
    whole = train(config, tmp_path / "whole", data=data)
    stopped = train(config, tmp_path / "parts", data=data, callbacks=[_stop_at(8)])
    assert (stopped.train.stop_reason, stopped.train.steps) == ("stopped", 8)
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    resumed = resume(tmp_path / "parts")
    assert resumed.train.steps == 24
    assert _losses(tmp_path / "parts") == _losses(tmp_path / "whole")
    assert resumed.test == whole.test


def test_resume_continues_exactly_with_every_augmentation_of_frames(tmp_path, monkeypatch):
    """Noise, offsets, windows and time warps draw from the generator every batch: a resumed
    run must draw what the unbroken one drew."""
    data = fixtures.vectors()
    config = tiny_config(
        True,
        **{
            "baselines.enabled": False,
            "model.input_noise": 0.3,
            "model.input_shift": 0.2,
            "model.random_crop": 0.3,
            "model.time_warp": 0.3,
            "model.pooling": "points",
            "model.pool_points": 3,
        },
    )
    whole = train(config, tmp_path / "whole", data=data)
    train(config, tmp_path / "parts", data=data, callbacks=[_stop_at(8)])
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    resumed = resume(tmp_path / "parts")
    assert resumed.train.steps == whole.train.steps == 24
    assert _losses(tmp_path / "parts") == _losses(tmp_path / "whole")
    assert resumed.test == whole.test


def test_resume_refuses_changed_data(tmp_path, monkeypatch):
    data = fixtures.names()
    train(tiny_config(**{"trainer.max_steps": 4}), tmp_path / "run", data=data)
    changed = fixtures.names()
    changed.labels[0] = changed.labels[1]
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: changed)
    with pytest.raises(ValueError, match="has changed since this run was trained"):
        resume(tmp_path / "run", max_steps=8)


def test_predict_and_evaluate_a_finished_run(tmp_path, monkeypatch):
    data = fixtures.names()
    config = tiny_config(**{"trainer.max_steps": 60, "trainer.eval_every": 20})
    result = train(config, tmp_path / "run", data=data)
    answers = predict_run(tmp_path / "run", ["Yamamoto", "Kowalski"], top=2)
    assert [len(a) for a in answers] == [2, 2]
    assert answers[0][0][0] == "Japanese" and answers[1][0][0] == "Polish"
    assert answers[0][0][1] >= answers[0][1][1]
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    report = evaluate_run(tmp_path / "run")
    assert report["accuracy"] == result.test["accuracy"]
    assert report["macro_f1"] == result.test["macro_f1"]
    assert np.sum(report["confusion_matrix"]) == len(data.splits["test"])
    assert (tmp_path / "run" / "plots" / "confusion-test.png").is_file()


def test_predict_vectors_from_files(tmp_path):
    data = fixtures.vectors()
    train(tiny_config(True, **{"trainer.max_steps": 4}), tmp_path / "run", data=data)
    frames = np.full((4, 3), 2.0, dtype=np.float32)
    np.save(tmp_path / "up.npy", frames)
    np.savetxt(tmp_path / "up.csv", frames, delimiter=",")
    answers = predict_run(tmp_path / "run", [tmp_path / "up.npy", str(tmp_path / "up.csv")])
    assert answers[0] == answers[1]
    with pytest.raises(ValueError, match="give the path of a .npy or .csv file"):
        predict_run(tmp_path / "run", ["Nakamura"])
    np.save(tmp_path / "wide.npy", np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"shape \(T >= 1, 3\)"):
        predict_run(tmp_path / "run", [tmp_path / "wide.npy"])


def test_the_selection_metric_picks_the_best_checkpoint(tmp_path):
    data = fixtures.names()
    for metric, key in (("loss", "val_loss"), ("error", "val_error")):
        config = tiny_config(**{"selection.metric": metric})
        assert ClassifyTask(config, data, fit_encoder(data, config)).eval_metric == key
    result = train(tiny_config(**{"baselines.enabled": False}), tmp_path / "run", data=data)
    evals = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "eval"]
    best = min(evals, key=lambda r: r["val_loss"])
    assert result.summary()["selected_by"] == "val_loss"
    assert (result.train.best_step, result.train.best_metric) == (best["step"], best["val_loss"])
    with pytest.raises(ValueError, match="unknown selection metric 'f1'"):
        tiny_config(**{"selection.metric": "f1"})


def test_an_ensemble_scores_the_mean_of_its_members_probabilities(tmp_path, monkeypatch):
    from rnnkit.tasks.classify_runs import evaluate_ensemble

    data = fixtures.names()
    runs = []
    for seed, hidden in ((0, 16), (1, 12), (2, 16)):
        config = tiny_config(
            **{"trainer.max_steps": 12, "trainer.seed": seed, "model.hidden_size": hidden}
        )
        train(config, tmp_path / f"run{seed}", data=data)
        runs.append(tmp_path / f"run{seed}")
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    report = evaluate_ensemble(runs)
    # the reference: every class's probability from predict_run, averaged by hand
    test = [int(i) for i in data.splits["test"]]
    classes = sorted(set(data.labels))
    truth = np.array([classes.index(data.labels[i]) for i in test])
    mean = np.zeros((len(test), len(classes)))
    for run in runs:
        answers = predict_run(run, [data.inputs[i] for i in test], top=len(classes))
        for row, answer in enumerate(answers):
            for label, probability in answer:
                mean[row, classes.index(label)] += probability / len(runs)
    assert report["ensemble"] == 3 and report["examples"] == len(test)
    assert report["accuracy"] == pytest.approx(float(np.mean(mean.argmax(1) == truth)))
    expected_loss = -np.mean(np.log(mean[np.arange(len(test)), truth]))
    assert report["loss"] == pytest.approx(expected_loss, rel=1e-5)
    for member, run in zip(report["members"], runs, strict=True):
        alone = evaluate_run(run, plot=False)
        assert member["accuracy"] == alone["accuracy"]
        assert member["loss"] == pytest.approx(alone["loss"], rel=1e-6)
    assert "vs_logreg" in report and report["vs_logreg"]["examples"] == len(test)


def test_runs_of_different_validation_splits_combine_on_the_test_split_only(tmp_path, monkeypatch):
    from rnnkit.tasks.classify_runs import evaluate_ensemble

    first, second, moved = fixtures.names(), fixtures.names(), fixtures.names()
    train_0, val_0 = first.splits["train"], first.splits["val"]
    # split seed 1: the same test names, another validation split (swapped with training names)
    second.splits = {
        "train": np.sort(np.concatenate([train_0[len(val_0) :], val_0])),
        "val": train_0[: len(val_0)],
        "test": first.splits["test"],
    }
    # split seed 2: another test split
    moved.splits = {**second.splits, "test": np.roll(first.splits["test"], 1)}
    by_seed = {0: first, 1: second, 2: moved}
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: by_seed[seed])
    for seed in (0, 1, 2):
        config = tiny_config(**{"trainer.max_steps": 12, "data.split_seed": seed})
        train(config, tmp_path / f"s{seed}", data=by_seed[seed])
    report = evaluate_ensemble([tmp_path / "s0", tmp_path / "s1"])
    assert [m["split_seed"] for m in report["members"]] == [0, 1]
    for member, run in zip(report["members"], ("s0", "s1"), strict=True):
        assert member["accuracy"] == evaluate_run(tmp_path / run, plot=False)["accuracy"]
    # the mean of the two runs' probabilities, by hand
    test = [int(i) for i in first.splits["test"]]
    classes = sorted(set(first.labels))
    mean = np.zeros((len(test), len(classes)))
    for run in ("s0", "s1"):
        answers = predict_run(tmp_path / run, [first.inputs[i] for i in test], top=len(classes))
        for row, answer in enumerate(answers):
            for label, probability in answer:
                mean[row, classes.index(label)] += probability / 2
    truth = np.array([classes.index(first.labels[i]) for i in test])
    assert report["accuracy"] == pytest.approx(float(np.mean(mean.argmax(1) == truth)))
    with pytest.raises(ValueError, match="on the test split only"):
        evaluate_ensemble([tmp_path / "s0", tmp_path / "s1"], split="val")
    with pytest.raises(ValueError, match="needs the same test examples"):
        evaluate_ensemble([tmp_path / "s0", tmp_path / "s2"])


def test_an_ensemble_refuses_runs_of_other_data(tmp_path, monkeypatch):
    from rnnkit.tasks.classify_runs import evaluate_ensemble

    data, other = fixtures.names(), fixtures.names()
    other.labels[0] = other.labels[1]
    train(tiny_config(**{"trainer.max_steps": 2}), tmp_path / "a", data=data)
    train(tiny_config(**{"trainer.max_steps": 2}), tmp_path / "b", data=other)
    with pytest.raises(ValueError, match="at least two run directories"):
        evaluate_ensemble([tmp_path / "a"])
    with pytest.raises(ValueError, match="trained on different data or a different split"):
        evaluate_ensemble([tmp_path / "a", tmp_path / "b"])
