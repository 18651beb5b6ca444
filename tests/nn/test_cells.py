"""The cells against torch.nn's cells with copied weights, against hand-written equations, and
against finite differences (torch.autograd.gradcheck in float64)."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

import rnnkit.nn as rn
from tests.nn.helpers import flat, rel_error

D, H, N = 3, 4, 5

PAIRS = [
    (lambda: rn.RNNCell(D, H), lambda: torch.nn.RNNCell(D, H)),
    (
        lambda: rn.RNNCell(D, H, nonlinearity="relu"),
        lambda: torch.nn.RNNCell(D, H, nonlinearity="relu"),
    ),
    (lambda: rn.LSTMCell(D, H), lambda: torch.nn.LSTMCell(D, H)),
    (lambda: rn.GRUCell(D, H), lambda: torch.nn.GRUCell(D, H)),
    (lambda: rn.RNNCell(D, H, bias=False), lambda: torch.nn.RNNCell(D, H, bias=False)),
    (lambda: rn.LSTMCell(D, H, bias=False), lambda: torch.nn.LSTMCell(D, H, bias=False)),
    (lambda: rn.GRUCell(D, H, bias=False), lambda: torch.nn.GRUCell(D, H, bias=False)),
]


def _state_like(cell, batch_shape, generator):
    h = torch.randn(*batch_shape, H, generator=generator)
    if isinstance(cell, rn.LSTMCell):
        return h, torch.randn(*batch_shape, H, generator=generator)
    return h


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("make_cell, make_torch", PAIRS)
def test_cell_matches_torch_cell(make_cell, make_torch, batched):
    torch.manual_seed(0)
    reference, cell = make_torch(), make_cell()
    assert [n for n, _ in cell.named_parameters()] == [n for n, _ in reference.named_parameters()]
    cell.load_state_dict(reference.state_dict())
    generator = torch.Generator().manual_seed(1)
    batch_shape = (N,) if batched else ()
    x = torch.randn(*batch_shape, D, generator=generator)
    state = _state_like(cell, batch_shape, generator)
    want, got = flat(reference(x, state)), flat(cell(x, state))
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert rel_error(g, w) <= 1e-6
    weights = [torch.randn(w.shape, generator=generator) for w in want]
    sum((w * v).sum() for w, v in zip(want, weights, strict=True)).backward()
    sum((g * v).sum() for g, v in zip(got, weights, strict=True)).backward()
    for (name, p), q in zip(reference.named_parameters(), cell.parameters(), strict=True):
        assert rel_error(q.grad, p.grad) <= 1e-6, name


def test_zero_state_is_the_default():
    torch.manual_seed(0)
    cell = rn.LSTMCell(D, H)
    x = torch.randn(N, D)
    zeros = (torch.zeros(N, H), torch.zeros(N, H))
    for got, want in zip(cell(x), cell(x, zeros), strict=True):
        torch.testing.assert_close(got, want)


def _lstm_by_hand(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The lecture equations with each gate's weights taken apart by hand."""
    W = lambda k, w: w[k * H : (k + 1) * H]  # noqa: E731
    gate = lambda k: x @ W(k, w_ih).T + W(k, b_ih) + h @ W(k, w_hh).T + W(k, b_hh)  # noqa: E731
    i, f, g, o = (
        torch.sigmoid(gate(0)),
        torch.sigmoid(gate(1)),
        torch.tanh(gate(2)),
        torch.sigmoid(gate(3)),
    )
    c_new = f * c + i * g
    return o * torch.tanh(c_new), c_new


def test_lstm_cell_is_the_lecture_equations():
    torch.manual_seed(2)
    cell = rn.LSTMCell(D, H).double()
    x, h, c = torch.randn(N, D).double(), torch.randn(N, H).double(), torch.randn(N, H).double()
    want = _lstm_by_hand(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    for got, expected in zip(cell(x, (h, c)), want, strict=True):
        torch.testing.assert_close(got, expected)


def _gru_lecture_form(x, h, w_ih, w_hh, b_ih, b_hh):
    """Cho et al. 2014: the reset gate scales h_{t-1} before the hidden matmul."""
    W = lambda k, w: w[k * H : (k + 1) * H]  # noqa: E731
    r = torch.sigmoid(x @ W(0, w_ih).T + W(0, b_ih) + h @ W(0, w_hh).T + W(0, b_hh))
    z = torch.sigmoid(x @ W(1, w_ih).T + W(1, b_ih) + h @ W(1, w_hh).T + W(1, b_hh))
    n = torch.tanh(x @ W(2, w_ih).T + W(2, b_ih) + (r * h) @ W(2, w_hh).T + W(2, b_hh))
    return (1 - z) * n + z * h


def test_gru_lecture_form_matches_cho_et_al_and_differs_from_torch_form():
    torch.manual_seed(3)
    lectures = rn.GRUCell(D, H, reset_after=False).double()
    torch_form = rn.GRUCell(D, H).double()
    torch_form.load_state_dict(lectures.state_dict())
    x, h = torch.randn(N, D).double(), torch.randn(N, H).double()
    expected = _gru_lecture_form(x, h, *lectures.parameters())
    torch.testing.assert_close(lectures(x, h), expected)
    assert (torch_form(x, h) - expected).abs().max() > 1e-3


CELLS_FOR_GRADCHECK = [
    lambda: rn.RNNCell(D, H),
    lambda: rn.RNNCell(D, H, nonlinearity="relu"),
    lambda: rn.LSTMCell(D, H),
    lambda: rn.GRUCell(D, H),
    lambda: rn.GRUCell(D, H, reset_after=False),
]


@pytest.mark.parametrize("make_cell", CELLS_FOR_GRADCHECK)
def test_cell_gradients_match_finite_differences(make_cell):
    torch.manual_seed(4)
    cell = make_cell().double()
    names = [name for name, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in cell.parameters()]
    x = torch.randn(2, D, dtype=torch.float64, requires_grad=True)
    state = flat(_state_like(cell, (2,), None))
    state = [s.double().requires_grad_() for s in state]

    def step(x, *rest):
        values = dict(zip(names, rest[: len(names)], strict=True))
        given = rest[len(names) :]
        return functional_call(cell, values, (x, tuple(given) if len(given) > 1 else given[0]))

    assert torch.autograd.gradcheck(step, (x, *params, *state))
