"""``rnnkit experiment TASK --device``: every run trains where it is told. Without the field the
Trainer's own default, "auto", took CUDA wherever there was one, so ``rnnkit reproduce adding
--device cpu`` trained on cuda:0 while its results said cpu."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.experiments.config import ExperimentConfig, experiment_config
from rnnkit.experiments.runner import trainer_config
from rnnkit.training.checkpoint import read_metadata
from rnnkit.training.devices import resolve_device
from tests.experiments.test_experiment_cli import tiny

DEVICES = ["cpu", "auto"] + (["cuda:0"] if torch.cuda.is_available() else [])


def test_the_trainer_config_carries_the_device():
    assert trainer_config(experiment_config("adding", device="cpu")).device == "cpu"
    assert trainer_config(experiment_config("adding")).device == "auto"  # as before the flag


@pytest.mark.parametrize("device", DEVICES)
def test_every_run_trains_on_the_device_asked_for(device, tmp_path, capsys):
    argv = ["adding", "--cells", "gru", "--seq-len", "4", *tiny(tmp_path), "--json"]
    assert main(["experiment", *argv, "--device", device]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["device"] == device
    run_dir = tmp_path / "adding" / "gru-T4"
    trained_on = read_metadata(run_dir / "checkpoints", "last")["device"]  # the Trainer's own
    assert trained_on == str(resolve_device(device))
    recorded = json.loads((run_dir / "config.json").read_text())["config"]
    assert recorded["device"] == device


def test_an_unknown_or_missing_device_is_refused_before_any_run(tmp_path, capsys):
    argv = ["experiment", "adding", "--cells", "gru", "--seq-len", "4", *tiny(tmp_path)]
    assert main([*argv, "--device", "gpu"]) == 2
    assert "unknown device 'gpu'" in capsys.readouterr().err
    if torch.cuda.device_count() < 8:
        assert main([*argv, "--device", "cuda:7"]) == 2
        assert "device cuda:7 is not available" in capsys.readouterr().err
    assert not (tmp_path / "adding").exists()
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        experiment_config("adding", device="gpu")


def test_a_config_recorded_before_the_device_field_still_reads():
    """A run's config.json holds ``asdict(ExperimentConfig)``; one written before ``device``
    existed trained with the Trainer's "auto", which is what it reads back as."""
    recorded = json.loads(json.dumps(asdict(experiment_config("adding", cells=("gru",)))))
    del recorded["device"]
    task = recorded.pop("task")
    config = experiment_config(task, **recorded)
    assert config.device == "auto" and trainer_config(config).device == "auto"
    assert ExperimentConfig(task, **recorded).validate().device == "auto"
