"""The command line of a task that has no adapter of its own (``rnnkit.cli.tasks.<task>``):
every flag from its config fields, the summary and the evaluation as ``key: value`` lines.
A new task needs nothing here (docs/adding-a-task.md)."""

from __future__ import annotations

import argparse

from rnnkit.cli.args import guarded, print_result, progress, refuse_data
from rnnkit.cli.flags import add_task_flags, config_overrides
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import get_spec


def train_run(task: str, config, args: argparse.Namespace, **options):
    """Train a new run of ``task`` on ``config`` into ``args.out``, guarded, with the progress
    bar; the ``RunResult``."""
    return guarded(
        lambda: lifecycle.train(
            get_spec(task), config, args.out, reporter=progress(args.json), **options
        )
    )


class GenericAdapter:
    """``add_arguments``, ``start``, ``summary_lines``, ``evaluate`` and (a spec with a
    ``predict``) ``predict`` for ``task``."""

    def __init__(self, task: str):
        self.spec = get_spec(task)
        self.__doc__ = f"``rnnkit train {task}``: {self.spec.help}."
        if self.spec.predict is not None:
            self.predict = self._predict

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_task_flags(parser, self.spec.config_class(), f"runs/{self.spec.name}-<name>-<time>")

    def start(self, args: argparse.Namespace):
        config = self.spec.resolve_config(config_overrides(args))
        return train_run(self.spec.name, config, args)

    def summary_lines(self, summary: dict) -> list[str]:
        """``key: value`` lines, the run directory last with what to run on it next."""
        lines = [f"{key}: {_shown(value)}" for key, value in summary.items() if key != "run_dir"]
        run = summary["run_dir"]
        after = f"rnnkit predict {run} ...; " if self.spec.predict is not None else ""
        return [*lines, f"run directory: {run}  ({after}rnnkit evaluate {run})"]

    def evaluate(self, args: argparse.Namespace) -> int:
        refuse_data(args, self.spec.name)
        result = lifecycle.evaluate(args.run_dir, args.split, args.checkpoint)
        return print_result(result, args.json, _score_lines)

    def refuse_predict_options(self, args: argparse.Namespace) -> None:
        """``predict``'s --top and --backend, which this task's predictions do not take."""
        if args.top is not None:
            raise ValueError(f"--top applies to classifiers and taggers, not {self.spec.name}")
        if getattr(args, "backend", "torch") != "torch":
            raise ValueError(
                f"--backend {args.backend} runs exported graphs; a {self.spec.name} "
                "run has none (rnnkit export)"
            )

    def _predict(self, args: argparse.Namespace) -> int:
        self.refuse_predict_options(args)
        result = lifecycle.predict(args.run_dir, args.inputs, args.checkpoint)
        return print_result(result, args.json, _prediction_lines)


def _score_lines(result: dict) -> list[str]:
    return [f"{key}: {_shown(value)}" for key, value in result.items()]


def _prediction_lines(result: dict) -> list[str]:
    return [
        "  ".join(f"{key}: {_shown(value)}" for key, value in said.items())
        for said in result["predictions"]
    ]


def _shown(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
