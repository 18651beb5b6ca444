"""The generic layer with custom cells against a hand loop over each sequence alone; per-step
states; dropout between layers; float64 gradcheck of the whole layer."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call

import rnnkit.nn as rn
from tests.nn.helpers import rel_error, rnnkit_layer


class MinimalGatedCell(nn.Module):
    """A cell rnnkit does not know: the minimal gated unit (Zhou et al. 2016), state a tensor,
    with a learned initial state."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.gate = nn.Linear(input_size + hidden_size, hidden_size)
        self.candidate = nn.Linear(input_size + hidden_size, hidden_size)
        self.h0 = nn.Parameter(torch.randn(hidden_size) * 0.1)

    def initial_state(self, batch_size, *, dtype=None, device=None):
        return self.h0.to(dtype=dtype, device=device).expand(batch_size, -1)

    def forward(self, x, h):
        f = torch.sigmoid(self.gate(torch.cat([x, h], dim=1)))
        candidate = torch.tanh(self.candidate(torch.cat([x, f * h], dim=1)))
        return (1 - f) * h + f * candidate


class PairCell(nn.Module):
    """A cell with a pair state (h, m) that emits neither element as it is."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.inp = nn.Linear(input_size, 2 * hidden_size)
        self.rec = nn.Linear(hidden_size, 2 * hidden_size, bias=False)

    def initial_state(self, batch_size, *, dtype=None, device=None):
        zeros = torch.zeros(batch_size, self.hidden_size, dtype=dtype, device=device)
        return zeros, zeros

    def output(self, state):
        h, m = state
        return h + 0.5 * m

    def forward(self, x, state):
        h, m = state
        a, b = (self.inp(x) + self.rec(h)).chunk(2, dim=1)
        m = 0.9 * m + torch.tanh(b)
        return torch.tanh(a) + 0.1 * m, m


def _hand_loop(layer: rn.Recurrent, x: torch.Tensor, lengths: list[int]):
    """Each sequence alone, unpadded, one step at a time; reverse direction by reversing."""
    directions = layer.num_directions
    outputs, finals = [], []
    for b, length in enumerate(lengths):
        seq = [x[t, b : b + 1] for t in range(length)]  # length x (1, D)
        seq_finals = []
        for layer_index in range(layer.num_layers):
            per_direction = []
            for direction in range(directions):
                cell = layer.cells[layer_index * directions + direction]
                state = cell.initial_state(1, dtype=x.dtype, device=x.device)
                order = range(length - 1, -1, -1) if direction else range(length)
                emitted = [None] * length
                for t in order:
                    state = cell(seq[t], state)
                    out = cell.output(state) if hasattr(cell, "output") else state
                    emitted[t] = out
                per_direction.append(emitted)
                seq_finals.append(state)
            seq = [torch.cat([d[t] for d in per_direction], dim=1) for t in range(length)]
        padded = torch.zeros(x.shape[0], seq[0].shape[1], dtype=x.dtype)
        padded[:length] = torch.cat(seq, dim=0)
        outputs.append(padded)
        finals.append(seq_finals)
    return torch.stack(outputs, dim=1), finals


@pytest.mark.parametrize("cell_class", [MinimalGatedCell, PairCell])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_custom_cell_layer_matches_hand_loop(cell_class, bidirectional):
    torch.manual_seed(0)
    layer = rn.Recurrent(cell_class, 3, 4, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(6, 3, 3)
    lengths = [4, 6, 1]
    out, final = layer(x, lengths=lengths)
    want_out, want_finals = _hand_loop(layer, x, lengths)
    assert out.shape == want_out.shape
    assert rel_error(out, want_out) <= 1e-6
    for k in range(len(layer.cells)):
        for b in range(3):
            want = want_finals[b][k]
            if isinstance(want, torch.Tensor):
                assert rel_error(final[k, b], want[0]) <= 1e-6
            else:
                for part, want_part in zip(final, want, strict=True):
                    assert rel_error(part[k, b], want_part[0]) <= 1e-6


def test_custom_cell_runs_batch_first_and_packed():
    torch.manual_seed(1)
    layer = rn.Recurrent(PairCell, 3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)
    out_bf, _ = layer(x, lengths=[5, 2])
    packed = nn.utils.rnn.pack_padded_sequence(x, [5, 2], batch_first=True, enforce_sorted=False)
    out_packed, _ = layer(packed)
    padded = nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True)[0]
    torch.testing.assert_close(out_bf, padded)


def test_list_of_heterogeneous_cells_and_list_state():
    torch.manual_seed(2)
    cells = [rn.LSTMCell(3, 6), rn.GRUCell(6, 4)]  # an LSTM layer under a GRU layer
    layer = rn.Recurrent(cells, num_layers=2)
    assert layer.hidden_size == 4
    x = torch.randn(5, 2, 3)
    out, final = layer(x)
    assert out.shape == (5, 2, 4)
    assert isinstance(final, list) and len(final) == 2
    h1, c1 = final[0]
    assert h1.shape == c1.shape == (2, 6) and final[1].shape == (2, 4)
    # the same stack by hand
    state = (torch.zeros(2, 6), torch.zeros(2, 6))
    g = torch.zeros(2, 4)
    for t in range(5):
        state = cells[0](x[t], state)
        g = cells[1](state[0], g)
    torch.testing.assert_close(out[-1], g)
    # and a list state goes back in
    out2, _ = layer(x, [(torch.zeros(2, 6), torch.zeros(2, 6)), torch.zeros(2, 4)])
    torch.testing.assert_close(out, out2)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_step_states_are_the_graph_tensors(mode):
    torch.manual_seed(3)
    layer = rnnkit_layer(mode, 3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(6, 2, 3)
    lengths = torch.tensor([6, 3])
    out, final, steps = layer(x, lengths=lengths, return_states=True)
    assert len(steps.steps) == 4 and all(len(s) == 6 for s in steps.steps)
    hidden = steps.hidden  # (L*D, T, N, H)
    assert hidden.shape == (4, 6, 2, 4)
    # the last layer's per-step outputs are the layer's output (forward | backward)
    torch.testing.assert_close(hidden[2, :, 0], out[:, 0, :4])
    torch.testing.assert_close(hidden[3, :, 0], out[:, 0, 4:])
    # past its length the second sequence keeps the state of its last real step
    h_last = final[0] if mode == "lstm" else final
    torch.testing.assert_close(hidden[2, 2, 1], h_last[2, 1])
    torch.testing.assert_close(hidden[2, 5, 1], h_last[2, 1])
    # the backward direction ends at t = 0
    torch.testing.assert_close(hidden[3, 0, 1], h_last[3, 1])
    if mode == "lstm":
        h_seq, c_seq = steps.stacked(0)
        assert h_seq.shape == c_seq.shape == (6, 2, 4)
        torch.testing.assert_close(c_seq[-1, 0], final[1][0, 0])
    # dL/dh_t through the graph: with L = sum_t w_t . h_t on the top forward cell, the gradient
    # at the last step is exactly w_T
    weights = torch.randn(6, 2, 4)
    top = [
        layer_out if isinstance(layer_out, torch.Tensor) else layer_out[0]
        for layer_out in steps.steps[2]
    ]
    loss = sum((w * h).sum() for w, h in zip(weights, top, strict=True))
    grads = torch.autograd.grad(loss, top)
    torch.testing.assert_close(grads[-1][0], weights[-1][0])


def test_dropout_applies_between_layers_only_in_training():
    torch.manual_seed(4)
    layer = rn.LSTM(3, 4, num_layers=2, dropout=1.0, impl="loop")
    x = torch.randn(5, 2, 3)
    out, _ = layer(x)
    # dropout p=1 zeroes what layer 1 passes up: layer 2 sees zeros
    top = rn.LSTMCell.from_parameters(
        layer.weight_ih_l1, layer.weight_hh_l1, layer.bias_ih_l1, layer.bias_hh_l1
    )
    state = top.initial_state(2)
    for t in range(5):
        state = top(torch.zeros(2, 4), state)
        torch.testing.assert_close(out[t], state[0])
    layer.eval()
    assert (layer(x)[0] - out).abs().max() > 1e-3


@pytest.mark.parametrize("cell_class", [MinimalGatedCell, PairCell, rn.GRUCell])
def test_generic_layer_gradcheck_float64(cell_class):
    torch.manual_seed(5)
    layer = rn.Recurrent(cell_class, 2, 3, num_layers=2, bidirectional=True, impl="loop").double()
    names = [name for name, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)

    def run(x, *values):
        out, _ = functional_call(
            layer, dict(zip(names, values, strict=True)), (x,), {"lengths": [4, 2]}
        )
        return out

    assert torch.autograd.gradcheck(run, (x, *params))


def test_fused_and_loop_share_parameters():
    torch.manual_seed(6)
    layer = rn.GRU(3, 4, num_layers=2)
    cells = layer.cells()
    assert cells[1].weight_hh is layer.weight_hh_l1
    x = torch.randn(5, 2, 3)
    fused, _ = layer(x)
    layer.impl = "loop"
    assert rel_error(layer(x)[0], fused) <= 1e-5
    with torch.no_grad():
        layer.weight_hh_l1.mul_(2)
    assert rel_error(layer(x)[0], fused) > 1e-3  # the loop sees the change
