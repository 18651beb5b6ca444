"""Recurrent states: one per cell inside the loop, torch's stacked layout at the boundary.

A cell's state is a tensor (N, H) or a tuple of tensors ((h, c) for an LSTM). A layer with
``L`` layers and ``num_directions`` directions has ``L * num_directions`` cells; torch stacks
their states as (L * num_directions, N, H), layer-major with the forward direction first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from rnnkit.nn.recurrence import initial_state
from rnnkit.nn.sequences import Batch


def map_state(state, fn: Callable[[Tensor], Tensor]):
    """Apply ``fn`` to every tensor of a state (a tensor, or a tuple/list of tensors)."""
    if isinstance(state, Tensor):
        return fn(state)
    return type(state)(fn(tensor) for tensor in state)


def _shape(value) -> str:
    return str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__


def split_state(name: str, state, zeros: list, batch: Batch) -> list:
    """The initial state of each cell, from None, a stacked state or a list of cell states.

    A stacked state is torch's layout: a tensor (L * num_directions, N, H), or a tuple of such
    tensors ((h_0, c_0) for an LSTM). A list holds one state per cell, in the same order.
    ``zeros`` holds each cell's zero state: the default, and the shapes a given state must have.
    An unbatched input takes its state unbatched, (L * num_directions, H) or (H,) per cell, and
    is checked (and its errors told) in that form, before the batch of one is added.
    """
    if state is None:
        return zeros
    if batch.unbatched:
        zeros = [map_state(z, lambda t: t.squeeze(0)) for z in zeros]  # (H,) per cell
    if isinstance(state, list):
        if len(state) != len(zeros):
            raise ValueError(
                f"{name}: a list of initial states needs one per cell ({len(zeros)}), "
                f"got {len(state)}"
            )
        given = state
    else:
        given = _unstack(name, state, len(zeros), zeros)
    for k, (value, expected) in enumerate(zip(given, zeros, strict=True)):
        _check_like(name, f"initial state of cell {k}", value, expected)
    if batch.unbatched:
        given = [map_state(s, lambda t: t.unsqueeze(0)) for s in given]  # (1, H) per cell
    return given


def zero_states(cells: Sequence[nn.Module], batch: Batch) -> list:
    return [initial_state(cell, batch.batch_size, batch.x) for cell in cells]


def _unstack(name: str, state, count: int, zeros: list) -> list:
    if not all(_same_layout(z, zeros[0]) for z in zeros):
        raise ValueError(
            f"{name}: the cells' states differ in shape, so they cannot be stacked; pass the "
            "initial state as a list with one state per cell"
        )
    is_tuple = not isinstance(zeros[0], Tensor)
    wanted = [(count, *z.shape) for z in (zeros[0] if is_tuple else (zeros[0],))]
    parts = (state,) if isinstance(state, Tensor) else state
    if (
        not isinstance(parts, tuple)
        or len(parts) != len(wanted)
        or not all(
            isinstance(p, Tensor) and p.shape == w for p, w in zip(parts, wanted, strict=True)
        )
    ):
        got = _shape(state) if isinstance(state, Tensor) else _describe_value(state)
        raise ValueError(f"{name}: expected initial state {_describe_stacked(zeros)}, got {got}")
    per_part = [p.unbind(0) for p in parts]
    if not is_tuple:
        return list(per_part[0])
    return [tuple(part[k] for part in per_part) for k in range(count)]


def _describe_value(value) -> str:
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_describe_value(v) for v in value)
        return f"{type(value).__name__} of ({inner})"
    return _shape(value)


def _describe_stacked(zeros: list) -> str:
    count = len(zeros)
    if isinstance(zeros[0], Tensor):
        return f"of shape {(count, *zeros[0].shape)}"
    shapes = ", ".join(str((count, *t.shape)) for t in zeros[0])
    return f"as a tuple of tensors of shapes ({shapes})"


def _check_like(name: str, what: str, value, expected) -> None:
    if isinstance(expected, Tensor):
        ok = isinstance(value, Tensor) and value.shape == expected.shape
    else:
        ok = (
            isinstance(value, (tuple, list))
            and len(value) == len(expected)
            and all(
                isinstance(v, Tensor) and v.shape == e.shape
                for v, e in zip(value, expected, strict=True)
            )
        )
    if not ok:
        raise ValueError(
            f"{name}: {what} should be {_describe_value(expected)}, got {_describe_value(value)}"
        )


def stack_states(finals: list, unbatched: bool):
    """Per-cell final states -> torch's stacked layout when every cell's state has the same
    structure and shapes (always so for a standard stack); otherwise the list itself."""
    first = finals[0]
    same = all(_same_layout(f, first) for f in finals)
    if not same:
        return [map_state(f, lambda t: t.squeeze(0)) for f in finals] if unbatched else finals
    dim = 1 if unbatched else None
    if isinstance(first, Tensor):
        stacked = torch.stack(finals)
        return stacked.squeeze(dim) if unbatched else stacked
    parts = tuple(torch.stack(part) for part in zip(*finals, strict=True))
    return tuple(p.squeeze(dim) for p in parts) if unbatched else parts


def _same_layout(a, b) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return isinstance(a, Tensor) and isinstance(b, Tensor) and a.shape == b.shape
    return len(a) == len(b) and all(_same_layout(x, y) for x, y in zip(a, b, strict=True))
