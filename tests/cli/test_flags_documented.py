"""Every flag of every ``rnnkit train`` task is on its page under docs/ (a ``--no-X`` counts
when ``--X`` is there): a new flag without its line in the docs fails here."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rnnkit.cli.main import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = {
    "charlm": ("charlm.md",),
    "classify": ("classify.md",),
    "tag": ("classify.md",),
    "seq2seq": ("translation.md",),
    "caption": ("caption.md",),
    "forecast": ("forecast.md",),
}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


TASKS = _subparsers(_subparsers(build_parser())["train"])


def test_every_task_has_a_page():
    assert set(TASKS) == set(PAGES)


@pytest.mark.parametrize("task", sorted(PAGES))
def test_every_flag_of_the_task_is_documented(task):
    text = "".join((DOCS / name).read_text(encoding="utf-8") for name in PAGES[task])
    flags = [o for a in TASKS[task]._actions for o in a.option_strings if o.startswith("--")]
    assert len(flags) > 10
    undocumented = [
        flag
        for flag in flags
        if flag != "--help"
        and f"`{flag}" not in text
        and not (flag.startswith("--no-") and f"`--{flag[5:]}" in text)
    ]
    assert undocumented == [], f"not in {', '.join(PAGES[task])}: {undocumented}"
