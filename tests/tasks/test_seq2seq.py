"""Translation as a Trainer task: a tiny run on the toy corpus, its summary and files, exact
resume, evaluation of a finished run, and the teacher-forcing schedules."""

import json
import math

import pytest
import torch

from rnnkit.tasks.seq2seq import resume, train
from rnnkit.tasks.seq2seq_config import TeacherForcingConfig, resolve_config
from rnnkit.tasks.seq2seq_runs import evaluate_run, load_run, translate_run
from rnnkit.training.checkpoint import load_checkpoint
from tests.tasks.seq2seq_fixtures import toy_values, write_pairs


@pytest.fixture
def toy_config(tmp_path):
    path = write_pairs(tmp_path / "toy.tsv")

    def make(**overrides):
        values = {
            "decoding.beam_size": 2,
            "decoding.heatmaps": 1,
            "schedule.name": "constant",  # a cosine schedule depends on max_steps
            "trainer.max_steps": 6,
            "trainer.time_budget": None,
            "trainer.eval_every": 6,
            "trainer.tensorboard": False,
        }
        return resolve_config(toy_values(path, **{**values, **overrides}))

    return make


def test_a_tiny_run_writes_everything_and_scores_the_test_split(toy_config, tmp_path):
    result = train(toy_config(), tmp_path / "run")
    summary = result.summary()
    assert summary["steps"] == 6 and summary["stop_reason"] == "max_steps"
    for key in ("test_bleu", "test_chrf", "test_bleu_greedy", "test_chrf_greedy", "val_loss"):
        assert 0 <= summary[key] < 100 if "bleu" in key or "chrf" in key else summary[key] > 0
    assert summary["test_pairs"] == 4 and summary["beam_size"] == 2
    run = tmp_path / "run"
    for name in (
        "config.json",
        "vocab-source.json",
        "vocab-target.json",
        "metrics.jsonl",
        "translations-test.tsv",
        "test-scores.json",
        "plots/attention-test-1.png",
    ):
        assert (run / name).is_file(), name
    rows = (run / "translations-test.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "origin\tsource\treference\tgreedy\tbeam" and len(rows) == 5
    assert json.loads((run / "config.json").read_text())["task"] == "seq2seq"


def test_resume_continues_exactly(toy_config, tmp_path):
    straight = train(toy_config(**{"trainer.max_steps": 6}), tmp_path / "straight")
    train(toy_config(**{"trainer.max_steps": 3}), tmp_path / "split")
    resumed = resume(tmp_path / "split", max_steps=6)
    assert resumed.train.steps == 6
    a = load_checkpoint(tmp_path / "straight" / "checkpoints", "last").section("model")
    b = load_checkpoint(tmp_path / "split" / "checkpoints", "last").section("model")
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, rtol=0, atol=0)
    assert resumed.summary()["test_bleu"] == pytest.approx(straight.summary()["test_bleu"])


def test_scheduled_sampling_run_translate_and_evaluate(toy_config, tmp_path):
    config = toy_config(
        **{
            "teacher_forcing.start": 1.0,
            "teacher_forcing.end": 0.5,
            "teacher_forcing.schedule": "linear",
            "teacher_forcing.steps": 4,
            "model.attention": "additive",
        }
    )
    train(config, tmp_path / "run")
    [greedy, beam] = [
        translate_run(tmp_path / "run", ["The red dog sees the zebra."], beam_size=k)[0]
        for k in (1, 3)
    ]
    assert greedy.unknown_words == ["zebra"]
    assert greedy.weights.shape == (len(greedy.ids) + 1, 7)  # 7 source tokens
    assert beam.weights.sum(1) == pytest.approx(1.0, abs=1e-5)
    scores = evaluate_run(tmp_path / "run", split="val", beam_size=2)
    assert scores["split"] == "val" and scores["pairs"] == 4
    assert load_run(tmp_path / "run").model.config.attention == "additive"
    write_pairs(tmp_path / "toy.tsv", count=81)  # the data changes: evaluation refuses it
    with pytest.raises(ValueError, match="has changed since this run was trained"):
        evaluate_run(tmp_path / "run")


def test_teacher_forcing_schedules():
    assert TeacherForcingConfig(0.9).ratio(10_000) == 0.9
    linear = TeacherForcingConfig(1.0, 0.5, "linear", 100)
    assert [linear.ratio(i) for i in (0, 50, 100, 1000)] == [1.0, 0.75, 0.5, 0.5]
    curve = TeacherForcingConfig(1.0, 0.0, "inverse_sigmoid", 1000)
    k = 1000 / math.log(1000)
    assert curve.ratio(0) == pytest.approx(k / (k + 1))
    assert curve.ratio(1000) == pytest.approx(k / (k + 1000))
    assert 0.4 < curve.ratio(int(k * math.log(k))) < 0.6  # halfway at i = k ln k
    assert curve.ratio(10**9) == pytest.approx(0.0)
    values = [curve.ratio(i) for i in range(0, 3000, 100)]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError, match="schedule"):
        TeacherForcingConfig(schedule="exponential").validate()
    with pytest.raises(ValueError, match="start must be in"):
        TeacherForcingConfig(start=1.5).validate()
