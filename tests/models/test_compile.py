"""``torch.compile`` of every named core gives eager's outputs and gradients.

Inductor (the default backend, which generates C++ kernels) takes 10-15 s to compile even
the smallest core on a loaded 2-core CPU, and unrolls a time loop into one graph: at T=5 the
loop cores (rnnkit's LSTM cells' whole-sequence route, the GRU variants) take near a minute
each. So inductor runs one representative core, mingru (its scan is where generated kernels
replace the most operations), and every core runs under ``backend="aot_eager"``, which
traces the same graphs, forward and backward (dynamo, then AOTAutograd), without generating
code: what could differ from eager in a compiled model. The file takes under a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.models.recurrent import RECURRENT_CORES, build_recurrent

INDUCTOR = ("mingru",)


def _outputs_and_grads(layer, x):
    output, _ = layer(x)
    weights = torch.linspace(-1, 1, output.numel()).view_as(output)
    grads = torch.autograd.grad((output * weights).sum(), [x, *layer.parameters()])
    return [output, *grads]


def _check(name: str, backend: str) -> None:
    torch._dynamo.reset()  # each core compiles afresh, not against another's guards
    torch.manual_seed(0)
    layer = build_recurrent(name, 3, 4, num_layers=1, horizon=10)
    x = torch.randn(2, 3, 3, requires_grad=True)  # (N, T, D), batch_first
    compiled = torch.compile(layer, backend=backend, fullgraph=False)
    got = _outputs_and_grads(compiled, x)
    want = _outputs_and_grads(layer, x)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", INDUCTOR)
def test_inductor_equals_eager(name):
    """In a fresh interpreter: inductor builds C++ through setuptools' distutils, which fails
    with an AssertionError when another test of the suite has already imported the standard
    library's distutils (a test that builds a wheel does)."""
    code = f"from tests.models.test_compile import _check; _check({name!r}, 'inductor')"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("name", list(RECURRENT_CORES))
def test_compiled_graphs_equal_eager(name):
    _check(name, "aot_eager")
