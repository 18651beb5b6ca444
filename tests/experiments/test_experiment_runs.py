"""``rnnkit experiment``: how a run of runs ends and what it leaves: a stop request ends the
whole experiment, repeated cells run once, everything is checked before a directory is made,
plots keep earlier runs, and ``--lr`` sets every cell's rate."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.experiments import runner
from rnnkit.experiments.adding import AddingTask
from rnnkit.experiments.config import ExperimentConfig, experiment_config
from rnnkit.experiments.exploding import ExplodingConfig
from rnnkit.training.progress import Reporter
from tests.experiments.test_experiment_cli import run_json, tiny


@pytest.fixture
def stop_request(monkeypatch):
    """The first run is asked to stop after its first step, as Ctrl-C or SIGTERM asks it
    (``request("interrupted")`` in ``stop_on_signals``)."""
    asked = []

    def callbacks(task, config):
        def stop(trainer):
            if not asked:
                asked.append(task.cell)
                trainer.request_stop("interrupted")

        return [stop]

    monkeypatch.setattr(runner, "diagnostics_callbacks", callbacks)
    return asked


def test_a_stop_request_ends_the_experiment_after_that_run(tmp_path, capsys, stop_request):
    argv = ["adding", "--cells", "rnn,lstm", "--seq-len", "4,5", *tiny(tmp_path, steps=3)]
    assert main(["experiment", *argv]) == 130  # as rnnkit train reports an interrupted run
    out, err = capsys.readouterr()
    assert stop_request == ["rnn"]
    assert "run 2/4" not in out + err
    rows = [line for line in out.splitlines() if line.startswith("rnn")]
    assert len(rows) == 1 and rows[0].startswith("rnn (interrupted)")
    assert "not run: lstm T=4, rnn T=5, lstm T=5" in out
    assert (tmp_path / "adding" / "adding-T4.png").is_file()
    assert not (tmp_path / "adding" / "lstm-T4").exists()
    assert not (tmp_path / "adding" / "adding-T5.png").exists()
    (last,) = err.strip().splitlines()[-1:]
    assert last.startswith("stopped early: rnn T=4 was interrupted at step 1")
    assert "--resume" not in last and f"--out {tmp_path}" in last


def test_an_interrupted_experiment_in_json(tmp_path, capsys, stop_request):
    argv = ["adding", "--cells", "gru,lstm", "--seq-len", "4", *tiny(tmp_path), "--json"]
    assert main(["experiment", *argv]) == 130
    report = json.loads(capsys.readouterr().out)
    assert report["interrupted"] is True
    assert [(r["cell"], r["stop_reason"], r["steps"]) for r in report["results"]] == [
        ("gru", "interrupted", 1)
    ]
    assert report["not_run"] == [{"cell": "lstm", "seq_len": 4}]
    assert (tmp_path / "adding" / "gru-T4" / "checkpoints" / "last.safetensors").is_file()


def test_an_uninterrupted_experiment_says_so(tmp_path, capsys):
    report = run_json(capsys, "adding", "--cells", "rnn", "--seq-len", "4", *tiny(tmp_path))
    assert report["interrupted"] is False and report["not_run"] == []


def test_repeated_cells_run_once(tmp_path, capsys):
    argv = ["--cells", "rnn,lstm,rnn,rnn-relu,relu", "--seq-len", "4", *tiny(tmp_path)]
    report = run_json(capsys, "adding", *argv)
    assert [r["cell"] for r in report["results"]] == ["rnn", "lstm", "rnn-relu"]
    assert report["config"]["cells"] == ["rnn", "lstm", "rnn-relu"]
    with pytest.raises(ValueError, match="name a cell twice; give each cell once"):
        ExperimentConfig("adding", cells=("gru", "gru")).validate()


def test_a_run_directory_in_use_is_not_offered_to_train_resume(tmp_path):
    config = experiment_config("adding", cells=("rnn",), seq_lens=(4,), max_steps=1)
    run_dir = tmp_path / "rnn-T4"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    task = runner.make_task(config, "rnn", 4)
    with pytest.raises(ValueError, match="already holds a run") as error:
        runner.run_one(task, config, run_dir, Reporter())
    assert "--resume" not in str(error.value) and "choose another --out" in str(error.value)


def test_a_precision_the_cpu_lacks_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["adding", "--cells", "rnn,lstm", "--seq-len", "4", *tiny(tmp_path / "o")]
    assert main(["experiment", *argv, "--precision", "bf16"]) == 2
    assert "precision bf16 needs a CPU" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["experiment", *argv, "--precision", "fp16"]) == 2
    assert "precision fp16 needs a CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    run_json(capsys, *argv)  # the retry finds nothing in its way


def test_a_plot_keeps_the_runs_of_an_earlier_experiment_in_the_same_out(
    tmp_path, capsys, monkeypatch
):
    drawn = []
    plot = runner.plot_learning_curves

    def spy(curves, path, **kwargs):
        drawn.append((Path(path).name, sorted(curves), [len(c) for c in curves.values()]))
        return plot(curves, path, **kwargs)

    monkeypatch.setattr(runner, "plot_learning_curves", spy)
    run_json(capsys, "adding", "--cells", "rnn,gru", "--seq-len", "4", *tiny(tmp_path))
    run_json(capsys, "adding", "--cells", "lstm", "--seq-len", "4,5", *tiny(tmp_path))
    assert drawn[1:] == [
        ("adding-T4.png", ["gru", "lstm", "rnn"], [2, 2, 2]),
        ("adding-T5.png", ["lstm"], [2]),
    ]


def test_a_plain_lr_sets_every_cells_rate(tmp_path, capsys):
    argv = ["--cells", "irnn,lstm", "--seq-len", "4", *tiny(tmp_path / "a", steps=1)]
    report = run_json(capsys, "adding", *argv, "--lr", "1e-2")
    assert [r["lr"] for r in report["results"]] == [1e-2, 1e-2]
    argv = ["--cells", "irnn,lstm", "--seq-len", "4", *tiny(tmp_path / "b", steps=1)]
    report = run_json(capsys, "adding", *argv)
    assert [r["lr"] for r in report["results"]] == [1e-4, 1e-2]  # the task's defaults


def test_exploding_refuses_clip_0_and_says_why(tmp_path, capsys):
    argv = ["exploding", "--clip", "0", "--steps", "5", "--seq-lens", "5"]
    with pytest.raises(SystemExit) as exit_info:  # as every flag value out of range
        main(["experiment", *argv, "--out", str(tmp_path / "e")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "expected a gradient norm > 0 for the clipped run" in err
    assert "0, off, is not allowed), got '0'" in err
    assert not (tmp_path / "e").exists()
    with pytest.raises(ValueError, match="--clip must be a positive gradient norm"):
        ExplodingConfig(clip=0.0).validate()


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers are installed in the main thread only",
)
def test_sigterm_in_a_final_evaluation_ends_the_experiment_before_the_next_run(
    tmp_path, capsys, monkeypatch
):
    evaluate = AddingTask.evaluate

    def terminated_once(self, model):
        if self.cell == "rnn":
            os.kill(os.getpid(), signal.SIGTERM)  # outside the Trainer's loop: the experiment's
        return evaluate(self, model)

    monkeypatch.setattr(AddingTask, "evaluate", terminated_once)
    argv = ["adding", "--cells", "rnn,lstm", "--seq-len", "4", *tiny(tmp_path), "--json"]
    argv += ["--eval-every", "100"]  # the one evaluation is the final one
    assert main(["experiment", *argv]) == 130
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert [(r["cell"], r["stop_reason"]) for r in report["results"]] == [("rnn", "max_steps")]
    assert report["interrupted"] is True and report["not_run"] == [{"cell": "lstm", "seq_len": 4}]
    assert "stopped early, after rnn T=4" in err.strip().splitlines()[-1]
