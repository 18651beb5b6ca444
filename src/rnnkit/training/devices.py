"""Where a run computes: ``--device auto|cpu|cuda|cuda:N|mps``, resolved once, and the moves.

    device = resolve_device("auto")         # cuda if there is one, else mps, else cpu
    batch = to_device(batch, device)        # every tensor in tuples, lists, dicts, NamedTuples
    with inference_device("cuda"):          # what `rnnkit sample --device cuda` does ...
        opened, model = open_model(...)     # ... and the lifecycle puts the model there

Models and tasks are written device-agnostic; the Trainer and the run lifecycle put the model,
the batches, the carried state and the optimizer's moments on the device. Checkpoints always
hold CPU tensors (safetensors), so a run trained on CUDA loads on a CPU-only machine and the
reverse.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import inspect
import platform
import re
from contextvars import ContextVar
from typing import Any

import torch

DEVICE_CHOICES = "auto|cpu|cuda|cuda:N|mps"
_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
_INFERENCE: ContextVar[str] = ContextVar("rnnkit_inference_device", default="cpu")


def check_device_name(name: str) -> None:
    """A ValueError for a device name that is none of ``auto|cpu|cuda|cuda:N|mps``."""
    if not isinstance(name, str) or not _PATTERN.fullmatch(name):
        raise ValueError(f"unknown device {name!r}; allowed: {DEVICE_CHOICES}")


def available_devices() -> list[str]:
    """The devices this machine has: ``cpu``, then ``cuda:0..`` and ``mps`` where present."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """The device ``name`` means on this machine: ``auto`` is CUDA if available, else MPS,
    else the CPU; plain ``cuda`` is ``cuda:LOCAL_RANK`` under torchrun (else ``cuda:0``).
    A device that is not there is a one-line ValueError naming those that are."""
    check_device_name(name)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank or 0}"
    if name not in available_devices():
        raise ValueError(
            f"device {name} is not available on this machine; available: "
            f"{', '.join(available_devices())}"
        )
    return torch.device(name)


def to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it (nested tuples, NamedTuples, lists, dicts) on
    ``device``; anything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True) if value.device != device else value
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        return type(value)(*(to_device(item, device) for item in value))
    if isinstance(value, (tuple, list)):
        return type(value)(to_device(item, device) for item in value)
    if isinstance(value, dict):
        return {key: to_device(item, device) for key, item in value.items()}
    return value


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (the CPU for a model without any)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def follow_model(model: torch.nn.Module) -> torch.nn.Module:
    """``model``, its ``forward`` and its own public methods (``step``, ``greedy``,
    ``encode``, ...) taking their tensors to the model's device first, so a task's evaluation
    and generation code (which builds its tensors on the CPU) runs unchanged on a model that
    lives elsewhere; within :func:`outputs_on_cpu` their results come back on the CPU. Only
    the outermost call moves anything (a method that calls another runs on the device).
    Nothing is changed for a model on the CPU."""
    if model_device(model).type == "cpu" or getattr(model, "_rnnkit_follows", False):
        return model
    model._rnnkit_follows, model._rnnkit_depth, model._rnnkit_to_cpu = True, 0, False
    for name in _own_methods(type(model)):
        setattr(model, name, _moving(model, getattr(model, name)))
    return model


@contextlib.contextmanager
def outputs_on_cpu(model: torch.nn.Module):
    """Within it, what a model that follows its device (:func:`follow_model`) returns comes
    back on the CPU, where a task's evaluation compares it with its CPU tensors. Training
    itself keeps its outputs on the device."""
    before = getattr(model, "_rnnkit_to_cpu", False)
    if getattr(model, "_rnnkit_follows", False):
        model._rnnkit_to_cpu = True
    try:
        yield model
    finally:
        if getattr(model, "_rnnkit_follows", False):
            model._rnnkit_to_cpu = before


@contextlib.contextmanager
def inference_device(name: str):
    """The device the models a run's consumers open (``lifecycle.open_model``, sampling,
    evaluation, prediction) go to within it (``--device`` of those commands; the CPU
    without it). An unavailable device is a ValueError here, before anything is read."""
    resolve_device(name)
    token = _INFERENCE.set(name)
    try:
        yield
    finally:
        _INFERENCE.reset(token)


def place_for_inference(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` on the inference device (:func:`inference_device`), taking its inputs from
    and giving its outputs back to the CPU, so the code around it needs no change."""
    device = resolve_device(_INFERENCE.get())
    if device.type == "cpu":
        return model
    follow_model(model.to(device))
    model._rnnkit_to_cpu = True
    return model


_CPU = torch.device("cpu")


def _own_methods(cls: type) -> list[str]:
    """``forward`` and the public functions a model class (and its bases up to
    ``torch.nn.Module``) defines."""
    names = set()
    for klass in cls.__mro__:
        if klass is torch.nn.Module or not issubclass(klass, torch.nn.Module):
            continue
        names.update(
            name
            for name, value in vars(klass).items()
            if inspect.isfunction(value) and (name == "forward" or not name.startswith("_"))
        )
    return sorted(names)


def _moving(model: torch.nn.Module, method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        if model._rnnkit_depth:  # called from another of the model's methods
            return method(*args, **kwargs)
        device = model_device(model)
        model._rnnkit_depth += 1
        try:
            result = method(*to_device(args, device), **to_device(kwargs, device))
        finally:
            model._rnnkit_depth -= 1
        return to_device(result, _CPU) if model._rnnkit_to_cpu else result

    return call


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@contextlib.contextmanager
def flushed_denormals(device: torch.device, enabled: bool = True):
    """On the CPU, float arithmetic with denormal numbers (below 1.2e-38 in float32) flushed
    to zero while the block runs; torch's default (off) comes back after.

    A gradient that vanishes through time (the loss at the last step of a long sequence: the
    adding problem, a many-to-one classifier) reaches the denormal range in the early steps,
    and each operation on a denormal costs the CPU about a hundred times a normal one: on a
    2-core Xeon an LSTM's training step at T=200, batch 50, H=128, loss on the last step took
    830 ms with them and 71 ms flushed (one thread; 460 and 45 ms on two). Values that small
    move no weight, so flushing them changes no result beyond the last bits."""
    if not enabled or device.type != "cpu" or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


# glibc's mallopt parameters (malloc.h): M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
HEAP_KEPT_BYTES = 1 << 30  # a block up to 1 GiB comes from (and goes back to) the heap
_heap_kept = False


def keep_freed_memory(device: torch.device | str = "cpu", enabled: bool = True) -> bool:
    """On the CPU under glibc, memory a step frees stays in the process for the next step;
    returns whether that is in effect. It is a setting of the whole process, made once, never
    undone (glibc cannot restore its adaptive thresholds).

    glibc serves a block over 32 MiB (over 128 KiB until a block that size has been freed)
    with a fresh ``mmap`` and gives it back on free, so each training step of a long sequence
    touches its large tensors' pages anew: one page fault per 4 KiB, and the operating system
    zeroes every page. With freed blocks up to 1 GiB kept in the heap (``mallopt`` of the mmap
    and trim thresholds), a training step of ``torch.nn.LSTM`` at T=2048, batch 8, 256 units
    took 202-256 ms instead of 336-360 (docs/experiments.md), and the quick char model's
    first minute ran 44k tokens/s instead of 31k in bf16, 24k instead of 21k in fp32 (2-core
    AMD EPYC with AVX-512; docs/results.md). The price: the
    process keeps its peak heap instead of returning it between steps."""
    global _heap_kept
    if not enabled or torch.device(device).type != "cpu":
        return False
    if _heap_kept:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)  # the process's own C library
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # a glibc before 2.35 refuses a threshold over 32 MiB: the most it allows then
    if not any(mallopt(_M_MMAP_THRESHOLD, size) for size in (HEAP_KEPT_BYTES, 32 << 20)):
        return False
    mallopt(_M_TRIM_THRESHOLD, 2 * HEAP_KEPT_BYTES)
    _heap_kept = True
    return True
