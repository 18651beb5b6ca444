"""The one decoding config of translation and captioning (``rnnkit.generation.decoding``):
its limits, its checks, and the config.json sections of runs written before it existed,
which read with the lengths they were decoded with."""

from __future__ import annotations

import json

import pytest

from rnnkit.generation.decoding import DecodingConfig
from rnnkit.tasks.caption_config import CaptionConfig
from rnnkit.tasks.seq2seq_config import Seq2SeqTaskConfig
from tests.compat import harness


def test_longest_output():
    assert DecodingConfig(max_length=20).longest() == 20  # a captioner: no source
    assert DecodingConfig(max_length=10, max_length_ratio=2.0).longest(7) == 24
    assert Seq2SeqTaskConfig().decoding.longest(5) == int(2.0 * 5) + 10
    assert CaptionConfig().decoding.longest() == 20


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("beam_size", 0, "beam_size must be a positive integer"),
        ("max_length", 0, "max_length must be a positive integer"),
        ("length_penalty", -0.1, "length_penalty must be >= 0"),
        ("max_length_ratio", -1.0, "max_length_ratio must be >= 0"),
        ("length_penalty", float("inf"), "length_penalty must be >= 0 and finite, got inf"),
        ("max_length_ratio", float("inf"), "max_length_ratio must be >= 0 and finite"),
        ("heatmaps", -1, "heatmaps must be an integer >= 0"),
    ],
)
def test_checks(field, value, message):
    with pytest.raises(ValueError, match=message):
        DecodingConfig(**{field: value}).validate()


@pytest.mark.parametrize(
    ("task", "config_class", "longest", "heatmaps"),
    [("seq2seq", Seq2SeqTaskConfig, 10 + int(2.0 * 7), 0), ("caption", CaptionConfig, 20, 4)],
)
def test_old_runs_decode_as_they_did(task, config_class, longest, heatmaps):
    """seq2seq's old section had no max_length (its limit was 2 * source + 10), caption's
    no max_length_ratio and no heatmaps (it drew 4 attention maps)."""
    record = json.loads((harness.OLD_RUNS / task / "config.json").read_text(encoding="utf-8"))
    decoding = config_class.from_dict(record["config"]).validate().decoding
    assert decoding.longest(7 if task == "seq2seq" else 0) == longest
    assert decoding.heatmaps == heatmaps
