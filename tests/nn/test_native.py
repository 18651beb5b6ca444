"""How rnnkit.nn.native builds and finds its compiled time loops: switched off, a build that
fails (a warning, then the Python loops), a killed build's leftovers, a build moved into place
whole, and one folder per source. The loops' numbers are tested in test_lstm_bptt.py."""

from __future__ import annotations

import ast
import copy
import os
import platform
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
import torch.utils.cpp_extension

import rnnkit.nn as rn
from rnnkit.nn import native
from rnnkit.nn.regularise import regularise
from tests.nn.helpers import rel_error


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A process that has not loaded the library yet, building into an empty cache."""
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", str(tmp_path / "native"))
    return tmp_path / "native"


def test_switched_off_is_silent_and_never_builds(fresh, monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    monkeypatch.setattr(native, "_build", lambda folder: pytest.fail("built"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert native.ops() is None
    assert not fresh.exists()


def test_a_failed_build_warns_once_and_the_route_runs_in_python(fresh, monkeypatch):
    def no_compiler(folder):
        raise RuntimeError("Error building extension 'rnnkit_native'\nc++: not found")

    monkeypatch.setattr(native, "_build", no_compiler)
    with pytest.warns(RuntimeWarning, match=r"could not build .*\(c\+\+: not found\).*"):
        assert native.ops() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        assert native.ops() is None
        torch.manual_seed(0)
        layer = rn.Recurrent(rn.PeepholeLSTMCell, 3, 4)
        x = torch.randn(5, 2, 3)
        routed = layer(x)[0]
        layer.impl = "loop"
        torch.testing.assert_close(routed, layer(x)[0])


def test_expected_says_what_ops_will_give_without_building(fresh, monkeypatch):
    monkeypatch.setattr(native, "_build", lambda folder: pytest.fail("built"))
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    assert not native.expected()
    monkeypatch.delenv("RNNKIT_NATIVE")
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    assert not native.expected()
    monkeypatch.delenv("CXX")
    monkeypatch.setattr(native, "_ninja_found", lambda: False)
    assert not native.expected()  # nothing built, and nothing to build with
    folder = native.build_folder()
    folder.mkdir(parents=True)
    (folder / f"{native.LIBRARY}.so").touch()
    assert native.expected()  # built already: no ninja needed


def test_a_relative_or_home_cache_folder_is_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", "cache")
    assert native.build_folder().parent == tmp_path / "cache"
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", "~/built")
    assert native.build_folder().parent == tmp_path / "home" / "built"  # not ./~/built
    monkeypatch.delenv("RNNKIT_NATIVE_CACHE")
    monkeypatch.setenv("RNNKIT_CACHE", "mine")
    assert native.build_folder().parent == tmp_path / "mine" / "native"


def test_expected_agrees_with_a_real_build(monkeypatch):
    expected = native.expected()  # before the first ops() of this process, if it is the first
    assert expected == (native.ops() is not None)
    monkeypatch.setattr(native, "_loaded", {"ops": None})  # a build that failed
    assert not native.expected()


def test_a_killed_build_is_cleared_and_a_build_lands_whole(fresh, monkeypatch):
    folder = native.build_folder()
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True)
    (partial / "lock").touch()  # torch's own lock, left by a build that was killed
    (partial / "rnnkit_native.so").write_bytes(b"half")
    seen = {}

    def fake_load(name, sources, build_directory, **options):
        seen["files"] = sorted(p.name for p in native.Path(build_directory).iterdir())
        (native.Path(build_directory) / f"{name}.so").write_bytes(b"whole")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", fake_load)
    native._build(folder)
    assert seen["files"] == []  # the leftovers were cleared before the build
    assert not partial.exists()
    assert (folder / "rnnkit_native.so").read_bytes() == b"whole"


def test_one_folder_per_source(fresh, monkeypatch, tmp_path):
    before = native.build_folder()
    source = tmp_path / "csrc"
    source.mkdir()
    for name in native.SOURCES:
        (source / name).write_text("// another version\n")
    monkeypatch.setattr(native, "_source_folder", lambda: source)
    after = native.build_folder()
    assert before.parent == after.parent == fresh
    assert before != after


ROUTED = [rn.PeepholeLSTMCell, rn.LayerNormLSTMCell, rn.LSTMCell, rn.GRUCell]
ROUTED += [rn.LayerNormGRUCell, rn.MUT1Cell, rn.MUT2Cell, rn.MUT3Cell]


@pytest.mark.parametrize("batch, hidden", [(4, 16), (13, 37), (20, 16)])
@pytest.mark.parametrize("cell_class", ROUTED)
def test_float32_compiled_loops_are_as_close_to_float64_as_the_python_ones(
    cell_class, batch, hidden, monkeypatch, two_threads
):
    """In float32 the compiled loops take their own product (route_common.h), its tiles
    shared between two threads: 4 rows, one tile, zero-padded; 13, a whole tile and a padded
    one, and 37 units, columns past the last whole tile; 20, two whole tiles and a padded one
    (8-row tiles; 4-row tiles on AVX2). The float64 tests in test_lstm_bptt.py run a plain
    product. Outputs and gradients against the same layer in float64: within float32's
    rounding over 30 steps, as the Python loops are (1e-6 here; lnlstm's layer norms magnify
    rounding: up to 16 rows its worst is 2.5e-5 built by GCC with multiply-adds fused and
    3.7e-5 built for SSE2, which has none; at batch 20, 6e-5 and 1.5e-4, against the Python
    loops' 7.6e-5, hence the looser bound there; a wrong product would be off by 1e-1). With
    tanh as 2 sigmoid(2x) - 1, which loses its relative accuracy near 0, lnlstm's reached
    3e-4 at batch 20 (activations.h). Built natively on a Zen 3 EPYC with AVX2 only (4-row
    tiles, 2026-12-06), batch 20 gave 2.05e-4 in the cell norm's bias gradient (a sum over
    600 steps and rows that cancels; the Python loops' worst 7.6e-5, and over seeds 1-5 the
    compiled worst 1.9e-5 to 2.3e-4 against the Python loops' 6.7e-6 to 4.6e-5): 3e-4 there."""
    if native.ops() is None:
        pytest.skip("the compiled time loops are not built here")
    torch.manual_seed(0)
    layer = rn.Recurrent(cell_class, 5, hidden, 2, bidirectional=True)
    if cell_class in (rn.LSTMCell, rn.GRUCell):  # they take the route with zoneout
        regularise(layer, zoneout=0.1)
    layer.impl = "route"
    layer.eval()  # zoneout's expectation: float32 and float64 draw different masks
    x = torch.randn(30, batch, 5)
    lengths = torch.tensor([30, 17, 9, 1] * (batch // 4) + [30] * (batch % 4))

    def run(layer, x):
        x = x.clone().requires_grad_()
        out, state = layer(x, lengths=lengths)
        state = state if isinstance(state, tuple) else (state,)
        weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
        loss = (out * weights).sum() + state[-1].square().sum()
        return [out, *state, *torch.autograd.grad(loss, [x, *layer.parameters()])]

    reference = run(copy.deepcopy(layer).double(), x.double())
    compiled = run(layer, x)
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    python = run(layer, x)
    bound = 3e-4 if batch > 16 else 1e-4
    for got, loop, want in zip(compiled, python, reference, strict=True):
        assert rel_error(got, want) < bound and rel_error(loop, want) < 1e-4


def test_buffers_are_reused_between_steps_and_released():
    """A training loop's second step takes the buffers its first one let go of."""
    if native.ops() is None:
        pytest.skip("the compiled time loops are not built here")
    native.release_buffers()
    layer = rn.Recurrent(rn.PeepholeLSTMCell, 3, 8)
    x = torch.randn(12, 2, 3)
    for step in range(3):
        layer(x)[0].sum().backward()
        if step == 0:
            kept = native.ops().pooled_buffers()
    assert kept > 0
    assert native.ops().pooled_buffers() == kept
    native.release_buffers()
    assert native.ops().pooled_buffers() == 0


@pytest.mark.parametrize("cell_class", ROUTED)
def test_a_call_under_inference_mode_leaves_no_buffer_training_cannot_save(cell_class):
    """An evaluation under torch.inference_mode() between training steps (and first of all):
    the pool's buffers stay normal tensors, so the next step saves them for backward and its
    gradients are those of a layer that never saw inference mode."""
    if native.ops() is None:
        pytest.skip("the compiled time loops are not built here")
    native.release_buffers()
    torch.manual_seed(0)
    layer = rn.Recurrent(cell_class, 3, 8)
    if cell_class in (rn.LSTMCell, rn.GRUCell):  # they take the route with zoneout
        regularise(layer, zoneout=0.1)
    layer.impl = "route"
    layer.eval()  # zoneout's expectation: the twin draws no other masks
    twin = copy.deepcopy(layer)
    x = torch.randn(12, 2, 3)
    with torch.inference_mode():
        evaluated = layer(torch.randn(30, 2, 3))[0]
    assert evaluated.is_inference()
    layer(x)[0].sum().backward()
    with torch.inference_mode():
        layer(torch.randn(12, 2, 3))
    layer.zero_grad()
    layer(x)[0].sum().backward()
    twin(x)[0].sum().backward()
    for (name, mine), theirs in zip(layer.named_parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, theirs.grad, msg=name)


def test_openmp_where_torch_threads_with_it(monkeypatch):
    """ATen's parallel_for compiles to one thread without -fopenmp when torch's backend is
    OpenMP: the build asks for it there (on Linux, with GCC), and not for other backends,
    systems or compilers."""
    info = "ATen parallel backend: {}\n"
    monkeypatch.setattr(native.sys, "platform", "linux")
    monkeypatch.setattr(native, "compiler_is_gcc", lambda compiler: True)
    monkeypatch.setattr(torch.__config__, "parallel_info", lambda: info.format("OpenMP"))
    assert native.openmp_flags() == ["-fopenmp"]
    monkeypatch.setattr(native, "compiler_is_gcc", lambda compiler: compiler != "clang++")
    monkeypatch.setenv("CXX", "clang++")
    assert native.openmp_flags() == []
    monkeypatch.delenv("CXX")
    monkeypatch.setattr(
        torch.__config__, "parallel_info", lambda: info.format("native thread pool")
    )
    assert native.openmp_flags() == []
    monkeypatch.setattr(torch.__config__, "parallel_info", lambda: info.format("OpenMP"))
    monkeypatch.setattr(native.sys, "platform", "darwin")
    assert native.openmp_flags() == []


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in compilers are shell scripts")
def test_gcc_is_told_from_clang_by_its_macros(tmp_path):
    """A compiler is GCC where it predefines __GNUC__ and not __clang__ (clang defines both);
    one that cannot be run is not."""
    compilers = {
        "gcc-like": "#define __GNUC__ 12\n#define __x86_64__ 1",
        "clang-like": "#define __GNUC__ 4\n#define __clang__ 1",
        "other": "#define __INTEL_COMPILER 1",
    }
    for name, macros in compilers.items():
        script = tmp_path / name
        script.write_text(f"#!/bin/sh\nprintf '{macros}\\n'\n")
        script.chmod(0o755)
    assert native.compiler_is_gcc(str(tmp_path / "gcc-like"))
    assert not native.compiler_is_gcc(str(tmp_path / "clang-like"))
    assert not native.compiler_is_gcc(str(tmp_path / "other"))
    assert not native.compiler_is_gcc(str(tmp_path / "missing"))


def test_the_built_library_shares_torchs_openmp_runtime():
    """Built here with -fopenmp, the library loads no second OpenMP runtime beside torch's (in
    a fresh process: other packages, scikit-learn's wheels among them, bring their own)."""
    if native.ops() is None or not native.openmp_flags():
        pytest.skip("the compiled time loops are not built with OpenMP here")
    script = (
        "import torch\n"
        "from rnnkit.nn import native\n"
        "assert native.ops() is not None\n"
        "print(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libgomp' in l}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runtimes = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert len(runtimes) == 1 and "torch" in runtimes[0], runtimes


@pytest.mark.parametrize("dtype, bound", [(torch.float32, 2.5e-7), (torch.float64, 1e-15)])
def test_the_loops_sigmoid_and_tanh_are_accurate(dtype, bound):
    """The loops' own sigmoid and tanh (activations.h) against float64's truth, relative,
    over [-20, 20] (a length that leaves a part-vector at the end) and tanh also near 0
    (1e-30 to 1), where 1 - e^-2x would lose every digit; far out they saturate to 1, -1 and
    0 (sigmoid stops at 6e-39 below x = -87 in float32); NaN stays NaN. torch's own float32
    kernels reach 1.5e-7 (sigmoid) and 6e-8 (tanh) here, the loops 1.8e-7 for both; a degree
    of the polynomial too few (reaching 6e-7) or a wrong exponent breaks the bound."""
    if native.ops() is None:
        pytest.skip("the compiled time loops are not built here")
    x = torch.linspace(-20, 20, (1 << 20) + 7, dtype=dtype)
    x = torch.cat([x, torch.logspace(-30, 0, 1000, dtype=dtype)])

    def rel_errors(got, want):
        return ((got.double() - want) / want).abs().max()

    sigmoid, tanh = native.ops().activations(x)
    truth = x.double()
    assert rel_errors(sigmoid, truth.sigmoid()) < bound
    assert rel_errors(tanh[x != 0], truth[x != 0].tanh()) < bound
    far = torch.tensor([-1e30, -100, 100, 1e30, float("inf"), -float("inf")], dtype=dtype)
    sigmoid, tanh = native.ops().activations(far)
    torch.testing.assert_close(sigmoid, torch.sigmoid(far), atol=1e-38, rtol=0)
    torch.testing.assert_close(tanh, torch.tanh(far), atol=0, rtol=0)
    sigmoid, tanh = native.ops().activations(torch.tensor([float("nan")] * 3, dtype=dtype))
    assert sigmoid.isnan().all() and tanh.isnan().all()


def test_the_row_split_is_a_setting_benchmarks_can_change(two_threads, monkeypatch):
    """split_rows_from(values) sets how many values a step must hold (more than) for its rows
    to be split, and returns the setting before; above one value, three rows split (2 and 1)
    and give the numbers of the Python loop. Not positive: a clear error."""
    if native.ops() is None:
        pytest.skip("the compiled time loops are not built here")
    torch.manual_seed(0)
    layer = rn.Recurrent(rn.LayerNormLSTMCell, 3, 5).double()
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    before = native.ops().split_rows_from(1)
    try:
        out = layer(x)[0]
        assert native.ops().split_rows_from(1) == 1
    finally:
        native.ops().split_rows_from(before)
    with pytest.raises(RuntimeError, match="a positive number of values, got 0"):
        native.ops().split_rows_from(0)
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    torch.testing.assert_close(out, layer(x)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in compilers are shell scripts")
def test_the_machine_flag_is_the_first_the_compiler_takes(tmp_path, monkeypatch):
    """-march=native, else -mcpu=native, else neither (clang before 15 on ARM refuses both):
    a compiler that refuses a flag still builds the loops, for its default target."""
    refusing = {"gcc-like": "", "arm-clang-15": "-march=native", "arm-clang-14": "-*=native"}
    for name, refused in refusing.items():
        script = tmp_path / name
        test = f'case "$a" in {refused}) exit 1;; esac' if refused else ":"
        script.write_text(f'#!/bin/sh\nfor a in "$@"; do {test}; done\n')
        script.chmod(0o755)
    expected = {"gcc-like": ["-march=native"], "arm-clang-15": ["-mcpu=native"]}
    for name in refusing:
        monkeypatch.setenv("CXX", str(tmp_path / name))
        assert native.compile_flags() == [*native.FLAGS, *expected.get(name, [])]


FLOAT32_TESTS = (
    "test_float32_compiled_loops_are_as_close_to_float64_as_the_python_ones",
    "test_the_loops_sigmoid_and_tanh_are_accurate",
)
# pytest in a fresh process, the build's machine flag set first (a build of its own, in the
# suite's cache: the flags are part of its folder's digest)
OTHER_BUILD = """
import sys, pytest
from rnnkit.nn import native
native.MACHINE_FLAGS = tuple(sys.argv[1:2])
sys.exit(pytest.main(["-q", "-n", "0", "-p", "no:randomly", *sys.argv[2:]]))
"""
X86_64 = platform.machine() in ("x86_64", "AMD64")


@pytest.mark.slow
@pytest.mark.parametrize(
    "compiler, machine_flag",
    [
        pytest.param(
            "clang++",
            "-march=native",
            marks=pytest.mark.skipif(shutil.which("clang++") is None, reason="no clang++"),
            id="clang",
        ),
        pytest.param(
            "c++",
            "-march=x86-64",
            marks=pytest.mark.skipif(not X86_64, reason="not an x86-64 machine"),
            id="plain-x86-64",
        ),
    ],
)
def test_other_builds_pass_the_float32_tests(compiler, machine_flag):
    """Built another way, in a fresh process, the loops pass this file's float32 test for
    every routed cell, and their sigmoid and tanh theirs:
    - by clang (macOS's compiler): its build crashed in the product before its vector moves
      were made unaligned (it took a typedef's lowered alignment for the full one), and did
      not build before -fopenmp was kept for GCC;
    - for plain x86-64 (SSE2, no fused multiply-add; 4-float vectors, as on ARM): GCC 12
      stopped on an internal error there while the loops' vectors were 8 floats."""
    if compiler == "c++" and not native.compiler_is_gcc(compiler):
        pytest.skip("the plain x86-64 build is checked with GCC")
    tests = [f"{__file__}::{name}" for name in FLOAT32_TESTS]
    result = subprocess.run(
        [sys.executable, "-c", OTHER_BUILD, machine_flag, *tests],
        env={**os.environ, "CXX": compiler},
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "skipped" not in result.stdout
