"""The char model on its memory-mapped token file trains and evaluates exactly as on the text
encoded in memory (the reference: ``encode_corpus`` on the whole ``str``)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.data.encoding import encode_corpus
from rnnkit.tasks.charlm import SPEC, CharLMTask, mean_loss, train
from rnnkit.tasks.charlm_runs import evaluate_run, load_run


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))


def test_the_mapped_task_serves_and_scores_as_the_one_in_memory(tiny_config):
    config = tiny_config()
    mapped = SPEC.prepare(config, None)
    text = Path(config.data.source).read_text(encoding="utf-8")
    in_memory = CharLMTask(config, encode_corpus(text, "char", config.data.split))
    for part in ("train", "val", "test"):
        ids = getattr(mapped.corpus, part)
        assert isinstance(ids, np.memmap) and not ids.flags.owndata  # a view of the file
        np.testing.assert_array_equal(ids, getattr(in_memory.corpus, part))
    assert mapped.vocab == in_memory.vocab
    epochs = 2 * len(in_memory.streams) + 1
    for ours, theirs in zip(
        islice(mapped.train_batches(5), epochs), in_memory.train_batches(5), strict=False
    ):
        assert ours.step == theirs.step and ours.index == theirs.index
        assert torch.equal(ours.inputs, theirs.inputs)
        assert torch.equal(ours.targets, theirs.targets)
    torch.manual_seed(0)
    model = mapped.build_model()
    assert mapped.evaluate(model) == in_memory.evaluate(model)


def test_evaluating_another_text_from_its_token_file(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    other = tmp_path / "other.txt"
    other.write_text("ROMEO: what light? zzz\n" * 30, encoding="utf-8")
    result = evaluate_run(tmp_path / "r", data=str(other))
    run = load_run(tmp_path / "r", "best")
    ids = run.vocab.encode_array(other.read_text(encoding="utf-8"))
    data = run.config.data
    reference = mean_loss(run.model, ids, data.batch_size, data.seq_len)
    assert result["nats"] == pytest.approx(reference, rel=1e-6)
    assert result["unknown_tokens"] == int((ids == run.vocab.unk_id).sum()) == 90
