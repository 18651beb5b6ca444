"""Peephole LSTM, layer-normalised LSTM and GRU, MUT1-3: each against its paper's equations
written out for one sequence with the cell's weights, against torch.nn where they coincide,
gradcheck, the layer, state dicts."""

from __future__ import annotations

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.nn.variant_cells import (
    LayerNormGRUCell,
    LayerNormLSTMCell,
    MUT1Cell,
    MUT2Cell,
    MUT3Cell,
    PeepholeLSTMCell,
)

D, H = 4, 5
CELLS = {
    "peephole": PeepholeLSTMCell,
    "lnlstm": LayerNormLSTMCell,
    "lngru": LayerNormGRUCell,
    "mut1": MUT1Cell,
    "mut2": MUT2Cell,
    "mut3": MUT3Cell,
}
sig, tanh = torch.sigmoid, torch.tanh


def rows(matrix, k, size=H):
    return matrix[k * size : (k + 1) * size]


def ln(v, gain, shift=0.0):
    """Layer normalisation by hand: (v - mean) / sqrt(var + 1e-5) * gain + shift."""
    return (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-5) * gain + shift


def equations(name, cell, x, state):
    """One step of the paper's equations for one sample; state: h or (h, c)."""
    W, U, b, c_b = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    if name == "peephole":
        h, c = state
        i = sig(rows(W, 0) @ x + rows(U, 0) @ h + cell.weight_ci * c + rows(b, 0) + rows(c_b, 0))
        f = sig(rows(W, 1) @ x + rows(U, 1) @ h + cell.weight_cf * c + rows(b, 1) + rows(c_b, 1))
        g = tanh(rows(W, 2) @ x + rows(U, 2) @ h + rows(b, 2) + rows(c_b, 2))
        c = f * c + i * g
        o = sig(rows(W, 3) @ x + rows(U, 3) @ h + cell.weight_co * c + rows(b, 3) + rows(c_b, 3))
        return o * tanh(c), c
    if name == "lnlstm":
        h, c = state
        a = ln(W @ x, cell.ln_ih_weight) + ln(U @ h, cell.ln_hh_weight) + b + c_b
        i, f, g, o = (rows(a, k) for k in range(4))
        c = sig(f) * c + sig(i) * tanh(g)
        return sig(o) * tanh(ln(c, cell.ln_c_weight, cell.ln_c_bias)), c
    if name == "lngru":
        h = state
        xa, ha = ln(W @ x, cell.ln_ih_weight) + b, ln(U @ h, cell.ln_hh_weight) + c_b
        r, z = sig(rows(xa, 0) + rows(ha, 0)), sig(rows(xa, 1) + rows(ha, 1))
        n = tanh(rows(xa, 2) + r * rows(ha, 2))
        return (1 - z) * n + z * h
    h = state  # MUT1-3, the paper's equations with z|r|n rows
    Wz, Wr, Wn = (rows(W, k) for k in range(3))
    bz, br, bn = (rows(b, k) for k in range(3))
    Uz, Ur, Un = (rows(U, k) for k in range(3))
    cz, cr, cn = (rows(c_b, k) for k in range(3))
    if name == "mut1":
        z = sig(Wz @ x + bz)
        r = sig(Wr @ x + br + Ur @ h + cr)
        n = tanh(Un @ (r * h) + cn + tanh(Wn @ x + bn))
    elif name == "mut2":
        z = sig(Wz @ x + bz + Uz @ h + cz)
        r = sig(Wr @ x + br + Ur @ h + cr)
        n = tanh(Un @ (r * h) + cn + Wn @ x + bn)
    else:
        z = sig(Wz @ x + bz + Uz @ tanh(h) + cz)
        r = sig(Wr @ x + br + Ur @ h + cr)
        n = tanh(Un @ (r * h) + cn + Wn @ x + bn)
    return n * z + h * (1 - z)


def make(name, seed=0, input_size=D):
    torch.manual_seed(seed)
    cell = CELLS[name](input_size, H).double()
    with torch.no_grad():  # move the LN gains and the peepholes off their starting values
        for pname, parameter in cell.named_parameters():
            if pname.startswith(("ln_", "weight_c")):
                parameter.add_(0.3 * torch.randn_like(parameter))
    return cell


@pytest.mark.parametrize("name", CELLS)
def test_steps_follow_the_equations(name):
    cell = make(name)
    x = torch.randn(12, 2, D, dtype=torch.float64)
    state = cell.initial_state(2, dtype=torch.float64)
    state = (
        tuple(s + torch.randn_like(s) for s in state)
        if isinstance(state, tuple)
        else (state + torch.randn_like(state))
    )
    for n in range(2):
        mine = tuple(s[n] for s in state) if isinstance(state, tuple) else state[n]
        theirs = mine
        for t in range(12):
            theirs = equations(name, cell, x[t, n], theirs)
            mine = cell(x[t, n], mine)
            torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-10)


def test_peephole_without_peepholes_is_torchs_lstm():
    cell = PeepholeLSTMCell(D, H).double()
    reference = torch.nn.LSTMCell(D, H).double()
    with torch.no_grad():
        for pname in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, pname).copy_(getattr(cell, pname))
        for pname in ("weight_ci", "weight_cf", "weight_co"):
            getattr(cell, pname).zero_()
    x, state = torch.randn(3, D, dtype=torch.float64), None
    for _ in range(4):
        state = cell(x, state)
    expected = None
    for _ in range(4):
        expected = reference(x, expected)
    torch.testing.assert_close(state, expected)


@pytest.mark.parametrize("name", ("mut1", "mut2"))
def test_mutated_cells_start_as_the_paper_when_the_input_is_h_wide(name):
    cell = CELLS[name](H, H)
    gate = 2 if name == "mut1" else 1
    assert torch.equal(rows(cell.weight_ih, gate), torch.eye(H))
    assert not rows(cell.bias_ih, gate).any()  # the input itself: no bias on it either
    wide = CELLS[name](H + 2, H)  # any input width: the identity on the first H inputs
    assert torch.equal(rows(wide.weight_ih, gate)[:, :H], torch.eye(H))
    if name == "mut1":  # h' = tanh(W_hh (r * h) + tanh(x) + b_h) * z + h * (1 - z), as printed
        x, h = torch.randn(3, H), torch.randn(3, H)
        z = torch.sigmoid(x @ rows(cell.weight_ih, 0).T + rows(cell.bias_ih, 0))
        r = torch.sigmoid(x @ rows(cell.weight_ih, 1).T + rows(cell.bias_ih, 1)
                          + h @ rows(cell.weight_hh, 1).T + rows(cell.bias_hh, 1))  # fmt: skip
        n = torch.tanh((r * h) @ rows(cell.weight_hh, 2).T + torch.tanh(x) + rows(cell.bias_hh, 2))
        torch.testing.assert_close(cell(x, h), n * z + h * (1 - z))  # off by 0.2 before


@pytest.mark.parametrize("name", CELLS)
def test_gradcheck(name):
    cell = make(name)
    x = torch.randn(3, D, dtype=torch.float64, requires_grad=True)

    def run(x):
        state = None
        for _ in range(3):
            state = cell(x, state)
        return state

    assert torch.autograd.gradcheck(run, (x,))
    state = run(x)
    loss = sum(s.sum() for s in state) if isinstance(state, tuple) else state.sum()
    grads = torch.autograd.grad(loss, list(cell.parameters()), allow_unused=True)
    assert all(g is not None for g in grads)  # every parameter is used


@pytest.mark.parametrize("name", CELLS)
def test_bidirectional_layer_with_lengths_equals_each_sequence_alone(name):
    torch.manual_seed(0)
    layer = rn.Recurrent(CELLS[name], D, H, num_layers=2, bidirectional=True).double()
    x = torch.randn(9, 3, D, dtype=torch.float64)
    lengths = torch.tensor([9, 4, 1])
    out, _ = layer(x, lengths=lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, _ = layer(x[:length, n : n + 1])
        torch.testing.assert_close(out[:length, n : n + 1], alone, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", CELLS)
def test_state_dict_round_trip(name):
    cell, other = make(name, 0), make(name, 1)
    other.load_state_dict(cell.state_dict())
    x = torch.randn(2, D, dtype=torch.float64)
    torch.testing.assert_close(other(x), cell(x))
