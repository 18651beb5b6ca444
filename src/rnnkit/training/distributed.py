"""Data-parallel training under ``torchrun``: one process per rank, PyTorch's own engine.

    torchrun --nproc-per-node 2 -m rnnkit train charlm --max-steps 100

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`world` reads them and
joins the process group (gloo on the CPU, NCCL on CUDA). The Trainer then wraps the model in
``DistributedDataParallel`` and gives each rank its slice of every batch: the rows
``[r * B/N, (r + 1) * B/N)`` of each tensor's batch dimension (the task's ``batch_dim``, 0 unless
it says otherwise; an epoch's last, shorter batch as evenly as it goes). For the char model
those are the B parallel streams, so N ranks with a global batch B follow exactly the
streams of one process with batch B; as DDP averages the gradients over the ranks (each
rank's loss weighted by its share, ``loss_weight``), every step is the single-process step.
Only rank 0 prints, writes metrics and samples, and saves checkpoints; the carried recurrent
state is gathered from every rank before a save, so a checkpoint is the same whatever the
world size, and a run resumes on any number of ranks that divides its batch. Every rank
evaluates the whole validation split (the same weights give the single-process number).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place: ``rank`` of ``size`` (``local_rank`` on its machine)."""

    size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world(device_type: str = "cpu") -> World:
    """The world torchrun's environment describes (one process without it); the process
    group is joined on first call (gloo on the CPU, NCCL on CUDA)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    here = World(size, int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        # torchrun's store outlives a restarted attempt (--max-restarts): each attempt keys its
        # process group apart, or it would read the dead attempt's addresses
        store, rank, size = next(dist.rendezvous("env://"))
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        store = dist.PrefixStore(f"rnnkit/attempt-{attempt}/", store)
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend, store=store, rank=rank, world_size=size)
        atexit.register(_leave)
        sys.excepthook = _noting_the_failure(sys.excepthook)
    return here


_failed = False


def failed() -> None:
    """Say that this process is ending on an error (the CLI calls it before it exits non-zero;
    an uncaught exception says it by itself). At exit it then leaves the process group without
    waiting at the barrier: the other ranks may be inside a collective that this one will never
    join, and would wait for it (gloo's timeout is 30 minutes) instead of failing at once."""
    global _failed
    _failed = True


def _noting_the_failure(hook):
    def excepthook(kind, value, traceback):
        failed()
        hook(kind, value, traceback)

    return excepthook


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def shard(value: Any, here: World, dim: int = 0, even: bool = False) -> Any:
    """Rank ``here.rank``'s share of every tensor in ``value`` (nested tuples, NamedTuples,
    lists, dicts), sliced on the batch dimension ``dim`` (tensors with fewer dimensions are
    sliced on their first); ints and the rest as they are.

    A batch that does not divide among the ranks (the last, shorter batch of an epoch) is
    shared as evenly as it goes, the first ranks taking one row more: the Trainer weights
    each rank's loss by its share (``loss_weight``), so the step is still the single-process
    step. ``even``: shares must be equal (a task whose carried state is gathered from the
    ranks); a ValueError otherwise, as for a batch of fewer rows than ranks."""
    if not here.distributed:
        return value
    if isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return value
        axis = dim if value.dim() > dim else 0
        check_batch_size(value.shape[axis], here, even)
        return value.tensor_split(here.size, dim=axis)[here.rank]
    return _map(value, lambda item: shard(item, here, dim, even))


def check_batch_size(rows: int | None, here: World, even: bool) -> None:
    """A ValueError for a batch of ``rows`` that :func:`shard` cannot share among the ranks:
    fewer rows than ranks, or (``even``) rows that do not divide among them. A run checks its
    configured batch size so before it makes its run directory."""
    if rows is None or not rows % here.size or not (even or rows < here.size):
        return
    raise ValueError(
        f"a batch of {rows} does not divide among {here.size} ranks; use a batch size "
        f"that is a multiple of the number of ranks"
        + ("" if even else f" and leaves at least {here.size} for an epoch's last batch")
    )


def check_task(task, config, here: World, name: str) -> None:
    """Refuse, before a run directory is made, a task (``name``) that cannot train on
    ``here``'s ranks: one that trains in one process only (``task.one_process``), a batch
    size (``config.data.batch_size``; no config: none) that :func:`check_batch_size` refuses,
    or, for a task batched by ``rnnkit.data.buckets.LengthBuckets`` (``task.buckets``), the
    shorter batch that ends each epoch of its training split when it has fewer rows than
    there are ranks (it failed at that step, the run half trained)."""
    if not here.distributed:
        return
    if getattr(task, "one_process", False):
        raise ValueError(
            f"{name} trains in one process only: its batches hold tensors with the batch on "
            "different dimensions, which the ranks cannot share yet; run it without torchrun"
        )
    batch_size = getattr(getattr(config, "data", None), "batch_size", None)
    check_batch_size(batch_size, here, getattr(task, "even_shares", False))
    buckets = getattr(task, "buckets", None)
    if buckets is None:
        return
    examples = len(buckets.lengths)
    short = examples % buckets.batch_size
    if 0 < short < here.size:
        raise ValueError(
            f"the {examples} training examples end each epoch with a batch of {short} "
            f"(batch size {buckets.batch_size}), fewer than the {here.size} ranks; choose a "
            f"batch size that leaves no remainder or at least {here.size}"
        )


def gather_state(value: Any, here: World, dim: int = 1) -> Any:
    """Every rank's carried state put back together on dimension ``dim`` (the batch
    dimension of a recurrent state ``(L, B, H)``), so rank 0 saves the whole of it."""
    if not here.distributed or value is None:
        return value
    if isinstance(value, torch.Tensor):
        parts = [torch.empty_like(value) for _ in range(here.size)]
        dist.all_gather(parts, value.contiguous())
        return torch.cat(parts, dim=dim)
    return _map(value, lambda item: gather_state(item, here, dim))


def split_state(value: Any, here: World, dim: int = 1) -> Any:
    """This rank's slice of a whole carried state (a checkpoint's), on dimension ``dim``."""
    if not here.distributed or value is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.chunk(here.size, dim=dim)[here.rank].contiguous()
    return _map(value, lambda item: split_state(item, here, dim))


def mean_over_ranks(number: float, here: World) -> float:
    """The mean of ``number`` over the ranks (the number itself on one process)."""
    if not here.distributed:
        return number
    total = torch.tensor([float(number)], dtype=torch.float64)
    dist.all_reduce(total)
    return float(total) / here.size


def loss_weight(count: int, here: World) -> float:
    """This rank's loss weight ``world size * count / total count``: DDP averages the ranks'
    gradients, so the weighted losses give the gradient of the mean over the whole batch
    (1 on one process, and where every rank's share is the same size)."""
    if not here.distributed:
        return 1.0
    total = torch.tensor([float(count)], dtype=torch.float64)
    dist.all_reduce(total)
    return here.size * count / float(total)


def any_rank(flag: bool, here: World) -> bool:
    """Whether ``flag`` is true on any rank (so that every rank stops at the same step)."""
    if not here.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier(here: World) -> None:
    if here.distributed:
        dist.barrier()


def from_main(value: Any, here: World) -> Any:
    """Rank 0's ``value`` (a run directory's path, say) on every rank."""
    if not here.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _leave() -> None:
    """Leave the process group at exit: once every rank is done with it, or at once when this
    process is ending on an error (:func:`failed`). A rank left waiting in a collective then
    sees the connection close and fails too, and torchrun stops (or restarts) the job."""
    if not dist.is_initialized():
        return
    if not _failed:
        try:
            dist.barrier()
        except RuntimeError:  # a rank has died: torchrun stops (or restarts) the job
            pass
    dist.destroy_process_group()
    # what still holds gloo's work (the DDP reducer, its buckets) is freed now, while the
    # interpreter is whole: freed during its teardown, a rank now and then aborted there
    # ("terminate called without an active exception", about 1 two-rank run in 20 under load)
    gc.collect()


def _map(value: Any, function) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(function(item) for item in value))
    if isinstance(value, (tuple, list)):
        return type(value)(function(item) for item in value)
    if isinstance(value, dict):
        return {key: function(item) for key, item in value.items()}
    return value


class SilentMetrics:
    """What a rank other than 0 logs its metrics to: nothing."""

    path = None

    def log(self, record: dict) -> None: ...

    def add_text(self, tag: str, text: str, step: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


def data_parallel(model: torch.nn.Module, device: torch.device, here) -> torch.nn.Module:
    """The module the training steps call: ``model`` itself, or under torchrun ``model``
    wrapped in ``DistributedDataParallel`` (which averages the gradients over the ranks)."""
    if not here.distributed:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
