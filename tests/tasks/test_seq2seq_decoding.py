"""Translation's decoding and scoring of a task's sources, against a hand loop over one
source at a time in eval mode: a source gets in a batch what it gets alone, a beam of one is
greedy, ``<unk>``, ``<pad>`` and ``<bos>`` are never output, and the loss and the attention
maps are computed without dropout whatever mode the model is in."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.generation.decoding import DecodingConfig
from rnnkit.tasks import seq2seq_text
from rnnkit.tasks.seq2seq import prepare, train
from rnnkit.tasks.seq2seq_config import resolve_config
from rnnkit.tasks.seq2seq_runs import evaluate_run, load_run, translate
from rnnkit.tasks.seq2seq_text import (
    attention_of,
    never_generated,
    sampled_translate,
    translate_ids,
)
from tests.generation.helpers import length_penalties
from tests.models.test_seq2seq_decoding import SPECIALS, favour_specials, greedy_by_hand
from tests.tasks import seq2seq_fixtures
from tests.tasks.seq2seq_fixtures import write_pairs

# alpha 0: a beam of one is greedy (``beam_search``'s docstring); limits 3 .. 15 tokens
DECODING = DecodingConfig(beam_size=1, length_penalty=0.0, max_length=2, max_length_ratio=1.5)
ATTENTIONS = ["none", "additive", "multiplicative"]


def toy_values(tmp_path, **overrides) -> dict:
    path = write_pairs(tmp_path / "toy.tsv")
    return seq2seq_fixtures.toy_values(path, **{"model.attention": "additive", **overrides})


def toy_task(tmp_path, **overrides):
    """The task on the toy corpus and its untrained model (in training mode)."""
    task = prepare(resolve_config(toy_values(tmp_path, **overrides)), None)
    torch.manual_seed(0)
    return task, task.build_model().train()


def sources_of_many_lengths(task, count: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    vocab_size = len(task.vocabs.source)
    return [rng.integers(4, vocab_size, size=n) for n in rng.integers(1, 10, size=count)]


def by_hand(model, sources) -> list[list[int]]:
    """Each source decoded alone by the hand loop in eval mode, specials blocked."""
    model.eval()
    return [
        greedy_by_hand(model, torch.from_numpy(s), DECODING.longest(len(s)), SPECIALS)
        for s in sources
    ]


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_each_source_gets_in_a_batch_what_it_gets_alone(tmp_path, attention):
    task, model = toy_task(tmp_path, **{"model.attention": attention})
    sources = sources_of_many_lengths(task)
    batched = translate_ids(model, sources, DECODING)
    assert model.training  # the mode it was in is restored
    expected = by_hand(model, sources)
    assert batched == expected
    limits = [DECODING.longest(len(s)) for s in sources]
    # some short source ran to its own limit, below the batch's longest: the limit mattered
    assert any(len(ids) == limit < max(limits) for ids, limit in zip(batched, limits, strict=True))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_beam_of_one_is_batched_greedy(tmp_path, attention):
    task, model = toy_task(tmp_path, **{"model.attention": attention})
    sources = sources_of_many_lengths(task)
    beam = translate_ids(model, sources, DECODING, beam_size=1)
    assert beam == translate_ids(model, sources, DECODING) == by_hand(model, sources)


def test_a_beam_of_one_is_greedy_under_the_runs_length_penalty(tmp_path, monkeypatch):
    """``rnnkit translate --beam 1`` is greedy, as its help says, although a run's decoding
    has a length penalty (0.6 by default), under which a beam of one can set an ended
    translation aside for a longer one: a beam of one searches with alpha 0."""
    task, model = toy_task(tmp_path)
    penalised = DecodingConfig(beam_size=1, length_penalty=0.6, max_length=2, max_length_ratio=1.5)
    penalties = length_penalties(monkeypatch, seq2seq_text)
    sources = sources_of_many_lengths(task)
    assert translate_ids(model, sources, penalised, 1) == translate_ids(model, sources, penalised)
    assert set(penalties) == {0.0}
    translate_ids(model, sources[:1], penalised, beam_size=2)
    assert penalties[-1] == 0.6


def test_no_decoding_outputs_unk_pad_or_bos(tmp_path):
    task, model = toy_task(tmp_path)
    specials = [task.vocabs.target.itos[i] for i in never_generated(model)]
    assert specials == ["<unk>", "<pad>", "<bos>"] and never_generated(model) == SPECIALS
    model = favour_specials(model)  # unblocked, every step would choose one of them
    sources = sources_of_many_lengths(task)
    expected = by_hand(model, sources)
    assert translate_ids(model, sources, DECODING) == expected
    assert translate_ids(model, sources, DECODING, beam_size=1) == expected
    for ids in translate_ids(model, sources, DECODING, beam_size=3):
        assert ids and not set(ids) & set(SPECIALS)
    for seed, source in enumerate(sources):
        sampled = sampled_translate(model, source, DECODING, 1.0, seed)
        assert sampled and not set(sampled) & set(SPECIALS)
    assert [sampled_translate(model, s, DECODING, 0.0) for s in sources] == expected


def test_the_loss_is_computed_without_dropout_and_the_mode_restored(tmp_path):
    task, model = toy_task(tmp_path, **{"model.dropout": 0.5})
    loss = task.loss(model, "val")
    assert all(module.training for module in model.modules())
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in task.splits["val"]:  # each pair alone, cross-entropy summed by hand
            src = torch.from_numpy(task.sources[i]).unsqueeze(0)  # (1, S)
            tgt = torch.from_numpy(task.targets[i]).unsqueeze(0)  # (1, T + 1)
            logits, _ = model(src, torch.tensor([src.shape[1]]), tgt)  # (1, T, V)
            total += float(F.cross_entropy(logits[0], tgt[0, 1:], reduction="sum"))
            tokens += tgt.shape[1] - 1
    assert loss == pytest.approx(total / tokens, rel=1e-5)


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
def test_attention_maps_are_drawn_without_dropout(tmp_path, attention):
    task, model = toy_task(tmp_path, **{"model.dropout": 0.5, "model.attention": attention})
    source, ids = task.sources[task.splits["test"][0]], [5, 6, 7]
    weights = attention_of(model, source, ids)  # (len(ids) + 1, S)
    assert model.training
    model.eval()
    rows = []
    with torch.no_grad():  # the decoder reads <bos> ids, one step at a time
        state = model.encode(torch.from_numpy(source).unsqueeze(0), torch.tensor([len(source)]))
        for token in [model.bos_id, *ids]:
            _, state, step_weights = model.step(torch.tensor([token]), state)
            rows.append(step_weights[0])
    np.testing.assert_allclose(weights, torch.stack(rows).numpy(), rtol=1e-5, atol=1e-7)


def test_a_runs_test_loss_is_its_evaluated_loss_and_translate_never_says_specials(tmp_path):
    values = toy_values(tmp_path, **{"model.dropout": 0.5, "decoding.beam_size": 2})
    values.update({"trainer.max_steps": 6, "trainer.eval_every": 6, "trainer.time_budget": None})
    values.update({"trainer.tensorboard": False, "schedule.name": "constant"})
    train(resolve_config(values), tmp_path / "run")
    written = json.loads((tmp_path / "run" / "test-scores.json").read_text())
    evaluated = evaluate_run(tmp_path / "run", beam_size=None)  # a model loaded in eval mode
    assert written["loss"] == pytest.approx(evaluated["loss"], rel=1e-6)
    run = load_run(tmp_path / "run")
    favour_specials(run.model)
    sentence = "The red dog sees the cat."
    for beam_size, temperature in [(1, None), (3, None), (1, 1.0)]:
        said = translate(run, sentence, beam_size, temperature, seed=0)
        assert said.ids and not set(said.ids) & set(SPECIALS), (beam_size, temperature)
        assert "<" not in said.text
