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
