"""The tagging task: training lowers the loss, baselines, resume, using a finished run."""

from __future__ import annotations

import pytest
import torch

from rnnkit.tasks.tag import TagTask, fit_encoder, resume, train
from rnnkit.tasks.tag_config import resolve_config
from rnnkit.tasks.tag_runs import evaluate_run, predict_run
from rnnkit.training.metrics import read_metrics
from rnnkit.training.trainer import Trainer
from tests.tasks import labelled_fixtures as fixtures


def tiny_config(**overrides):
    values = {
        "data.batch_size": 4,
        "data.min_count": 1,
        "model.hidden_size": 12,
        "model.embedding_size": 8,
        "optimizer.lr": 0.03,
        "trainer.max_steps": 24,
        "trainer.time_budget": None,
        "trainer.eval_every": 12,
        "trainer.log_every": 4,
        "trainer.tensorboard": False,
    }
    if overrides.get("model.char_features"):  # the character sizes apply to those only
        values.update({"model.char_embedding_size": 4, "model.char_hidden_size": 4})
    return resolve_config({**values, **overrides})


@pytest.mark.parametrize("char_features", [False, True])
def test_training_lowers_the_validation_loss(char_features, tmp_path):
    config = tiny_config(**{"model.char_features": char_features, "baselines.enabled": False})
    data = fixtures.tagged()
    task = TagTask(config, data, fit_encoder(data, config))
    assert task.eval_metric == "val_entity_error"
    torch.manual_seed(0)
    model = task.build_model()
    before = task.score(model, "val")["loss"]
    Trainer(task, model, tmp_path, config.trainer, config.optimizer, config.schedule).fit()
    after = task.score(model, "val")
    assert after["loss"] < 0.5 * before
    assert after["accuracy"] > 0.8


def test_vocabularies_come_from_the_training_split():
    data = fixtures.tagged()
    data.sentences[int(data.splits["test"][0])][2] = "Zoë"
    config = tiny_config(**{"model.char_features": True})
    encoder = fit_encoder(data, config)
    assert "Zoë" not in encoder.words.stoi and "ë" not in encoder.chars.stoi
    encoded = encoder.encode(["met", "Zoë"])
    assert encoded.words[1] == 0 and encoded.chars[1].tolist()[-1] == 0
    batch = encoder.batch([encoded, encoder.encode(["in"])])
    assert batch["chars"].shape == (2, 2, 3)
    assert batch["char_lengths"].tolist() == [[3, 3], [2, 0]]


def test_train_writes_a_complete_run_with_baselines(tmp_path):
    result = train(tiny_config(**{"model.char_features": True}), tmp_path / "run",
                   data=fixtures.tagged())  # fmt: skip
    run = tmp_path / "run"
    for name in ("config.json", "vocab.json", "chars.json", "baselines.json"):
        assert (run / name).is_file(), name
    summary = result.summary()
    assert summary["steps"] == 24 and 0 <= summary["test_entity_f1"] <= 1
    # in the test sentences (0, 10, 20, 30) every word was seen in training with its tag
    assert summary["baseline_most_frequent_tag_accuracy"] == 1.0
    assert summary["baseline_most_frequent_tag_entity_f1"] == 1.0
    assert summary["baseline_majority_accuracy"] == pytest.approx(
        sum(t == "O" for i in (0, 10, 20, 30) for t in fixtures.tagged().tags[i])
        / sum(len(fixtures.tagged().tags[i]) for i in (0, 10, 20, 30))
    )


def _stop_at(step):
    def callback(trainer):
        if trainer.state.step == step:
            trainer.request_stop()

    return callback


def test_resume_continues_exactly(tmp_path, monkeypatch):
    data = fixtures.tagged()
    config = tiny_config(**{"baselines.enabled": False, "model.char_features": True})
    whole = train(config, tmp_path / "whole", data=data)
    train(config, tmp_path / "parts", data=data, callbacks=[_stop_at(8)])
    monkeypatch.setattr("rnnkit.tasks.tag.load_data", lambda dataset, seed: data)
    resumed = resume(tmp_path / "parts")
    losses = [
        [r["loss"] for r in read_metrics(path / "metrics.jsonl") if r["kind"] == "train"]
        for path in (tmp_path / "whole", tmp_path / "parts")
    ]
    assert losses[0] == losses[1]
    assert resumed.test == whole.test


def test_predict_and_evaluate(tmp_path, monkeypatch):
    data = fixtures.tagged()
    config = tiny_config(**{"trainer.max_steps": 60, "trainer.eval_every": 30})
    result = train(config, tmp_path / "run", data=data)
    [tagged] = predict_run(tmp_path / "run", ["I met Bob Smith in Oslo ."])
    assert [w for w, _ in tagged.pairs] == ["I", "met", "Bob", "Smith", "in", "Oslo", "."]
    assert tagged.pairs[2][1] == "B-PER" and tagged.pairs[5][1] == "B-LOC"
    assert ("LOC", "Oslo") in tagged.entities
    # probabilities: the softmax of the model's scores, by hand; the predicted tag first
    from rnnkit.tasks.tag_runs import load_run

    run = load_run(tmp_path / "run")
    batch = run.encoder.batch([run.encoder.encode("I met Bob Smith in Oslo .".split())])
    with torch.no_grad():
        logits, _ = run.model(**batch)
    expected = torch.softmax(logits[0], dim=1).numpy()  # (T, K)
    tag_set = run.encoder.tag_set
    for t, ranked in enumerate(tagged.ranked):
        assert len(ranked) == min(3, len(tag_set))
        assert ranked[0][0] == tagged.pairs[t][1]
        for tag, probability in ranked:
            assert probability == pytest.approx(float(expected[t, tag_set.index(tag)]), abs=1e-6)
        assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    [everything] = predict_run(tmp_path / "run", ["Bob"], top=100)
    assert sum(p for _, p in everything.ranked[0]) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="top must be a positive integer"):
        predict_run(tmp_path / "run", ["Bob"], top=0)
    with pytest.raises(ValueError, match="nothing to tag"):
        predict_run(tmp_path / "run", ["   "])
    monkeypatch.setattr("rnnkit.tasks.tag.load_data", lambda dataset, seed: data)
    report = evaluate_run(tmp_path / "run")
    assert report["accuracy"] == result.test["accuracy"]
    assert report["entity_f1"] == result.test["entity_f1"]
    assert set(report["per_type"]) == {"PER", "LOC"}


def test_a_tag_set_without_entities_is_scored_by_tokens(tmp_path):
    data = fixtures.tagged()
    data.tags = [["NNP" if t != "O" else "X" for t in tags] for tags in data.tags]
    data.tag_set = ["NNP", "X"]
    result = train(tiny_config(**{"trainer.max_steps": 4}), tmp_path / "run", data=data)
    assert "test_entity_f1" not in result.summary()
    assert "baseline_most_frequent_tag_entity_f1" not in result.baselines
    [tagged] = predict_run(tmp_path / "run", ["I met Ann"])
    assert tagged.entities is None


def test_a_crf_tagger_trains_decodes_valid_bio_and_keeps_its_constraints(tmp_path, monkeypatch):
    from rnnkit.evaluation.entities import bio_spans
    from rnnkit.tasks.tag_runs import load_run

    data = fixtures.tagged()
    config = tiny_config(**{"model.crf": True, "trainer.max_steps": 60, "trainer.eval_every": 30})
    result = train(config, tmp_path / "run", data=data)
    assert result.test["accuracy"] > 0.8
    run = load_run(tmp_path / "run")
    tag_set = run.encoder.tag_set
    allowed = run.model.crf.allowed_transitions
    for j, previous in enumerate(tag_set):
        for k, tag in enumerate(tag_set):
            if tag.startswith("I-"):
                assert bool(allowed[j, k]) == (previous[2:] == tag[2:] and previous != "O")
    sentences = ["I met Bob Smith in Oslo .", "Smith Oslo Oslo Bob in in", "Oslo"]
    for tagged in predict_run(tmp_path / "run", sentences, top=len(tag_set)):
        tags = [t for _, t in tagged.pairs]
        for (_, tag), ranked in zip(tagged.pairs, tagged.ranked, strict=True):
            assert ranked[0][0] == tag  # the Viterbi tag first, with its marginal
            assert sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-4)
        for previous, tag in zip(["O", *tags], tags, strict=False):
            if tag.startswith("I-"):
                assert previous in (f"B-{tag[2:]}", tag)
        assert len(tagged.entities) == len(bio_spans(tags))
    monkeypatch.setattr("rnnkit.tasks.tag.load_data", lambda dataset, seed: data)
    report = evaluate_run(tmp_path / "run")
    assert report["accuracy"] == result.test["accuracy"]
    assert report["entity_f1"] == result.test["entity_f1"]
