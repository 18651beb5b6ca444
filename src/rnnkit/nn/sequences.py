"""Input checks and the three input forms a layer accepts.

A layer takes a padded tensor (T, N, D) (or (N, T, D) with ``batch_first``), an unbatched
tensor (T, D), or a ``PackedSequence``; padded input may come with ``lengths=``. Inside, every
form becomes one :class:`Batch`: time-major padded input plus the lengths, and
:func:`finish_output` turns the result back into the form that came in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


@dataclass
class Batch:
    """A batch of sequences in the layout the time loop uses.

    x: (T, N, D) time-major, zero past each length. lengths: (N,) int64 on the CPU, or None
    when every sequence has length T. packed: the PackedSequence that came in, if any.
    """

    x: Tensor
    lengths: Tensor | None
    packed: PackedSequence | None
    unbatched: bool
    batch_first: bool

    @property
    def batch_size(self) -> int:
        return self.x.shape[1]


def _shape(value) -> str:
    if isinstance(value, Tensor):
        return str(tuple(value.shape))
    return type(value).__name__


def prepare_input(
    name: str, input, input_size: int | None, batch_first: bool, lengths=None, weights=None
) -> Batch:
    """Check a layer's input (against ``weights``, its parameters, for the dtype) and bring it
    to time-major padded form."""
    if isinstance(input, PackedSequence):
        if lengths is not None:
            raise ValueError(
                f"{name}: lengths= is for padded input; a PackedSequence already carries its "
                "lengths, so pass one or the other"
            )
        x, seq_lengths = pad_packed_sequence(input)  # (T, N, D), original batch order
        _check_features(name, x, input_size)
        check_dtype(name, x, weights)
        return Batch(x, seq_lengths, input, unbatched=False, batch_first=False)
    if not isinstance(input, Tensor) or input.dim() not in (2, 3):
        layout = "(N, T, D)" if batch_first else "(T, N, D)"
        raise ValueError(
            f"{name}: expected input of shape {layout}, an unbatched (T, D), or a "
            f"PackedSequence; got {_shape(input)}"
        )
    if not input.is_floating_point():
        raise ValueError(
            f"{name}: expected a floating-point input tensor, got dtype {input.dtype} "
            "(embed token ids first, e.g. with torch.nn.Embedding or one-hot)"
        )
    check_dtype(name, input, weights)
    unbatched = input.dim() == 2
    if unbatched:
        x = input.unsqueeze(1)  # (T, 1, D)
    else:
        x = input.transpose(0, 1) if batch_first else input  # (T, N, D)
    if x.shape[0] == 0:
        raise ValueError(f"{name}: the input has no time steps (T = 0)")
    _check_features(name, x, input_size)
    if lengths is not None:
        lengths = check_lengths(name, lengths, batch_size=x.shape[1], max_length=x.shape[0])
        if unbatched:
            raise ValueError(f"{name}: lengths= needs batched input (T, N, D), got (T, D)")
    return Batch(x, lengths, None, unbatched, batch_first)


def check_dtype(name: str, x: Tensor, weights, module: str = "layer") -> None:
    """A ValueError when ``x``'s dtype is not that of ``weights`` (a module's parameters; no
    check without any), outside autocast, whose matmuls cast their operands: torch's own
    error names neither ("mat1 and mat2 must have the same dtype"). ``module``: what to
    convert instead, the layer or the cell."""
    weight = next(iter(weights), None) if weights is not None else None
    if weight is None or x.dtype == weight.dtype or torch.is_autocast_enabled(x.device.type):
        return
    raise ValueError(
        f"{name}: input is {x.dtype} but the weights are {weight.dtype}; pass input of the "
        f"weights' dtype (input.to({weight.dtype})) or convert the {module} (.to({x.dtype}))"
    )


def _check_features(name: str, x: Tensor, input_size: int | None) -> None:
    if input_size is not None and x.shape[-1] != input_size:
        raise ValueError(
            f"{name}: input has {x.shape[-1]} features in its last dimension, expected "
            f"input_size={input_size}"
        )


def check_lengths(name: str, lengths, batch_size: int, max_length: int) -> Tensor:
    """Lengths as an int64 CPU tensor of N values in [1, T]."""
    try:
        lengths = torch.as_tensor(lengths, device="cpu")
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{name}: lengths must be a list or 1-D tensor of ints: {error}") from None
    if lengths.dim() != 1 or lengths.shape[0] != batch_size:
        raise ValueError(
            f"{name}: lengths must hold one length per sequence, shape ({batch_size},), got "
            f"{tuple(lengths.shape)}"
        )
    if lengths.is_floating_point() or lengths.dtype == torch.bool:
        raise ValueError(f"{name}: lengths must be integers, got dtype {lengths.dtype}")
    lengths = lengths.long()
    if len(lengths) and (lengths.min() < 1 or lengths.max() > max_length):
        raise ValueError(
            f"{name}: every length must be between 1 and the padded length T={max_length}, got "
            f"min {int(lengths.min())} and max {int(lengths.max())}"
        )
    return lengths


def loop_lengths(batch: Batch) -> Tensor | None:
    """The lengths the time loop must mask with: None when no sequence is shorter than T."""
    lengths = batch.lengths
    if lengths is None or bool((lengths == batch.x.shape[0]).all()):
        return None
    return lengths


def finish_output(output: Tensor, batch: Batch):
    """Turn time-major padded output (T, N, H') back into the form the input came in."""
    if batch.packed is not None:
        return repack_like(output, batch.lengths, batch.packed)
    if batch.unbatched:
        return output.squeeze(1)
    return output.transpose(0, 1) if batch.batch_first else output


def repack_like(padded: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack time-major ``padded`` (original batch order) with the same batch order as ``like``."""
    if like.sorted_indices is not None:
        padded = padded.index_select(1, like.sorted_indices)
        lengths = lengths[like.sorted_indices.cpu()]
    packed = pack_padded_sequence(padded, lengths, enforce_sorted=True)
    return PackedSequence(
        packed.data, packed.batch_sizes, like.sorted_indices, like.unsorted_indices
    )


def pack_for_fused(batch: Batch) -> PackedSequence:
    """A PackedSequence of a padded batch, sorted by length as the fused kernels need."""
    return pack_padded_sequence(batch.x, batch.lengths, enforce_sorted=False)
