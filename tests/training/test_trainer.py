"""The Trainer on a toy task: learning, clipping, evaluation, stopping, checkpoints, resume."""

from __future__ import annotations

import json
import math
import os
import signal
import time

import pytest
import torch

from rnnkit.training import checkpoint as ckpt
from rnnkit.training import trainer as trainer_module
from rnnkit.training.config import OptimizerConfig, ScheduleConfig, TrainerConfig
from rnnkit.training.metrics import read_metrics
from rnnkit.training.trainer import Trainer
from tests.conftest import needs_bf16_kernels

from .toy_task import ToyTask


def make_trainer(run_dir, task=None, callbacks=(), schedule=None, optimizer=None, **config):
    task = task or ToyTask()
    torch.manual_seed(0)
    settings = {"max_steps": 12, "time_budget": None, "eval_every": 5, "log_every": 1}
    settings["tensorboard"] = False
    trainer_config = TrainerConfig(**{**settings, **config})
    return Trainer(
        task,
        task.build_model(),
        run_dir,
        trainer_config,
        optimizer or OptimizerConfig("adam", lr=0.05),
        schedule or ScheduleConfig("constant"),
        callbacks=callbacks,
    )


def losses(run_dir):
    return {
        r["step"]: r["loss"]
        for r in read_metrics(run_dir / "metrics.jsonl")
        if r["kind"] == "train"
    }


def test_loss_falls_from_chance(tmp_path):
    task = ToyTask()
    result = make_trainer(tmp_path, task=task, max_steps=80, eval_every=40).fit()
    curve = losses(tmp_path)
    assert abs(curve[1] - math.log(4)) < 0.3  # starts near guessing among 4 tokens
    assert curve[80] < 0.5 * curve[1]
    assert result.steps == 80 and result.stop_reason == "max_steps"
    batches = task.streams.batches(0)
    assert result.tokens == sum(next(batches).targets.numel() for _ in range(80))
    assert result.tokens_per_s > 0


def test_evaluations_checkpoints_samples_and_plot(tmp_path):
    result = make_trainer(tmp_path, task=ToyTask(eval_values=[3.0, 2.0, 2.5])).fit()
    evals = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "eval"]
    assert [(r["step"], r["val_loss"], r["best"]) for r in evals] == [
        (5, 3.0, True),
        (10, 2.0, True),
        (12, 2.5, False),  # the final evaluation at max_steps
    ]
    assert ckpt.load_checkpoint(tmp_path / "checkpoints", "best").meta["step"] == 10
    assert ckpt.load_checkpoint(tmp_path / "checkpoints", "last").meta["step"] == 12
    assert (result.best_metric, result.best_step) == (2.0, 10)
    assert (tmp_path / "samples.txt").read_text().count("a sample") == 3
    assert (tmp_path / "plots" / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tensorboard_events_are_written(tmp_path):
    make_trainer(tmp_path, max_steps=2, eval_every=2, tensorboard=True).fit()
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_clipping_fires_and_is_counted(tmp_path):
    result = make_trainer(tmp_path / "a", clip_norm=1e-6).fit()
    assert result.clip_count == 12
    records = [r for r in read_metrics(tmp_path / "a" / "metrics.jsonl") if r["kind"] == "train"]
    assert all(r["clip_fraction"] == 1.0 and r["grad_norm"] > 1e-6 for r in records)
    assert make_trainer(tmp_path / "b", clip_norm=1e6).fit().clip_count == 0


def test_steps_the_fp16_scaler_skips_leave_the_gradient_norm_out(tmp_path):
    """fp16's scaler skips a step whose gradients overflowed: its norm is inf or NaN. It went
    into the record's mean, which wrote ``"grad_norm": NaN`` (not JSON) into metrics.jsonl for
    the whole window. Here the scaler is on (as fp16 has it) and steps 1 and 2 overflow."""
    trainer = make_trainer(tmp_path, max_steps=6, log_every=3, clip_norm=5.0)
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=1.0)
    norms = []
    add = trainer._window.add
    trainer._window.add = lambda loss, norm, *rest: norms.append(norm) or add(loss, norm, *rest)
    weight = trainer.model.decoder.weight
    weight.register_hook(lambda grad: grad * math.inf if len(norms) < 2 else grad)
    trainer.fit()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line, parse_constant=pytest.fail) for line in lines]  # strict JSON
    train = [r for r in records if r["kind"] == "train"]
    assert [math.isfinite(n) for n in norms] == [False, False] + [True] * 4
    assert train[0]["skipped_steps"] == 2 and "skipped_steps" not in train[1]
    assert train[0]["grad_norm"] == pytest.approx(norms[2])
    assert train[1]["grad_norm"] == pytest.approx(sum(norms[3:]) / 3)
    assert trainer.scaler.get_scale() == 0.25  # halved at each skipped step


def test_clipping_bounds_the_update(tmp_path):
    """With SGD, lr 1 and clip c, no parameter moves by more than c in one step."""
    trainer = make_trainer(
        tmp_path, clip_norm=0.01, max_steps=1, optimizer=OptimizerConfig("sgd", lr=1.0)
    )
    before = torch.cat([p.detach().flatten().clone() for p in trainer.model.parameters()])
    trainer.fit()
    after = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    assert torch.linalg.vector_norm(after - before) == pytest.approx(0.01, rel=1e-4)


def test_early_stopping_after_patience_evaluations(tmp_path):
    task = ToyTask(eval_values=[3.0, 2.0, 2.5, 2.6, 1.0])
    result = make_trainer(tmp_path, task=task, max_steps=100, early_stopping_patience=2).fit()
    assert result.stop_reason == "early_stopping" and result.steps == 20
    assert result.best_step == 10


def test_a_run_that_stopped_early_trains_nothing_more_when_resumed(tmp_path):
    """The patience was checked only after an evaluation: each resume trained one more
    evaluation's steps and scored it again."""
    config = {"max_steps": 100, "early_stopping_patience": 2}
    task = lambda: ToyTask(eval_values=[3.0, 2.0, 2.5, 2.6, 1.0])  # noqa: E731
    make_trainer(tmp_path, task=task(), **config).fit()
    trainer = make_trainer(tmp_path, task=task(), **config)
    trainer.restore(ckpt.load_checkpoint(tmp_path / "checkpoints", "last"))
    result = trainer.fit()
    assert result.stop_reason == "early_stopping" and result.steps == 20
    evaluations = [r for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "eval"]
    assert [r["step"] for r in evaluations] == [5, 10, 15, 20]


def test_a_run_that_spent_its_time_budget_trains_nothing_more_when_resumed(tmp_path):
    """The stop is foreseen from the recent steps' and evaluation's times, which a resumed
    trainer has not measured yet: each resume trained on. A new budget still goes on."""

    class SlowSteps(ToyTask):  # 50 ms a step, a quick evaluation: the stop is a step early
        def training_step(self, *args):
            time.sleep(0.05)
            return super().training_step(*args)

    config = {"max_steps": None, "time_budget": 0.5, "eval_every": 10_000}
    first = make_trainer(tmp_path, task=SlowSteps(), **config).fit()

    def resumed(**changed):
        trainer = make_trainer(tmp_path, task=SlowSteps(), **{**config, **changed})
        trainer.restore(ckpt.load_checkpoint(tmp_path / "checkpoints", "last"))
        return trainer.fit()

    again = resumed()
    assert (again.stop_reason, again.steps) == ("time_budget", first.steps)
    longer = resumed(time_budget=first.elapsed + 0.5)
    assert longer.stop_reason == "time_budget" and longer.steps > first.steps


def test_time_budget_stops_the_run(tmp_path):
    result = make_trainer(tmp_path, max_steps=None, time_budget=0.5, eval_every=10_000).fit()
    assert result.stop_reason == "time_budget"
    assert 0 < result.steps < 10_000 and result.elapsed < 3.0


@needs_bf16_kernels
def test_bf16_precision_runs_the_step_under_cpu_autocast(tmp_path):
    task = ToyTask()
    make_trainer(tmp_path / "bf16", task=task, max_steps=2, precision="bf16").fit()
    assert task.autocast_seen == [True, True]
    task = ToyTask()
    make_trainer(tmp_path / "fp32", task=task, max_steps=2).fit()
    assert task.autocast_seen == [False, False]


def test_the_carry_goes_from_one_step_to_the_next(tmp_path):
    task = ToyTask()
    make_trainer(tmp_path, task=task, max_steps=3).fit()
    assert task.carries_in[0] is None
    assert all(isinstance(c, tuple) and not c[0].requires_grad for c in task.carries_in[1:])


def test_stop_request_saves_last_without_evaluating(tmp_path):
    def stop_at_7(trainer):
        if trainer.state.step == 7:
            trainer.request_stop()

    result = make_trainer(tmp_path, callbacks=[stop_at_7]).fit()
    assert result.stop_reason == "stopped" and result.steps == 7
    assert ckpt.load_checkpoint(tmp_path / "checkpoints", "last").meta["step"] == 7
    evals = [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl") if r["kind"] == "eval"]
    assert evals == [5]


def test_ctrl_c_stops_after_the_step_and_saves(tmp_path):
    def interrupt_at_3(trainer):
        if trainer.state.step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    result = make_trainer(tmp_path, callbacks=[interrupt_at_3]).fit()
    assert result.stop_reason == "interrupted" and result.steps in (3, 4)
    assert ckpt.load_checkpoint(tmp_path / "checkpoints", "last").meta["step"] == result.steps
    assert signal.getsignal(signal.SIGINT) is previous


def test_a_crash_leaves_the_last_checkpoint_as_it_was(tmp_path):
    def crash_at_8(trainer):
        if trainer.state.step == 8:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        make_trainer(tmp_path, callbacks=[crash_at_8]).fit()
    assert ckpt.load_checkpoint(tmp_path / "checkpoints", "last").meta["step"] == 5


def test_a_diverging_loss_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path):
    with pytest.raises(FloatingPointError, match="step 7.*lower the learning rate"):
        make_trainer(tmp_path, task=ToyTask(nan_at_step=7)).fit()
    assert ckpt.load_checkpoint(tmp_path / "checkpoints", "last").meta["step"] == 5


def _resumed(run_dir, task_factory, stop, reseed=False, **config):
    """Run to ``stop`` (stop request), then a new Trainer restores the checkpoint and ends."""

    def stop_early(trainer):
        if trainer.state.step == stop:
            trainer.request_stop()

    make_trainer(run_dir, task=task_factory(), callbacks=[stop_early], **config).fit()
    trainer = make_trainer(run_dir, task=task_factory(), **config)
    torch.manual_seed(1234)  # whatever the new process's generator holds, restore() replaces it
    trainer.restore(ckpt.load_checkpoint(run_dir / "checkpoints", "last"))
    if reseed:
        torch.manual_seed(1234)
    return trainer.fit()


def test_resume_after_a_stop_gives_the_same_losses_at_every_step(tmp_path):
    config = {"max_steps": 14, "eval_every": 4}
    schedule = ScheduleConfig("cosine", warmup_steps=3, min_lr_ratio=0.1)
    factory = lambda: ToyTask(dropout=0.3)  # noqa: E731 (dropout draws from the torch RNG)
    make_trainer(tmp_path / "whole", task=factory(), schedule=schedule, **config).fit()
    _resumed(tmp_path / "parts", factory, stop=6, schedule=schedule, **config)
    whole, parts = losses(tmp_path / "whole"), losses(tmp_path / "parts")
    assert sorted(parts) == list(range(1, 15))  # each step once: the history reads as one run
    assert parts == whole  # bit for bit


def test_a_resume_between_two_records_writes_the_next_one_as_the_whole_run_did(tmp_path):
    """log_every 4, stopped at step 6: the record of step 8 averages steps 5-8 in both runs
    (the window's sums travel in the checkpoint)."""
    config = {"max_steps": 12, "eval_every": 3, "log_every": 4}
    make_trainer(tmp_path / "whole", **config).fit()
    _resumed(tmp_path / "parts", ToyTask, stop=6, **config)

    def train_records(run_dir):
        records = read_metrics(run_dir / "metrics.jsonl")
        return [{k: v for k, v in r.items() if k != "tokens_per_s"}
                for r in records if r["kind"] == "train"]  # fmt: skip

    whole, parts = train_records(tmp_path / "whole"), train_records(tmp_path / "parts")
    assert [r["step"] for r in parts] == [4, 8, 12]
    assert parts == whole  # bit for bit


def test_the_resume_check_notices_a_random_generator_left_unrestored(tmp_path):
    """The check above can fail: with the generator re-seeded after restore(), dropout draws
    other masks and the losses after the stop differ."""
    config = {"max_steps": 10, "eval_every": 4}
    factory = lambda: ToyTask(dropout=0.3)  # noqa: E731
    make_trainer(tmp_path / "whole", task=factory(), **config).fit()
    _resumed(tmp_path / "parts", factory, stop=6, reseed=True, **config)
    whole, parts = losses(tmp_path / "whole"), losses(tmp_path / "parts")
    assert [parts[s] for s in range(1, 7)] == [whole[s] for s in range(1, 7)]
    assert all(parts[s] != whole[s] for s in range(7, 11))


def test_checkpoint_json_has_the_documented_sections(tmp_path):
    make_trainer(tmp_path, max_steps=5).fit()
    meta = json.loads((tmp_path / "checkpoints" / "last.json").read_text())
    for key in ("step", "data_position", "task", "trainer", "optimizer", "schedule", "rng"):
        assert key in meta
    assert meta["trainer"]["clip_count"] == 0 and meta["trainer"]["best_step"] == 5
    assert meta["optimizer"]["param_groups"][0]["betas"] == [0.9, 0.999]
    assert set(meta["rng"]) == {"python", "numpy"} and meta["tensors"]["sha256"]


def test_work_after_fit_runs_on_the_runs_thread_count(tmp_path):
    """A task scores its test split after ``fit`` under ``run_threads``: the count training
    used, not the process's default, which fit gives back."""
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    trainer = make_trainer(tmp_path, max_steps=2, threads=other)
    trainer.fit()
    assert torch.get_num_threads() == before
    with trainer.run_threads():
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    plain = make_trainer(tmp_path / "plain", max_steps=2)
    plain.fit()
    with plain.run_threads():
        assert torch.get_num_threads() == before


def test_denormals_are_flushed_to_zero_while_training_and_not_after(tmp_path):
    """1e-39 is a float32 denormal: flushed, 2 x 1e-39 is 0 (and a vanishing gradient costs
    no more than a normal one); torch's default, IEEE arithmetic, is back after ``fit``."""
    seen = []

    def probe(trainer):
        seen.append(float(torch.tensor(1e-39) * 2))

    make_trainer(tmp_path / "on", callbacks=[probe], max_steps=2).fit()
    assert seen == [0.0, 0.0]
    assert float(torch.tensor(1e-39) * 2) == pytest.approx(2e-39, rel=1e-3)
    seen.clear()
    make_trainer(tmp_path / "off", callbacks=[probe], max_steps=2, flush_denormal=False).fit()
    assert seen == pytest.approx([2e-39, 2e-39], rel=1e-3)


def test_the_trainer_keeps_freed_memory_unless_its_config_says_not(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(trainer_module, "keep_freed_memory", lambda *a: calls.append(a))
    make_trainer(tmp_path / "on", max_steps=1).fit()
    make_trainer(tmp_path / "off", max_steps=1, keep_freed_memory=False).fit()
    assert calls == [(torch.device("cpu"), True), (torch.device("cpu"), False)]


def test_a_task_that_trains_in_one_process_refuses_torchrun(tmp_path, monkeypatch):
    from rnnkit.training import distributed

    task = ToyTask()
    task.one_process = True
    make_trainer(tmp_path / "alone", task=task)  # one process: fine
    monkeypatch.setattr(distributed, "world", lambda device_type="cpu": distributed.World(2, 0))
    with pytest.raises(ValueError, match="ToyTask trains in one process only"):
        make_trainer(tmp_path / "ranks", task=task)
