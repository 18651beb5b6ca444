"""The reference engine is NumPy only: importing every module of it loads no torch."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import rnnkit.reference


def test_reference_imports_no_torch():
    modules = [
        f"rnnkit.reference.{m.name}" for m in pkgutil.iter_modules(rnnkit.reference.__path__)
    ]
    assert "rnnkit.reference.rnn" in modules and "rnnkit.reference.charlm" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import rnnkit.cli.gradcheck\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
