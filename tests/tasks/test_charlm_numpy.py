"""--engine numpy: the reference trainer writes a run directory with metrics and a sample."""

from __future__ import annotations

import json
import math

import pytest

from rnnkit.tasks.charlm_numpy import NumpyCharLMConfig, train_numpy
from rnnkit.tasks.charlm_runs import load_run
from rnnkit.training.metrics import read_metrics


def test_numpy_engine_writes_metrics_and_a_sample(tiny_text, tmp_path):
    config = NumpyCharLMConfig(source=str(tiny_text), hidden_size=16, steps=30, sample_length=20)
    summary = train_numpy(config, tmp_path / "np")
    run = tmp_path / "np"
    records = read_metrics(run / "metrics.jsonl")
    train = [r["loss"] for r in records if r["kind"] == "train"]
    assert len(train) == 30 and train[-1] < train[0]
    assert records[-1]["kind"] == "eval" and records[-1]["val_nats"] == summary["val_nats"]
    assert summary["val_bpc"] == pytest.approx(summary["val_nats"] / math.log(2))
    assert json.loads((run / "config.json").read_text())["engine"] == "numpy"
    assert len(summary["sample"]) == 21 and (run / "samples.txt").exists()
    assert (run / "plots" / "loss.png").exists()
    with pytest.raises(ValueError, match="--engine numpy"):
        load_run(run)
    with pytest.raises(ValueError, match="holds a run; choose another --out") as refused:
        train_numpy(config, run)  # it said "continue it with --resume", which cannot
    assert "--resume" not in str(refused.value)
    (run / "config.json").write_text('{"task": "charlm"}')  # a config.json cut short
    with pytest.raises(ValueError, match="config.json names no engine .* incomplete"):
        load_run(run)  # it said "was trained with --engine None"


def test_numpy_validation_loss_is_chance_for_an_untrained_uniform_model(tiny_text):
    """With zero output weights every character has probability 1/V: loss ln V exactly."""
    import numpy as np

    from rnnkit.reference import charlm as reference

    text = tiny_text.read_text()
    params, history = reference.train(text, hidden_size=8, steps=0)
    params["weight_hy"][:] = 0
    params["bias_y"][:] = 0
    loss = reference.mean_loss(params, history, text[:500], seq_len=7, batch_size=3)
    assert loss == pytest.approx(np.log(len(history.vocab)))


def test_numpy_engine_rejects_its_unknown_options(tiny_text):
    with pytest.raises(ValueError, match="optimizers sgd, momentum, adagrad, adam"):
        train_numpy(NumpyCharLMConfig(source=str(tiny_text), optimizer="rmsprop"))


def _training_that_fails(monkeypatch):
    from rnnkit.reference import charlm as reference

    calls = []

    def fails(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("training failed")

    monkeypatch.setattr(reference, "train", fails)
    return calls


def test_numpy_engine_refuses_a_taken_out_before_training(tiny_text, tmp_path, monkeypatch):
    """It trained to the end, then found that ``run_dir`` held a run (or other files)."""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine\n")
    calls = _training_that_fails(monkeypatch)
    with pytest.raises(ValueError, match="already holds files and is not an rnnkit run"):
        train_numpy(NumpyCharLMConfig(source=str(tiny_text), steps=5), taken)
    assert calls == [] and [p.name for p in taken.iterdir()] == ["notes.txt"]


def test_numpy_engine_leaves_nothing_when_training_fails(tiny_text, tmp_path, monkeypatch):
    """The run directory is made before training, and removed again if training fails: a
    new folder entirely, an empty folder the user made back to empty."""
    calls = _training_that_fails(monkeypatch)
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (tmp_path / "new", empty):
        with pytest.raises(RuntimeError, match="training failed"):
            train_numpy(NumpyCharLMConfig(source=str(tiny_text), steps=5), out)
    assert len(calls) == 2
    assert not (tmp_path / "new").exists() and list(empty.iterdir()) == []


def test_numpy_engine_decodes_with_the_encoding_given(tmp_path):
    path = tmp_path / "latin1.txt"
    text = "na\u00efve caf\u00e9, d\u00e9j\u00e0 vu\n" * 80
    path.write_bytes(text.encode("latin-1"))
    config = NumpyCharLMConfig(source=str(path), hidden_size=8, steps=3, sample_length=5)
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        train_numpy(config, tmp_path / "strict")
    config.encoding = "latin-1"
    train_numpy(config, tmp_path / "latin1")
    assert set(json.loads((tmp_path / "latin1" / "vocab.json").read_text())["symbols"]) >= set(
        "\u00efe\u00e9\u00e0"
    )
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        train_numpy(NumpyCharLMConfig(source=str(path), encoding="klingon"))
