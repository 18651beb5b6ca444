"""docs/bptt.md stays true: its code excerpts are in the source, its worked-example output is
what the command prints, and its truncated-BPTT example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rnnkit.reference import worked_example

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "bptt.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", PAGE, flags=re.DOTALL)
EXCERPTS = [code for lang, code in BLOCKS if lang == "python" and code.startswith("# src/")]


def test_the_page_has_excerpts():
    assert len(EXCERPTS) >= 8


@pytest.mark.parametrize("code", EXCERPTS, ids=lambda code: code.splitlines()[0][2:])
def test_every_excerpt_line_is_in_its_source_file(code):
    path, *lines = code.splitlines()
    source = (ROOT / path[2:]).read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert line in source, f"{line!r} is no longer in {path[2:]}"


def test_worked_example_output_is_what_the_command_prints(capsys):
    worked_example.main()
    printed = capsys.readouterr().out
    (quoted,) = [code for lang, code in BLOCKS if lang == "text" and "W_xh x:" in code]
    assert quoted == printed


def test_truncated_bptt_example_runs():
    (code,) = [code for lang, code in BLOCKS if lang == "python" and "TruncatedBPTT(" in code]
    namespace: dict = {}
    exec(compile(code, "docs/bptt.md", "exec"), namespace)
    assert namespace["loss"] > 0
    assert set(namespace["grads"]) == set(namespace["params"])
