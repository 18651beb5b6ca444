"""GradientDiagnostics: records in metrics.jsonl and TensorBoard, wired to charlm's
--diagnose-every, and no effect at all on the training run it watches."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from rnnkit.diagnostics import GradientDiagnostics
from rnnkit.diagnostics.language_model import (
    language_model_diagnostics,
    language_model_loss,
    text_batch,
)
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.tasks.charlm import train
from rnnkit.tasks.charlm_config import resolve_config
from rnnkit.training.checkpoint import load_checkpoint
from rnnkit.training.metrics import MetricsLogger, read_metrics


@pytest.fixture
def tiny_config(text_file):
    def make(**overrides):
        values = {
            "data.source": str(text_file),
            "data.max_chars": None,
            "data.seq_len": 10,
            "data.batch_size": 4,
            "model.hidden_size": 12,
            "model.num_layers": 2,
            "model.dropout": 0.3,  # dropout draws from the random stream at every step
            "trainer.max_steps": 6,
            "trainer.eval_every": 6,
            "sampling.length": 10,
            "diagnostics.seq_len": 30,
            "diagnostics.batch_size": 2,
        }
        return resolve_config("smoke", {**values, **overrides})

    return make


def _final_weights(run_dir):
    return load_checkpoint(run_dir / "checkpoints", "last").section("model")


def test_diagnose_every_logs_records_to_metrics_jsonl(tiny_config, tmp_path):
    train(tiny_config(**{"diagnostics.every": 2}), tmp_path / "run")
    records = read_metrics(tmp_path / "run/metrics.jsonl")
    records = [r for r in records if r["kind"] == "diagnostics"]
    assert [r["step"] for r in records] == [2, 4, 6]
    record = records[-1]
    assert record["loss"] == "last" and record["seq_len"] == 30
    for layer in ("l0", "l1"):
        for gate in "ifgo":
            assert record[f"sigma_max/{layer}/{gate}"] >= record[f"spectral_radius/{layer}/{gate}"]
            assert 0 <= record[f"saturation/{layer}/{gate}"] <= 1
        for part in "hc":
            norms = [record[f"grad_norm/{layer}/{part}/d{d}"] for d in (0, 10)]
            assert norms[0] > norms[1] > 0
    assert "grad_norm/l0/h/d50" not in record  # beyond the 30 steps measured
    assert record["memory_horizon"] == record["memory_horizon/l0/h"]
    assert record["clip_fraction"] == 0.0  # the smoke preset's clip norm is never reached here


def test_records_go_to_tensorboard_as_scalars(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(cell="lstm", hidden_size=4), 5)
    idx = torch.randint(0, 5, (12, 2))
    metrics = MetricsLogger(tmp_path, tensorboard=True)
    trainer = SimpleNamespace(model=model, state=SimpleNamespace(step=0, clip_count=0))
    trainer.metrics = metrics
    callback = GradientDiagnostics(3, language_model_loss(idx, idx))
    for step in (3, 6):
        trainer.state.step = step
        callback(trainer)
    metrics.close()
    events = EventAccumulator(str(tmp_path)).Reload()
    scalars = events.Tags()["scalars"]
    assert {"diagnostics/memory_horizon", "diagnostics/sigma_max/l0/f"} <= set(scalars)
    assert [e.step for e in events.Scalars("diagnostics/grad_norm/l0/c/d10")] == [3, 6]
    logged = [r for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert events.Scalars("diagnostics/saturation/l0/f")[-1].value == pytest.approx(
        logged[-1]["saturation/l0/f"]
    )


def test_training_is_the_same_with_and_without_diagnostics(tiny_config, tmp_path):
    plain = train(tiny_config(), tmp_path / "plain")
    watched = train(tiny_config(**{"diagnostics.every": 1}), tmp_path / "watched")
    assert watched.train.metrics == plain.train.metrics
    expected, actual = _final_weights(tmp_path / "plain"), _final_weights(tmp_path / "watched")
    assert all(torch.equal(expected[name], actual[name]) for name in expected)

    # ...and the comparison can tell: a callback that draws one random number changes the run
    def draw(trainer):
        torch.rand(1)

    train(tiny_config(), tmp_path / "disturbed", callbacks=[draw])
    disturbed = _final_weights(tmp_path / "disturbed")
    assert not all(torch.equal(expected[name], disturbed[name]) for name in expected)


def test_the_callback_leaves_grads_mode_and_random_state_alone():
    torch.manual_seed(0)
    model = LanguageModel(LanguageModelConfig(cell="gru", hidden_size=6), 9)
    idx = torch.randint(0, 9, (12, 3))
    model(idx, idx)[1].backward()
    grads = [p.grad.clone() for p in model.parameters()]
    logged = []
    trainer = SimpleNamespace(
        model=model,
        state=SimpleNamespace(step=4, clip_count=1),
        metrics=SimpleNamespace(log=logged.append),
    )
    callback = GradientDiagnostics(2, language_model_loss(idx, idx, "sum"), loss="sum")
    rng = torch.get_rng_state()
    callback(trainer)
    assert torch.equal(rng, torch.get_rng_state())
    assert model.training and all(p.dtype == torch.float32 for p in model.parameters())
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))
    assert len(logged) == 1 and logged[0]["clip_fraction"] == 0.25 and logged[0]["loss"] == "sum"
    trainer.state.step = 5
    callback(trainer)
    assert len(logged) == 1  # only every 2 steps


def test_text_batch_lays_out_streams_and_shifted_targets():
    ids = list(range(100))
    idx, targets = text_batch(ids, batch_size=4, seq_len=9)
    assert idx.shape == (9, 4) and torch.equal(targets, idx + 1)
    assert idx[0].tolist() == [0, 25, 50, 75]
    idx, _ = text_batch(ids, batch_size=16, seq_len=30)  # too short for 16 streams of 31
    assert idx.shape == (30, 3)
    with pytest.raises(ValueError, match="at most 99"):
        text_batch(ids, batch_size=2, seq_len=100)


def test_a_short_validation_text_shortens_the_diagnostic_sequence():
    callback = language_model_diagnostics(list(range(20)), every=1, seq_len=200)
    model = LanguageModel(LanguageModelConfig(cell="lstm", hidden_size=4), 20)
    logged = []
    trainer = SimpleNamespace(
        model=model,
        state=SimpleNamespace(step=1, clip_count=0),
        metrics=SimpleNamespace(log=logged.append),
    )
    callback(trainer)
    assert logged[0]["seq_len"] == 19
    with pytest.raises(ValueError, match="at least 3 tokens"):
        language_model_diagnostics([1, 2], every=1)
