"""Every flag of every ``rnnkit`` command is in the documentation: ``rnnkit train``'s tasks in
their pages' flag tables (as `` `--flag``), the other commands anywhere on their pages (a
table, a sentence or an example); a ``--no-X`` counts when ``--X`` is there. A new flag
without its line in the docs fails here."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from rnnkit.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
TRAIN_PAGES = {
    "charlm": ("docs/charlm.md",),
    "classify": ("docs/classify.md",),
    "tag": ("docs/classify.md",),
    "seq2seq": ("docs/translation.md",),
    "caption": ("docs/caption.md",),
    "forecast": ("docs/forecast.md",),
    "parity": ("docs/adding-a-task.md",),
    "vqa": ("docs/vqa.md",),
}
TASK_PAGES = tuple(sorted({page for pages in TRAIN_PAGES.values() for page in pages}))
COMMAND_PAGES = {
    "demo": ("README.md",),
    "bench": ("README.md",),
    "gradcheck": ("docs/bptt.md",),
    "data": ("docs/data.md",),
    "sample": ("docs/charlm.md",),
    "evaluate": TASK_PAGES,
    "predict": ("docs/classify.md", "docs/vqa.md"),
    "diagnose": ("docs/diagnostics.md",),
    "experiment": ("docs/experiments.md",),
    "caption": ("docs/caption.md",),
    "forecast": ("docs/forecast.md",),
    "translate": ("docs/translation.md",),
    "serve": ("docs/studio.md",),
    "export": ("docs/deploy.md",),
    "reproduce": ("README.md", "docs/results.md"),
}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return found[0].choices if found else {}


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    """Its long options and those of its subcommands, without --help."""
    parsers = [parser, *_subparsers(parser).values()]
    flags = {o for p in parsers for a in p._actions for o in a.option_strings}
    return sorted(f for f in flags if f.startswith("--") and f != "--help")


def _text(pages: tuple[str, ...]) -> str:
    return "\n".join((ROOT / page).read_text(encoding="utf-8") for page in pages)


def _missing(flags: list[str], found) -> list[str]:
    return [
        flag
        for flag in flags
        if not found(flag) and not (flag.startswith("--no-") and found("--" + flag[5:]))
    ]


COMMANDS = _subparsers(build_parser())
TASKS = _subparsers(COMMANDS["train"])


def test_every_command_and_task_has_its_pages():
    assert set(COMMANDS) == set(COMMAND_PAGES) | {"train"}
    assert set(TASKS) == set(TRAIN_PAGES)


@pytest.mark.parametrize("task", sorted(TRAIN_PAGES))
def test_every_flag_of_a_train_task_is_in_its_flag_table(task):
    text = _text(TRAIN_PAGES[task])
    flags = _flags(TASKS[task])
    assert len(flags) > 10
    missing = _missing(flags, lambda flag: f"`{flag}" in text)
    assert missing == [], f"not in {TRAIN_PAGES[task]}: {missing}"


@pytest.mark.parametrize("command", sorted(COMMAND_PAGES))
def test_every_flag_of_a_command_is_on_its_page(command):
    text = _text(COMMAND_PAGES[command])
    flags = _flags(COMMANDS[command])

    def found(flag: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None

    missing = _missing(flags, found)
    assert missing == [], f"not in {COMMAND_PAGES[command]}: {missing}"
