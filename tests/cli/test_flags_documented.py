"""Every flag of ``rnnkit train classify`` and ``rnnkit train tag`` is in docs/classify.md
(a ``--no-X`` counts when ``--X`` is there): a new flag without its line in the docs fails."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rnnkit.cli.main import build_parser

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "classify.md").read_text(encoding="utf-8")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


@pytest.mark.parametrize("task", ["classify", "tag"])
def test_every_flag_of_the_task_is_documented(task):
    parser = _subparsers(_subparsers(build_parser())["train"])[task]
    flags = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    assert "--pooling" in flags or task == "tag"
    undocumented = [
        flag
        for flag in flags
        if flag != "--help"
        and f"`{flag}" not in PAGE
        and not (flag.startswith("--no-") and f"`--{flag[5:]}" in PAGE)
    ]
    assert undocumented == [], f"not in docs/classify.md: {undocumented}"
