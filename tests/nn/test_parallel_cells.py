"""minGRU, minLSTM and RG-LRU: the scan against each paper's equations written out step by
step, one sequence at a time; gradients; the layer; state dicts."""

from __future__ import annotations

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.nn.parallel_cells import MinGRUCell, MinLSTMCell, RGLRUCell

D, H = 5, 6
CELLS = {
    "mingru": lambda: MinGRUCell(D, H),
    "mingru-log": lambda: MinGRUCell(D, H, log_space=True),
    "minlstm": lambda: MinLSTMCell(D, H),
    "minlstm-log": lambda: MinLSTMCell(D, H, log_space=True),
    "rglru": lambda: RGLRUCell(D, H),
}


def g(x):
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def equations(name, cell, x, h):
    """One step of the paper's equations for one sequence: x (D,), h (H,) -> h (H,)."""
    W, b = cell.weight_ih, cell.bias_ih
    rows = [W[k * H : (k + 1) * H] @ x + b[k * H : (k + 1) * H] for k in range(W.shape[0] // H)]
    if name.startswith("mingru"):
        z, candidate = torch.sigmoid(rows[0]), rows[1]
        candidate = g(candidate) if name.endswith("log") else candidate
        return (1 - z) * h + z * candidate
    if name.startswith("minlstm"):
        f, i, candidate = torch.sigmoid(rows[0]), torch.sigmoid(rows[1]), rows[2]
        candidate = g(candidate) if name.endswith("log") else candidate
        return f / (f + i) * h + i / (f + i) * candidate
    r, i, x_hat = torch.sigmoid(rows[0]), torch.sigmoid(rows[1]), rows[2]
    a_t = torch.sigmoid(cell.recurrence_param) ** (8 * r)
    return a_t * h + torch.sqrt(1 - a_t**2) * (i * x_hat)


def make(name, seed=0):
    torch.manual_seed(seed)
    return CELLS[name]().double()


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("T", (1, 40))
def test_scan_follows_the_equations(name, T):
    cell = make(name)
    x = torch.randn(T, 3, D, dtype=torch.float64)
    h0 = torch.rand(3, H, dtype=torch.float64)  # positive, as the log-space form wants
    out, final = cell.scan(cell.project_input(x), h0)
    for n in range(3):
        h = h0[n]
        for t in range(T):
            h = equations(name, cell, x[t, n], h)
            torch.testing.assert_close(out[t, n], h, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(final[n], h, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", CELLS)
def test_one_step_equals_the_scan(name):
    cell = make(name)
    x = torch.randn(33, 2, D, dtype=torch.float64)
    out, _ = cell.scan(cell.project_input(x), cell.initial_state(2, dtype=torch.float64))
    h = None
    for t in range(33):
        h = cell(x[t], h)
        torch.testing.assert_close(h, out[t], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(cell(x[0, 0]), out[0, 0], rtol=1e-9, atol=1e-9)  # unbatched


@pytest.mark.parametrize("name", CELLS)
def test_gradcheck(name):
    cell = make(name)
    x = torch.randn(6, 2, D, dtype=torch.float64, requires_grad=True)
    h0 = torch.rand(2, H, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h: cell.scan(cell.project_input(x), h), (x, h0))


@pytest.mark.parametrize("name", CELLS)
def test_bidirectional_layer_with_lengths_equals_each_sequence_alone(name):
    torch.manual_seed(0)
    layer = rn.Recurrent(
        lambda i, h: CELLS[name]().__class__(i, h), D, H, num_layers=2, bidirectional=True
    ).double()
    x = torch.randn(50, 3, D, dtype=torch.float64)
    lengths = torch.tensor([50, 23, 1])
    out, h_n = layer(x, lengths=lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, alone_h = layer(x[:length, n : n + 1])
        torch.testing.assert_close(out[:length, n : n + 1], alone, rtol=1e-9, atol=1e-9)
        assert torch.equal(out[length:, n], torch.zeros_like(out[length:, n]))
        torch.testing.assert_close(h_n[:, n : n + 1], alone_h, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", CELLS)
def test_the_layer_scan_equals_its_step_loop(name):
    torch.manual_seed(0)
    layer = rn.Recurrent(lambda i, h: CELLS[name]().__class__(i, h), D, H).double()
    x = torch.randn(40, 2, D, dtype=torch.float64)
    out, h_n = layer(x)  # the scan
    looped, looped_h, _ = layer(x, return_states=True)  # the loop keeps every step
    torch.testing.assert_close(out, looped, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(h_n, looped_h, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", CELLS)
def test_state_dict_round_trip(name):
    cell, other = make(name, 0), make(name, 1)
    other.load_state_dict(cell.state_dict())
    x = torch.randn(4, D, dtype=torch.float64)
    torch.testing.assert_close(other(x), cell(x))
    assert "weight_hh" not in cell.state_dict()


def test_rglru_starts_with_a_to_the_c_in_the_papers_range():
    cell = RGLRUCell(D, 1000)
    a_c = torch.sigmoid(cell.recurrence_param) ** 8
    assert 0.9 <= a_c.min() and a_c.max() <= 0.999
    assert a_c.std() > 0.02  # spread over the range, not one value


def test_bad_sizes_and_inputs():
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        MinGRUCell(3, 0)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, D\) or \(D,\) with D=5"):
        MinGRUCell(5, 4)(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"expected state of shape \(2, 4\)"):
        MinLSTMCell(5, 4)(torch.randn(2, 5), torch.zeros(2, 3))
    assert MinGRUCell(5, 4, bias=False).bias_ih is None
