"""A CRF tagger on tags that break BIO's rules: IOB1 data (CoNLL-2003's original format, where
``I-X`` begins an entity unless it follows another ``X``) and a stray ``I-X`` after ``O``. The
BIO constraints would make such gold sequences cost about 1e4 nats each; the tagger must
notice, say so once, and learn its transitions instead."""

from __future__ import annotations

import logging

import numpy as np
import torch

from rnnkit.nn.crf import bio_constraints, forbidden_steps
from rnnkit.tasks.tag import TagTask, fit_encoder, resume, train
from rnnkit.tasks.tag_runs import evaluate_run, load_run, predict_run
from rnnkit.training.metrics import read_metrics
from tests.tasks import labelled_fixtures as fixtures
from tests.tasks.test_tag import tiny_config

CRF = {"model.crf": True, "baselines.enabled": False}


def iob1() -> fixtures.Tagged:
    """The tiny NER set in IOB1: no two entities of a type touch, so every B- becomes I-."""
    data = fixtures.tagged()
    data.tags = [[t if t == "O" else "I-" + t[2:] for t in tags] for tags in data.tags]
    data.tag_set = sorted({t for tags in data.tags for t in tags})
    return data


def _notes(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rnnkit.tasks.tag"]


def test_forbidden_steps_finds_each_sentences_first_breach_like_a_hand_loop():
    tag_set = ["B-LOC", "B-PER", "I-LOC", "I-PER", "O"]
    constraints = bio_constraints(tag_set)
    rng = np.random.default_rng(0)
    sentences = [rng.integers(0, 5, rng.integers(1, 6)) for _ in range(200)]
    expected = []
    for index, tags in enumerate(sentences):
        names = ["O", *(tag_set[k] for k in tags)]  # "O" before the first: I-X may not open
        for t in range(1, len(names)):
            previous, tag = names[t - 1], names[t]
            if tag.startswith("I-") and previous not in ("B-" + tag[2:], tag):
                expected.append((index, t - 1))
                break
    assert expected and len(expected) < len(sentences)
    assert forbidden_steps(sentences, *constraints) == expected
    end = torch.ones(5, dtype=bool)
    end[4] = False  # a sentence may not end in O
    assert forbidden_steps([[0, 4], [4, 0]], torch.ones(5, 5, dtype=bool), end, end) == [
        (0, 2),
        (1, 0),
    ]


def test_a_crf_tagger_learns_iob1_tags_with_free_transitions(tmp_path, caplog, monkeypatch):
    data = iob1()
    config = tiny_config(**CRF, **{"trainer.max_steps": 60, "trainer.eval_every": 30})
    with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.tag"):
        result = train(config, tmp_path / "run", data=data)
    [note] = _notes(caplog)  # said once; sentence 2 is the first training sentence
    assert "32 of 32 training sentences" in note
    assert "sentence 2 of tiny-ner, I-PER at word 3 ('Bob') follows O" in note
    losses = [r["loss"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl")
              if r["kind"] == "train"]  # fmt: skip
    assert max(losses) < 5.0  # nats per token; with BIO's constraints about 1e4 / 6
    assert losses[-1] < 0.5 * losses[0]
    # the test split's 4 sentences hold 8 entities; an I-X after O begins one, as conlleval
    assert result.test["entities"] == 8
    assert result.test["entity_f1"] > 0.9
    run = load_run(tmp_path / "run")
    crf = run.model.crf
    assert crf.allowed_transitions.all() and crf.allowed_start.all() and crf.allowed_end.all()
    [tagged] = predict_run(tmp_path / "run", ["I met Bob in Oslo ."])
    assert [t for _, t in tagged.pairs] == ["O", "O", "I-PER", "O", "I-LOC", "O"]
    assert tagged.entities == [("PER", "Bob"), ("LOC", "Oslo")]
    monkeypatch.setattr("rnnkit.tasks.tag.load_data", lambda dataset, seed: data)
    assert evaluate_run(tmp_path / "run")["entity_f1"] == result.test["entity_f1"]


def test_a_stray_i_tag_in_bio_data_frees_the_transitions_and_is_named(caplog):
    data = fixtures.tagged()
    data.tags[7][4] = "I-LOC"  # sentence 8, a training one: "I met Dua in Rome ."
    data.tag_set = sorted({t for tags in data.tags for t in tags})
    config = tiny_config(**CRF)
    with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.tag"):
        task = TagTask(config, data, fit_encoder(data, config))
    assert _notes(caplog) == []  # the task only finds it; a new run says it (prepare)
    assert task.constraints is None
    assert "1 of 32 training sentences" in task.constraint_note
    assert "sentence 8 of tiny-ner, I-LOC at word 5 ('Rome') follows O" in task.constraint_note
    torch.manual_seed(0)
    model = task.build_model()
    assert model.crf.allowed_transitions.all() and model.crf.allowed_start.all()
    with torch.no_grad():
        _, loss = model(**task.collate(np.array([7, 8])))
    assert loss < 5.0  # nats per token; with BIO's constraints about 1e4 / 12


def test_bio_data_keeps_the_constraints_through_resume(tmp_path, caplog, monkeypatch):
    data = fixtures.tagged()
    config = tiny_config(**CRF)
    task = TagTask(config, data, fit_encoder(data, config))
    assert task.constraint_note is None
    expected = bio_constraints(task.encoder.tag_set)
    for built, wanted in zip(task.constraints, expected, strict=True):
        assert torch.equal(built, wanted)

    def stop_at_8(trainer):
        if trainer.state.step == 8:
            trainer.request_stop()

    with caplog.at_level(logging.WARNING, logger="rnnkit.tasks.tag"):
        train(config, tmp_path / "run", data=data, callbacks=[stop_at_8])
        monkeypatch.setattr("rnnkit.tasks.tag.load_data", lambda dataset, seed: data)
        resume(tmp_path / "run")
    assert _notes(caplog) == []
    crf = load_run(tmp_path / "run").model.crf
    assert torch.equal(crf.allowed_transitions, expected[0])
    assert torch.equal(crf.allowed_start, expected[1])
