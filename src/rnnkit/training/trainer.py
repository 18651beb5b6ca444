"""One task-agnostic training loop: step, clip, schedule, evaluate, checkpoint, stop.

    for batch in task.train_batches(step):           # resumes mid-epoch at the saved step
        loss, carry = task.training_step(model, batch, carry)  # --device, --precision, DDP
        loss.backward(); clip the global gradient norm; set the lr; optimizer.step()
        every log_every steps:  a "train" record (loss, lr, grad norm, clip rate, tokens/s)
        every eval_every steps: evaluate, sample, save last (and best), maybe stop early
    until max_steps, the time budget, early stopping, or a stop request (Ctrl-C / SIGTERM)

Resuming is exact: a checkpoint holds the model, the optimizer's moments and hyperparameters,
the schedule's state, the trainer's counters, the carried recurrent state, the data position
(the step) and every random generator's state. Evaluation and sampling run under
``torch.random.fork_rng``, so they never shift the training run's random stream.

A stop request (the first Ctrl-C, SIGTERM, or ``request_stop``) ends the run after the current
step and saves ``last``; a second Ctrl-C interrupts at once. An exception ends the run without
saving, so the last checkpoint on disk stays the last consistent one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from rnnkit.options import validate_section
from rnnkit.training import checkpoint as ckpt
from rnnkit.training import distributed
from rnnkit.training.bookkeeping import StepWindow, TrainerState, TrainResult, gradient_norm
from rnnkit.training.config import OptimizerConfig, ScheduleConfig, TrainerConfig, resolve_precision
from rnnkit.training.devices import (
    flushed_denormals,
    follow_model,
    keep_freed_memory,
    outputs_on_cpu,
    resolve_device,
    to_device,
)
from rnnkit.training.metrics import MetricsLogger, plot_losses
from rnnkit.training.optimizers import build_optimizer
from rnnkit.training.progress import LogReporter, ProgressStats, Reporter, stop_on_signals
from rnnkit.training.run_dir import CHECKPOINTS, LOSS_PLOT, SAMPLES
from rnnkit.training.schedules import LearningRateSchedule
from rnnkit.training.state import load_optimizer_state, load_rng_state, optimizer_state, rng_state
from rnnkit.training.task import Task
from rnnkit.training.threads import ThreadTuner

logger = logging.getLogger(__name__)


class Trainer:
    """Trains ``model`` on ``task`` (see ``task.Task``), writing into ``run_dir``."""

    def __init__(
        self,
        task: Task,
        model: torch.nn.Module,
        run_dir: str | Path,
        config: TrainerConfig,
        optimizer: OptimizerConfig,
        schedule: ScheduleConfig,
        reporter: Reporter | None = None,
        callbacks: Iterable[Callable[[Trainer], None]] = (),
    ):
        for section in (config, optimizer, schedule):
            validate_section(section)
        self.task = task
        self.device = resolve_device(config.device, distributed.local_rank())
        self.world = distributed.world(self.device.type)
        distributed.check_task(task, None, self.world, type(task).__name__)  # as lifecycle does
        self.model = follow_model(model.to(self.device))
        self.trained = distributed.data_parallel(self.model, self.device, self.world)
        self.run_dir = Path(run_dir)
        self.config = config
        self.precision = resolve_precision(config.precision, self.device.type)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.base_lr = optimizer.lr
        self.optimizer = build_optimizer(model.parameters(), optimizer)
        self.schedule = LearningRateSchedule(schedule)
        self.reporter = (reporter or LogReporter()) if self.world.main else Reporter()
        self.callbacks = list(callbacks)
        self.state = TrainerState()
        self.carry: Any = None
        self.last_sample: str | None = None
        self._stop_reason: str | None = None
        self._eval_seconds = 0.0
        self._window = StepWindow()
        self._smoothed_loss: float | None = None
        self._lr = optimizer.lr
        self._clipped = False
        self._clock_start = time.perf_counter()  # fit() sets it again, counting earlier time
        self._tuner: ThreadTuner | None = None

    # ---------------------------------------------------------------- checkpoints
    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / CHECKPOINTS

    def save(self, names: list[str]) -> None:
        """Write the whole training state as checkpoint(s) ``names`` (atomically)."""
        carry = distributed.gather_state(self.carry, self.world)  # every rank takes part
        if not self.world.main:
            return distributed.barrier(self.world)  # no rank reads a checkpoint being written
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        optimizer_tensors, optimizer_json = optimizer_state(self.optimizer)
        carry_tensors, carry_spec = ckpt.flatten_state(carry, "carry")
        rng_tensors, rng_json = rng_state()
        tensors.update({**optimizer_tensors, **carry_tensors, **rng_tensors})
        meta = {
            "step": self.state.step,
            "data_position": self.task.data_position(self.state.step),
            "task": self.task.checkpoint_metadata(),
            "trainer": asdict(self.state),
            "window": self._window.sums(),  # the steps since the last train record
            "optimizer": optimizer_json,
            "schedule": self.schedule.state_dict(),
            "carry": carry_spec,
            "rng": rng_json,
            "device": str(self.device),
            "world_size": self.world.size,
            "scaler": self.scaler.state_dict(),
        }
        ckpt.save_checkpoint(self.checkpoint_dir, names, tensors, meta)
        logger.debug("saved %s at step %d", "+".join(names), self.state.step)
        distributed.barrier(self.world)

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        """Continue from ``checkpoint`` (written by ``save``): every piece of state comes back."""
        meta = checkpoint.meta
        try:
            self.model.load_state_dict(checkpoint.section("model"))
            load_optimizer_state(self.optimizer, checkpoint.section("optimizer"), meta["optimizer"])
            self.schedule.load_state_dict(meta["schedule"])
            self.state = TrainerState(**meta["trainer"])
            self._window.load(meta.get("window", {}))  # a checkpoint older than it: none
            carry = ckpt.unflatten_state(checkpoint.tensors, meta["carry"], "carry")
            self.carry = to_device(distributed.split_state(carry, self.world), self.device)
            load_rng_state(checkpoint.tensors, meta["rng"])
            if meta.get("scaler"):
                self.scaler.load_state_dict(meta["scaler"])
        except (KeyError, TypeError, RuntimeError) as error:
            raise ValueError(
                f"checkpoint {checkpoint.path} does not fit this run: {ckpt.misfit(error)}"
            ) from None

    # ---------------------------------------------------------------- the loop
    def request_stop(self, reason: str = "stopped") -> None:
        """End the run after the current step, saving ``last`` (no final evaluation)."""
        self._stop_reason = reason

    def fit(self) -> TrainResult:
        """Train until a stopping point; returns what happened (see ``TrainResult``)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics = (
            MetricsLogger(self.run_dir, self.config.tensorboard, resume_step=self.state.step)
            if self.world.main
            else distributed.SilentMetrics()
        )
        self._clock_start = time.perf_counter() - self.state.elapsed
        self._stop_reason = None
        threads = torch.get_num_threads()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self._tuner = ThreadTuner() if self.config.adapt_threads else None
        keep_freed_memory(self.device, self.config.keep_freed_memory)
        if self.config.precision == "auto":
            self.reporter.message(f"precision auto: {self.precision} on {self.device}")
        try:
            with (
                stop_on_signals(lambda: self._stop_reason, self.request_stop, self.reporter),
                flushed_denormals(self.device, self.config.flush_denormal),
            ):
                reason = self._loop()
            self._finish(reason)
        finally:
            torch.set_num_threads(threads)
            self.metrics.close()
            self.reporter.close()
        return self._result(reason)

    def _loop(self) -> str:
        self.model.train()
        batches = self.task.train_batches(self.state.step)
        while True:
            reason = self._stop_reason or self._limit_reached()
            if distributed.any_rank(bool(reason), self.world):  # every rank stops together
                return reason or "interrupted"
            loss = self.train_step(next(batches))
            self._after_step(loss)
            if self.state.step % self.config.eval_every == 0:
                self.evaluate_and_save()
            for callback in self.callbacks:
                callback(self)

    def train_step(self, batch: Any) -> float:
        """One optimizer step on ``batch``; returns its loss (mean per token)."""
        started = time.perf_counter()
        self._lr = self.learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr
        even = getattr(self.task, "even_shares", False)  # a carried state gathered from ranks
        batch = distributed.shard(batch, self.world, getattr(self.task, "batch_dim", 0), even)
        batch = to_device(batch, self.device)
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        with torch.autocast(self.device.type, dtype, enabled=self.precision != "fp32"):
            output = self.task.training_step(self.trained, batch, self.carry)
        weight = distributed.loss_weight(output.count, self.world)  # 1 on one process
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(output.loss * weight).backward()
        self.scaler.unscale_(self.optimizer)
        grad_norm = self._clip_gradients()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.carry = output.carry
        loss = distributed.mean_over_ranks(output.loss.item() * weight, self.world)
        seconds = time.perf_counter() - started
        self.state.step += 1
        self.state.tokens += output.tokens * self.world.size
        self.state.train_seconds += seconds
        self._window.add(loss, grad_norm, output.tokens, seconds, self._clipped)
        if self._tuner is not None:
            self._tuner.after_step(seconds)
        return loss

    def learning_rate(self) -> float:
        return self.base_lr * self.schedule.factor(self.state.step, self.progress())

    def progress(self) -> float:
        """How far the run is towards its end, in [0, 1] (see ``schedules``)."""
        fractions = [0.0]
        if self.config.max_steps:
            fractions.append(self.state.step / self.config.max_steps)
        if self.config.time_budget:
            fractions.append(self._elapsed() / self.config.time_budget)
        return min(1.0, max(fractions))

    def _clip_gradients(self) -> float:
        self._clipped = False
        if self.config.clip_norm is None:
            return gradient_norm(self.model.parameters())
        norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm))
        if norm > self.config.clip_norm:
            self._clipped = True
            self.state.clip_count += 1
        return norm

    def _after_step(self, loss: float) -> None:
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss} at step {self.state.step}; lower the learning "
                "rate or the clip norm (the last checkpoint is untouched)"
            )
        beta = 0.98
        smoothed = self._smoothed_loss
        self._smoothed_loss = loss if smoothed is None else beta * smoothed + (1 - beta) * loss
        self.state.elapsed = self._elapsed()
        if self.state.step % self.config.log_every == 0:
            self.metrics.log(self._window.record(self.state.step, self._lr))
        self.reporter.update(self._stats())

    def evaluate_and_save(self) -> dict:
        """Evaluate, sample, update best / early stopping / plateau, save the checkpoints."""
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            self.model.eval()
            with torch.no_grad(), outputs_on_cpu(self.model):
                metrics = self.task.evaluate(self.model)
                sample = self.task.sample(self.model)
            self.model.train()
        metric = metrics[self.task.eval_metric]
        state = self.state
        improved = state.best_metric is None or metric < state.best_metric
        if improved:
            state.best_metric, state.best_step = metric, state.step
            state.evaluations_without_improvement = 0
        else:
            state.evaluations_without_improvement += 1
        if self.schedule.after_evaluation(metric):
            self.reporter.message(f"step {state.step}: no improvement, learning rate cut")
        state.last_eval_step, state.last_metrics = state.step, dict(metrics)
        state.elapsed = self._elapsed()
        self.metrics.log({"kind": "eval", "step": state.step, **metrics, "best": improved})
        if self.world.main:
            self._record_sample(sample, metrics)
        self.reporter.evaluation(state.step, metrics, sample)
        self.save(["last", "best"] if improved else ["last"])
        if self.world.main:
            plot = self.run_dir / LOSS_PLOT
            plot_losses(self.metrics.path, plot, self.task.eval_metric, self.task.loss_unit)
        self._eval_seconds = time.perf_counter() - started
        return metrics

    def _finish(self, reason: str) -> None:
        """Final evaluation (unless the run was stopped by request) and the last checkpoint."""
        self.state.elapsed = self._elapsed()
        self.state.spent_budget = self.config.time_budget if reason == "time_budget" else None
        if reason in ("stopped", "interrupted"):
            self.save(["last"])
        elif self.state.last_eval_step != self.state.step:
            self.evaluate_and_save()
        self.metrics.flush()
        self.reporter.message(f"stopped at step {self.state.step}: {reason}")

    def _limit_reached(self) -> str | None:
        """Why the run stops before its next step: also checked first on a resume, so that a
        run that stopped early trains nothing more (it took one more evaluation's steps)."""
        if self.config.max_steps is not None and self.state.step >= self.config.max_steps:
            return "max_steps"
        patience = self.config.early_stopping_patience
        if patience and self.state.evaluations_without_improvement >= patience:
            return "early_stopping"
        budget = self.config.time_budget
        if budget is not None:
            if self.state.spent_budget == budget:  # the budget it stopped for (its estimate of
                return "time_budget"  # a step's time is gone once resumed: it trained on)
            per_step = self._window.recent_seconds_per_step()
            if self._elapsed() + self._eval_seconds + per_step >= budget:
                return "time_budget"
        return None

    def _elapsed(self) -> float:
        return time.perf_counter() - self._clock_start

    def _stats(self) -> ProgressStats:
        state, config = self.state, self.config
        eta = None
        rate = self._window.recent_seconds_per_step()
        remaining = []
        if config.max_steps:
            remaining.append((config.max_steps - state.step) * rate)
        if config.time_budget:
            remaining.append(config.time_budget - state.elapsed)
        if remaining:
            eta = max(0.0, min(remaining))
        return ProgressStats(
            step=state.step,
            max_steps=config.max_steps,
            loss=self._smoothed_loss or 0.0,
            tokens_per_s=self._window.recent_tokens_per_s(),
            elapsed=state.elapsed,
            eta=eta,
            lr=self.learning_rate(),
        )

    def _record_sample(self, sample: str | None, metrics: dict) -> None:
        self.last_sample = sample
        if sample is None:
            return
        values = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        with open(self.run_dir / SAMPLES, "a", encoding="utf-8") as handle:
            handle.write(f"=== step {self.state.step} ({values}) ===\n{sample}\n\n")
        self.metrics.add_text("sample", sample, self.state.step)

    def _result(self, reason: str) -> TrainResult:
        state = self.state
        return TrainResult(
            run_dir=self.run_dir,
            steps=state.step,
            stop_reason=reason,
            tokens=state.tokens,
            tokens_per_s=state.tokens / state.train_seconds if state.train_seconds else 0.0,
            train_seconds=state.train_seconds,
            elapsed=state.elapsed,
            metrics=dict(state.last_metrics),
            best_metric=state.best_metric,
            best_step=state.best_step,
            clip_count=state.clip_count,
            sample=self.last_sample,
            precision=self.precision,
        )

    @contextlib.contextmanager
    def run_threads(self):
        """Torch's thread count of this run's training (``config.threads``, or the count the
        thread tuner last settled on) for the work a task does after ``fit``, such as scoring
        the test split; the previous count comes back after. Without it that work would run
        on the process's default count, which on a shared 2-core machine can be 5-30x slower
        (see ``rnnkit.training.threads``)."""
        threads = torch.get_num_threads()
        tuner = getattr(self, "_tuner", None)
        chosen = tuner.current if tuner is not None else self.config.threads
        if chosen:
            torch.set_num_threads(chosen)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
