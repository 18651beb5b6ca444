"""rnnkit.nn.RNN/LSTM/GRU and rnnkit.nn.Recurrent against torch.nn with the same weights:
outputs, final states and every parameter gradient, on both the fused and the loop path."""

from __future__ import annotations

import zlib

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from tests.nn.helpers import (
    MODES,
    flat,
    random_state,
    recurrent_from_torch,
    rel_error,
    rnnkit_layer,
    torch_layer,
    torch_reference,
)

T, N, D, H = 7, 4, 3, 5
TOLERANCE = 1e-5  # fp32, max relative error
LENGTHS = torch.tensor([5, 7, 1, 3])  # unsorted, one full length, one of length 1


def _seed(*parts) -> int:
    """A seed that depends on the test case and is the same in every run."""
    return zlib.crc32(repr(parts).encode()) % 10_000


def _inputs(batch_first: bool, seed: int):
    generator = torch.Generator().manual_seed(seed)
    x = (
        torch.randn(N, T, D, generator=generator)
        if batch_first
        else torch.randn(T, N, D, generator=generator)
    )
    return x, generator


def _run(module, x, kind, state, batch_first):
    """Call ``module`` with input form ``kind``; return padded output and final state."""
    if kind == "full":
        return module(x, state)
    if kind == "lengths":
        return module(x, state, lengths=LENGTHS)
    packed = pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
    out, final = module(packed, state)
    assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
    padded = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first, total_length=T)[0]
    return padded, final


def _loss(output, final, generator):
    """A loss that weighs every output and final-state element differently."""
    loss = (output * torch.randn(output.shape, generator=generator)).sum()
    for tensor in flat(final):
        loss = loss + (tensor * torch.randn(tensor.shape, generator=generator)).sum()
    return loss


def _compare(reference, candidate, ref_params, cand_params, x, kind, state, batch_first, seed):
    _, generator = _inputs(batch_first, seed)
    ref_out, ref_final = torch_reference(
        reference, x, None if kind == "full" else LENGTHS, state, batch_first
    )
    out, final = _run(candidate, x, kind, state, batch_first)
    assert out.shape == ref_out.shape
    assert rel_error(out, ref_out) <= TOLERANCE
    for got, want in zip(flat(final), flat(ref_final), strict=True):
        assert got.shape == want.shape
        assert rel_error(got, want) <= TOLERANCE
    loss_seed = torch.Generator().manual_seed(seed + 1)
    _loss(ref_out, ref_final, loss_seed).backward()
    loss_seed = torch.Generator().manual_seed(seed + 1)
    _loss(out, final, loss_seed).backward()
    for (name, want), got in zip(ref_params, cand_params, strict=True):
        assert want.grad is not None and got.grad is not None, name
        assert rel_error(got.grad, want.grad) <= TOLERANCE, name


@pytest.mark.parametrize("impl", ["auto", "loop"])
@pytest.mark.parametrize("kind", ["full", "packed", "lengths"])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("mode", MODES)
def test_standard_layer_matches_torch(
    mode, num_layers, bidirectional, batch_first, with_state, kind, impl
):
    seed = _seed(mode, num_layers, bidirectional, batch_first, with_state, kind)
    torch.manual_seed(seed)
    options = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    reference = torch_layer(mode, D, H, **options)
    candidate = rnnkit_layer(mode, D, H, impl=impl, **options)
    candidate.load_state_dict(reference.state_dict())
    x, generator = _inputs(batch_first, seed)
    count = num_layers * (2 if bidirectional else 1)
    state = random_state(mode, count, N, H, generator) if with_state else None
    _compare(
        reference,
        candidate,
        list(reference.named_parameters()),
        [p for _, p in candidate.named_parameters()],
        x,
        kind,
        state,
        batch_first,
        seed,
    )


@pytest.mark.parametrize("impl", ["auto", "loop"])
@pytest.mark.parametrize("kind", ["full", "packed", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", MODES)
def test_generic_layer_with_standard_cells_matches_torch(
    mode, num_layers, bidirectional, kind, impl
):
    seed = _seed(mode, num_layers, bidirectional, kind, "generic")
    torch.manual_seed(seed)
    reference = torch_layer(mode, D, H, num_layers=num_layers, bidirectional=bidirectional)
    candidate = recurrent_from_torch(reference, mode, impl=impl)
    x, generator = _inputs(False, seed)
    count = num_layers * (2 if bidirectional else 1)
    state = random_state(mode, count, N, H, generator)
    # the generic layer's parameters in torch's order: cell by cell, ih/hh weights then biases
    params = [p for cell in candidate.cells for p in cell.parameters()]
    _compare(
        reference,
        candidate,
        list(reference.named_parameters()),
        params,
        x,
        kind,
        state,
        False,
        seed,
    )


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input_matches_torch(mode):
    torch.manual_seed(3)
    reference = torch_layer(mode, D, H, num_layers=2, bidirectional=True)
    x = torch.randn(T, D)
    state = random_state(mode, 4, 1, H)
    state = tuple(s.squeeze(1) for s in flat(state)) if mode == "lstm" else state.squeeze(1)
    want_out, want_final = reference(x, state)
    for impl in ("auto", "loop"):
        candidate = rnnkit_layer(mode, D, H, num_layers=2, bidirectional=True, impl=impl)
        candidate.load_state_dict(reference.state_dict())
        out, final = candidate(x, state)
        assert out.shape == want_out.shape == (T, 2 * H)
        assert rel_error(out, want_out) <= TOLERANCE
        for got, want in zip(flat(final), flat(want_final), strict=True):
            assert got.shape == want.shape
            assert rel_error(got, want) <= TOLERANCE


@pytest.mark.parametrize("mode", MODES)
def test_eval_mode_ignores_dropout_like_torch(mode):
    torch.manual_seed(4)
    reference = torch_layer(mode, D, H, num_layers=3, dropout=0.5).eval()
    candidate = rnnkit_layer(mode, D, H, num_layers=3, dropout=0.5, impl="loop").eval()
    candidate.load_state_dict(reference.state_dict())
    x = torch.randn(T, N, D)
    assert rel_error(candidate(x)[0], reference(x)[0]) <= TOLERANCE
