"""rnnkit's compiled time loops: the C++ in ``rnnkit/nn/csrc``, built on first use.

The whole-sequence routes (:mod:`rnnkit.nn.routes`) spend about half of a small-batch step in
Python's cost per tensor operation, not in arithmetic. Their loops, written again in C++ over
the same ATen operations, lose that cost and keep every number (tests check them against the
Python loops). The scan of :mod:`rnnkit.nn.scan` has its loop there too (``scan.cpp``), where
Python pays a few tensor operations per time step for one multiply-add. The C++ is compiled
once per source, torch and Python version, with ``torch.utils.cpp_extension`` (a C++
compiler and ninja are needed: ``g++``, the ``ninja`` package), into
``$RNNKIT_NATIVE_CACHE``, else ``$RNNKIT_CACHE/native``, else ``~/.cache/rnnkit/native``,
and loaded from there afterwards:

* a first build prints one line on stderr and takes about 20 seconds;
* processes that start together wait for one build (a file lock the system releases if its
  holder dies), and a build is moved into place only once it is complete, so a killed build
  leaves nothing half-written behind;
* where it cannot be built (no compiler), rnnkit warns once and runs the same loops in
  Python: the same numbers, slower;
* ``RNNKIT_NATIVE=0`` never builds nor loads it (the Python loops, no warning).
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

SOURCES = (
    "route_common.h",
    "activations.h",
    "lstm_route.cpp",
    "gru_route.cpp",
    "mut_route.cpp",
    "scan.cpp",
    "native.cpp",
)
# The one file compiled: it includes the four .cpp files. Each of them alone spends about 10 s
# of the compiler's time in ATen's headers; as one unit the build took 22 s on a 2-core AVX2
# EPYC, against 48 s for four units built two at a time.
UNIT = "native.cpp"
ENVIRONMENT_VARIABLE = "RNNKIT_NATIVE"
LIBRARY = "rnnkit_native"  # the extension's name and its TORCH_LIBRARY namespace
# Multiply-adds fused wherever the compiler can (GCC's default; clang's own default fuses
# fewer, and lnlstm's float32 outputs then came out 7x further from float64's in one test):
# one set of numbers from either compiler.
FLAGS = ("-O3", "-ffp-contract=fast")
# The loops vectorised for the processor that builds them: the first of these the compiler
# takes. clang before 15 takes neither on ARM (Apple's M1 among them) and builds for its
# default target there.
MACHINE_FLAGS = ("-march=native", "-mcpu=native")
_loaded: dict[str, object] = {}


def ops():
    """``torch.ops.rnnkit_native`` (built or loaded on the first call), or None where it is
    switched off (``RNNKIT_NATIVE=0``), cannot be built, or is being traced (torch.compile
    and torch.export trace the Python loops, which they can read)."""
    if os.environ.get(ENVIRONMENT_VARIABLE, "1") == "0" or _tracing():
        return None
    if "ops" not in _loaded:
        _loaded["ops"] = _load()
    return _loaded["ops"]


def expected() -> bool:
    """Whether the compiled loops will run here, found without building them: switched on,
    and built already for this machine or buildable (a C++ compiler, ninja and Python's
    headers found). A build can still fail (then :func:`ops` warns and gives None)."""
    if os.environ.get(ENVIRONMENT_VARIABLE, "1") == "0":
        return False
    if "ops" in _loaded:
        return _loaded["ops"] is not None
    if shutil.which(_compiler()) is None:
        return False
    try:
        if (build_folder() / f"{LIBRARY}.so").exists():
            return True
    except OSError:  # the sources unreadable: nothing can be built either
        return False
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return headers.exists() and _ninja_found()


def _ninja_found() -> bool:
    try:
        import ninja  # noqa: F401
    except ImportError:
        return shutil.which("ninja") is not None
    return True


def release_buffers() -> None:
    """Let go of the buffers the compiled loops keep between calls (to reuse their pages; at
    most 4 GiB), e.g. after training, before other work. Nothing happens if they never ran."""
    if _loaded.get("ops") is not None:
        _loaded["ops"].release_buffers()


def _tracing() -> bool:
    return torch.compiler.is_compiling() or torch.jit.is_tracing() or torch.jit.is_scripting()


def build_folder() -> Path:
    """Where this build of the sources lives: one folder per source, torch, Python, compiler
    and processor."""
    root = os.environ.get("RNNKIT_NATIVE_CACHE")
    if not root:
        root = Path(os.environ.get("RNNKIT_CACHE") or Path.home() / ".cache" / "rnnkit") / "native"
    root = Path(root).expanduser().absolute()  # "~/x" or a relative path: read once, here
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((_source_folder() / name).read_bytes())
    compiler = _compiler()  # another compiler, another build
    flags = compile_flags()
    digest.update(f"{torch.__version__} {sys.version} {sys.platform} {flags} {compiler}".encode())
    digest.update(_processor().encode())  # built for this processor: a home folder may be
    # shared by machines of other kinds
    return Path(root) / digest.hexdigest()[:16]


def openmp_flags() -> list[str]:
    """``-fopenmp`` on Linux where torch's threads are OpenMP's and the compiler is GCC. ATen's
    ``parallel_for`` is then OpenMP pragmas in its headers, which a build without the flag
    compiles to one thread (the loops' products and their rows split between threads ran on
    one until 2026-12-05). GCC's flag links libgomp.so.1 by name: the one torch has loaded
    already. Elsewhere the loops build without it and run on one thread: macOS's compiler has
    no ``-fopenmp``, and clang's links its own runtime (libomp, a second pool of threads beside
    torch's) and fails without that runtime's headers installed."""
    backend = torch.__config__.parallel_info()
    openmp = sys.platform.startswith("linux") and "parallel backend: OpenMP" in backend
    return ["-fopenmp"] if openmp and compiler_is_gcc(_compiler()) else []


def compile_flags() -> list[str]:
    """The build's flags: FLAGS, the first of MACHINE_FLAGS the compiler takes, OpenMP's."""
    compiler = _compiler()
    machine = next(([flag] for flag in MACHINE_FLAGS if compiler_takes(compiler, flag)), [])
    return [*FLAGS, *machine, *openmp_flags()]


def _compiler() -> str:
    """What torch's extension builder calls: ``$CXX``, else ``c++``."""
    return os.environ.get("CXX", "c++")


@functools.cache
def compiler_takes(compiler: str, flag: str) -> bool:
    """Whether ``compiler`` compiles (an empty file) with ``flag``."""
    command = [compiler, flag, "-x", "c++", "-fsyntax-only", os.devnull]
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.cache
def compiler_is_gcc(compiler: str) -> bool:
    """Whether ``compiler`` is GCC, by the macros it predefines (clang defines ``__GNUC__``
    too, and ``__clang__``)."""
    try:
        macros = subprocess.run(
            [compiler, "-dM", "-E", "-x", "c++", os.devnull],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "__GNUC__" in macros and "__clang__" not in macros


def _processor() -> str:
    """What a native build compiles for: the processor's model and feature flags."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    wanted = ("model name", "flags", "Features", "CPU part")  # x86; ARM
    return "\n".join(sorted({line for line in lines if line.split(":")[0].strip() in wanted}))


def _source_folder() -> Path:
    return Path(__file__).parent / "csrc"


def _load():
    try:
        folder = build_folder()
        library = folder / f"{LIBRARY}.so"
        folder.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive(folder.parent / f"{folder.name}.lock"):
            if not library.exists():
                _build(folder)
                return torch.ops.rnnkit_native  # the build loaded it
        torch.ops.load_library(str(library))
        return torch.ops.rnnkit_native
    except Exception as error:  # no compiler, no ninja, a read-only cache: the Python loops
        reason = _first_error(str(error)) or repr(error)
        warnings.warn(
            f"rnnkit could not build its compiled time loops ({reason}); the whole-sequence "
            f"routes run their Python loops instead (the same numbers, "
            f"slower). Set {ENVIRONMENT_VARIABLE}=0 to choose that without this warning.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def _first_error(text: str) -> str:
    """The compiler's first ``error:`` line in a failed build's output, else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    return (errors or lines or [""])[0 if errors else -1]


def _build(folder: Path) -> None:
    """Compile into ``folder``.partial, load it, and move it into place whole."""
    from torch.utils.cpp_extension import load

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # a killed build's leftovers (and its lock)
    partial.mkdir()
    print(
        f"rnnkit: compiling the routes' time loops (first use only, about 20 seconds) into "
        f"{folder}",
        file=sys.stderr,
        flush=True,
    )
    with _ninja_on_path():
        load(
            LIBRARY,
            [str(_source_folder() / UNIT)],
            extra_cflags=compile_flags(),
            extra_ldflags=openmp_flags(),
            build_directory=str(partial),
            is_python_module=False,
        )
    shutil.rmtree(folder, ignore_errors=True)  # an incomplete folder from elsewhere
    partial.rename(folder)


@contextmanager
def _exclusive(path: Path):
    """Hold an exclusive lock on ``path`` (released by the system if this process dies)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; a build there is still moved into place whole
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _ninja_on_path():
    """The ``ninja`` package's binary on PATH for the build, if it is installed (a virtual
    environment run without being activated does not have its bin folder on PATH)."""
    try:
        import ninja
    except ImportError:
        yield
        return
    before = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join((ninja.BIN_DIR, before))
    try:
        yield
    finally:
        os.environ["PATH"] = before


def first_order_only(backward):
    """The hand-derived backward of a whole-sequence route: first derivatives only.

    A second derivative (``torch.autograd.grad(..., create_graph=True)``, then a gradient of
    that gradient: gradient penalties, Hessian-vector products) is refused here, at the first
    backward. torch's ``once_differentiable`` only raises where the second backward passes
    through it, and the parameters' second-order terms never do: they were left out without
    a word."""

    @functools.wraps(backward)
    def checked(ctx, *grads):
        if torch.is_grad_enabled():  # create_graph=True
            raise RuntimeError(
                "rnnkit's whole-sequence route of this recurrent layer gives first derivatives "
                "only, and a differentiable gradient (create_graph=True) was asked for; build "
                "the layer with impl='loop' (its readable loop, which autograd differentiates "
                "twice)"
            )
        return backward(ctx, *grads)

    return checked
