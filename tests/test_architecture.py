"""The architecture is part of the suite: import-linter holds the contracts in pyproject.toml
(the layers of ../shared/DESIGN.md, no import cycles, a reference that imports nothing of
rnnkit), so a change that imports upward fails here with the offending import chain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter", reason="import-linter is installed with the test extras")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip(f"no lint-imports script beside {sys.executable}")
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,  # pyproject.toml holds the contracts
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},  # this tree's rnnkit
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout
