"""A ``Recurrent`` stack of standard cells on cuDNN: its weights laid out in one buffer that the
cells' parameters are views of (issue 17, item 3), so cuDNN neither copies them at each call nor
warns. The layout is checked on the CPU with a hand-made buffer; the cuDNN tests need a GPU
(``benchmarks/gpu_check.sh`` runs them)."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

from rnnkit.nn import GRU, LSTM, RNN, Recurrent
from rnnkit.nn.fused import is_flat, stack_weights

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
LAYERS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def stack_of(kind: str, bidirectional: bool = False) -> tuple[torch.nn.Module, Recurrent]:
    """A standard layer and a Recurrent over copies of its cells (same numbers, own tensors)."""
    torch.manual_seed(0)
    layer = LAYERS[kind](5, 7, 2, bidirectional=bidirectional)
    cells = [copy.deepcopy(cell) for cell in layer.cells()]
    return layer, Recurrent(cells, num_layers=2, bidirectional=bidirectional)


def test_stack_weights_are_in_the_order_the_kernels_take():
    layer, stack = stack_of("lstm", bidirectional=True)
    names = [name for name, _ in layer.named_parameters()]
    ours = stack_weights(stack.cells)
    assert len(ours) == len(names) == 16
    for name, weight in zip(names, ours, strict=True):
        torch.testing.assert_close(weight, getattr(layer, name), rtol=0, atol=0)


def test_is_flat_only_for_views_of_one_buffer():
    _, stack = stack_of("gru")
    assert not is_flat(stack.cells)
    weights = stack_weights(stack.cells)
    buffer = torch.cat([w.detach().reshape(-1) for w in weights])
    offset = 0
    for w in weights:
        w.data = buffer[offset : offset + w.numel()].view_as(w)
        offset += w.numel()
    assert is_flat(stack.cells)


def test_off_cuda_flattening_leaves_the_parameters_alone():
    _, stack = stack_of("lstm")
    before = [(id(w), w.data_ptr()) for w in stack_weights(stack.cells)]
    assert stack.flatten_parameters() is False
    stack.to(torch.float64)
    assert [id(w) for w in stack_weights(stack.cells)] == [i for i, _ in before]


@cuda
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_on_cudnn_the_stack_is_flat_shared_and_equal_to_torch(kind, bidirectional):
    layer, stack = stack_of(kind, bidirectional)
    parameters = list(stack.parameters())
    layer.cuda()
    stack.cuda()
    assert is_flat(stack.cells)
    assert [id(p) for p in stack.parameters()] == [id(p) for p in parameters]
    x = torch.randn(9, 3, 5, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cuDNN's "not part of single contiguous chunk"
        out, _ = stack(x)
        expected, _ = layer(x)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


@cuda
def test_on_cudnn_a_training_step_updates_the_cells_and_stays_flat():
    layer, stack = stack_of("lstm")
    layer.cuda()
    stack.cuda()
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.5) for m in (layer, stack)]
    x = torch.randn(9, 3, 5, device="cuda")
    for module, optimizer in zip((layer, stack), optimizers, strict=True):
        module(x)[0].square().mean().backward()
        optimizer.step()
    assert is_flat(stack.cells)
    for ours, theirs in zip(stack_weights(stack.cells), layer.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)
    state = {k: v.cpu() for k, v in stack.state_dict().items()}
    _, fresh = stack_of("lstm")
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh(x.cpu())[0], stack(x)[0].cpu(), rtol=1e-4, atol=1e-5)
