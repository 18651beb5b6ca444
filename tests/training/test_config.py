"""Configuration: durations, overrides, presets, JSON round trips."""

from __future__ import annotations

import pytest

from rnnkit.tasks.charlm_config import PRESETS, CharLMConfig, resolve_config
from rnnkit.training.config import (
    OptimizerConfig,
    SelectionConfig,
    TrainerConfig,
    apply_overrides,
    config_from_dict,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("1h30m", 5400),
        ("1h", 3600),
        ("2m30s", 150),
        ("1.5h", 5400),
        ("600", 600),
        (" 10M ", 600),
    ],
)
def test_parse_duration_accepts_the_documented_forms(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10 minutes", "m", "1m1h", "-5m", "0", "0s", "ten", "5d"])
def test_parse_duration_rejects_anything_else_saying_what_is_allowed(text):
    with pytest.raises(ValueError, match="duration") as caught:
        parse_duration(text)
    if text not in ("0", "0s"):
        assert "90s, 10m, 1h30m" in str(caught.value)


@pytest.mark.parametrize("text", ["1e400", "inf", "nan"])
def test_parse_duration_says_an_infinite_one_is_not_finite(text):
    """1e400 seconds reads as infinity: "must be positive" was the wrong reason."""
    with pytest.raises(ValueError, match="must be finite"):
        parse_duration(text)


def test_unrecorded_note_names_what_config_json_lacks_with_the_default_used():
    from rnnkit.training.config import config_to_dict
    from rnnkit.training.run_dir import unrecorded_note

    config = CharLMConfig()
    recorded = config_to_dict(config)
    assert unrecorded_note(recorded, config) is None
    del recorded["optimizer"]["lr"], recorded["data"]["seq_len"]
    note = unrecorded_note(recorded, config)
    assert f"records no data.seq_len={config.data.seq_len!r}, optimizer.lr=" in note
    assert "going on with these defaults" in note


def test_format_duration():
    assert format_duration(65) == "1:05"
    assert format_duration(3725) == "1:02:05"


def test_overrides_replace_nested_fields_and_reject_unknown_keys():
    config = apply_overrides(CharLMConfig(), {"model.hidden_size": 512, "optimizer.lr": 1e-3})
    assert config.model.hidden_size == 512 and config.optimizer.lr == 1e-3
    assert config.data == CharLMConfig().data
    with pytest.raises(ValueError, match="unknown config key 'model.hidden'"):
        apply_overrides(CharLMConfig(), {"model.hidden": 1})


def test_config_json_round_trip_keeps_every_value_and_type():
    config = resolve_config("char-rnn", {"data.split": (0.8, 0.1, 0.1)})
    again = CharLMConfig.from_dict(config.to_dict())
    assert again == config
    assert isinstance(again.optimizer.betas, tuple) and isinstance(again.data.split, tuple)


def test_config_from_dict_names_wrong_types_and_unknown_keys():
    with pytest.raises(ValueError, match="lr must be a number"):
        config_from_dict(OptimizerConfig, {"lr": "fast"})
    with pytest.raises(ValueError, match="unknown config key.*trainer.speed"):
        CharLMConfig.from_dict({"trainer": {"speed": 1}})


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_resolves_to_a_valid_config(preset):
    config = resolve_config(preset)
    assert config.trainer.max_steps or config.trainer.time_budget


def test_explicit_overrides_beat_the_preset():
    config = resolve_config("char-rnn", {"model.hidden_size": 64})
    assert config.model.hidden_size == 64
    assert config.optimizer.name == "rmsprop" and config.data.seq_len == 50  # from the preset


def test_the_quick_preset_trains_lngru_on_a_cpu_with_the_compiled_loops(monkeypatch):
    from rnnkit.nn import native

    monkeypatch.setattr(native, "expected", lambda: True)
    assert resolve_config("quick").model.cell == "lngru"
    assert resolve_config("quick", {"trainer.device": "cpu"}).model.cell == "lngru"
    for device in ("cuda", "cuda:1", "mps"):  # a GPU's fused LSTM is faster
        assert resolve_config("quick", {"trainer.device": device}).model.cell == "lstm"
    assert resolve_config("quick", {"model.cell": "lstm"}).model.cell == "lstm"  # asked for
    assert resolve_config("smoke").model.cell == "lstm"  # the other presets keep theirs
    assert resolve_config("quick").model.hidden_size == 256
    monkeypatch.setattr(native, "expected", lambda: False)  # no compiler, RNNKIT_NATIVE=0
    assert resolve_config("quick").model.cell == "lstm"


def test_char_rnn_preset_is_char_rnns_defaults():
    config = resolve_config("char-rnn")
    assert (config.model.cell, config.model.num_layers, config.model.hidden_size) == (
        "lstm",
        2,
        128,
    )
    assert (config.data.seq_len, config.data.batch_size) == (50, 50)
    assert (config.optimizer.name, config.optimizer.lr, config.trainer.clip_norm) == (
        "rmsprop",
        2e-3,
        5.0,
    )


def test_validation_errors_say_what_is_allowed():
    with pytest.raises(ValueError, match="unknown preset 'fast'; allowed: quick"):
        resolve_config("fast")
    with pytest.raises(ValueError, match="allowed: adam, adamw, rmsprop, sgd"):
        resolve_config("smoke", {"optimizer.name": "lion"})
    with pytest.raises(ValueError, match=r"unknown cell 'transformer'; allowed: rnn, .*lstm, gru"):
        resolve_config("smoke", {"model.cell": "transformer"})
    with pytest.raises(ValueError, match="stopping point"):
        TrainerConfig(max_steps=None, time_budget=None).validate()


def test_precision_auto_follows_the_cpus_bf16_support(monkeypatch):
    import torch

    from rnnkit.training import config as config_module

    monkeypatch.setattr(config_module, "bf16_kernels", lambda: True)
    for avx512_bf16, amx, expected in (
        (False, False, "fp32"),
        (True, False, "bf16"),
        (False, True, "bf16"),
    ):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert config_module.resolve_precision("auto") == expected
        assert config_module.resolve_precision("fp32") == "fp32"
        assert config_module.resolve_precision("bf16") == "bf16"
    with pytest.raises(ValueError, match="precision"):
        config_module.resolve_precision("fp16")


def test_bf16_on_a_cpu_without_bf16_kernels_is_a_clear_error(monkeypatch):
    import torch

    from rnnkit.training import config as config_module

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert not config_module.bf16_kernels()
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    with pytest.raises(ValueError, match=r"AVX-512 or newer.*Use fp32, or auto"):
        config_module.resolve_precision("bf16")
    assert config_module.resolve_precision("auto") == "fp32"
    assert config_module.resolve_precision("fp32") == "fp32"
    # fp16's error named bf16 among the choices, which this CPU then refused
    with pytest.raises(ValueError, match=r"CUDA device; on the CPU use fp32 or auto$"):
        config_module.resolve_precision("fp16")


def test_a_precision_the_cpu_cannot_run_is_refused_before_the_run_directory(tmp_path, capsys):
    """It was refused when the Trainer was built, after config.json, vocab.json and
    checkpoints/ were written: the same --out then "already holds a run", and resuming it
    failed the same way."""
    from rnnkit.cli.main import main

    out = tmp_path / "run"
    argv = ["train", "parity", "--max-steps", "2", "--hidden-size", "4", "--out", str(out)]
    assert main([*argv, "--precision", "fp16", "--device", "cpu"]) == 2
    assert "precision fp16 needs a CUDA device" in capsys.readouterr().err
    assert not out.exists()
    assert main([*argv, "--precision", "fp32"]) == 0


def test_a_selection_allowing_metrics_is_one_class_that_reads_back():
    allowing = SelectionConfig.allowing("loss", "error")
    assert allowing is SelectionConfig.allowing("loss", "error")  # config.json reads it back
    assert issubclass(allowing, SelectionConfig) and allowing.ALLOWED == ("loss", "error")
    allowing("error").validate()
    with pytest.raises(ValueError, match="unknown selection metric 'bleu'; allowed: loss, error"):
        allowing("bleu").validate()
