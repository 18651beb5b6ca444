"""Zoneout and variational recurrent dropout: off at evaluation and at rate 0, the masks the
papers prescribe (fresh per step and unit for zoneout, one per sequence for recurrent
dropout), and the layer's outputs against a hand loop with the same masks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import rnnkit.nn as rn
from rnnkit.nn.regularise import Zoneout, recurrent_dropout, regularise
from rnnkit.nn.variant_cells import LayerNormLSTMCell, MUT2Cell

D, H, T, N = 3, 64, 12, 16


def inputs(seed=0):
    return torch.randn(T, N, D, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("cell_class", (rn.LSTMCell, rn.GRUCell, rn.RNNCell, MUT2Cell))
def test_recurrent_dropout_is_off_at_evaluation_and_at_zero(cell_class):
    torch.manual_seed(0)
    plain = rn.Recurrent(cell_class, D, H, impl="loop")
    dropped = rn.Recurrent(cell_class, D, H)
    dropped.load_state_dict(plain.state_dict())
    recurrent_dropout(dropped.cells[0], 0.5)
    dropped.eval()
    torch.testing.assert_close(dropped(inputs())[0], plain(inputs())[0])
    dropped.train()
    assert not torch.allclose(dropped(inputs())[0], plain(inputs())[0])
    recurrent_dropout(dropped.cells[0], 0.0)
    torch.testing.assert_close(dropped(inputs())[0], plain(inputs())[0])


def test_recurrent_dropout_is_one_mask_per_sequence_on_the_matmul_only():
    torch.manual_seed(0)
    layer = rn.Recurrent(rn.LSTMCell, D, H)
    cell = recurrent_dropout(layer.cells[0], 0.25)
    output, _ = layer(inputs())  # training mode: draws the mask
    mask = cell._mask  # (N, H), the one mask of these sequences
    assert torch.equal(mask.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert abs((mask == 0).float().mean().item() - 0.25) < 0.05
    h = c = torch.zeros(N, H)
    for t, x in enumerate(inputs()):  # the LSTM by hand, h masked where W_hh reads it
        gates = F.linear(x, cell.weight_ih, cell.bias_ih)
        gates = gates + F.linear(h * mask, cell.weight_hh, cell.bias_hh)
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        torch.testing.assert_close(output[t], h)


def test_recurrent_dropout_draws_a_new_mask_for_each_batch():
    layer = rn.Recurrent(rn.GRUCell, D, H)
    cell = recurrent_dropout(layer.cells[0], 0.5)
    layer(inputs())
    first = cell._mask
    layer(inputs())
    assert not torch.equal(first, cell._mask)


def test_recurrent_dropout_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="needs a cell of rnnkit.nn"):
        recurrent_dropout(torch.nn.LSTMCell(D, H), 0.2)
    with pytest.raises(ValueError, match=r"recurrent dropout must be a probability in \[0, 1\)"):
        recurrent_dropout(rn.LSTMCell(D, H), 1.0)


@pytest.mark.parametrize("cell_class", (rn.LSTMCell, rn.GRUCell, LayerNormLSTMCell))
def test_zoneout_at_evaluation_is_the_expectation(cell_class):
    torch.manual_seed(0)
    inner = cell_class(D, H)
    zoned = Zoneout(inner, hidden=0.3, cell_state=0.6).eval()
    state = zoned.initial_state(N)
    for x in inputs():
        fresh = inner(x, state)
        expected = (
            0.3 * state + 0.7 * fresh
            if isinstance(state, torch.Tensor)
            else (0.3 * state[0] + 0.7 * fresh[0], 0.6 * state[1] + 0.4 * fresh[1])
        )
        state = zoned(x, state)
        torch.testing.assert_close(state, expected)


def test_zoneout_at_zero_is_the_cell():
    torch.manual_seed(0)
    inner = rn.LSTMCell(D, H)
    zoned = Zoneout(inner, 0.0)
    x = inputs()[0]
    torch.testing.assert_close(zoned(x), inner(x))


def test_zoneout_in_training_keeps_or_updates_each_unit_afresh_each_step():
    torch.manual_seed(0)
    inner = rn.LSTMCell(D, H)
    zoned = Zoneout(inner, hidden=0.2, cell_state=0.5)
    state = tuple(torch.randn(N, H) for _ in range(2))
    kept_h, kept_c = [], []
    for x in inputs():
        fresh = inner(x, state)
        new = zoned(x, state)
        for old_t, fresh_t, new_t, kept in zip(state, fresh, new, (kept_h, kept_c), strict=True):
            keep = new_t == old_t
            assert torch.equal(new_t[~keep], fresh_t[~keep])  # otherwise the update
            kept.append(keep.float())
        state = new
    assert abs(torch.stack(kept_h).mean().item() - 0.2) < 0.03
    assert abs(torch.stack(kept_c).mean().item() - 0.5) < 0.03
    assert not torch.equal(kept_h[0], kept_h[1])  # a fresh mask at every step


def test_zoneout_runs_in_a_layer_as_its_hand_loop():
    torch.manual_seed(0)
    layer = rn.Recurrent(lambda i, h: Zoneout(rn.GRUCell(i, h), 0.4), D, H, num_layers=2).eval()
    output, h_n = layer(inputs())
    x = inputs()
    for k in range(2):
        cell, h, outs = layer.cells[k].cell, torch.zeros(N, H), []
        for x_t in x:
            h = 0.4 * h + 0.6 * cell(x_t, h)
            outs.append(h)
        x = torch.stack(outs)
        torch.testing.assert_close(h_n[k], h)
    torch.testing.assert_close(output, x)


def test_zoneout_checks_its_rates():
    with pytest.raises(ValueError, match=r"zoneout must be a probability in \[0, 1\), got 1.5"):
        Zoneout(rn.GRUCell(D, H), 1.5)


def _twins(layer_class, cell_class):
    """A standard layer and a Recurrent of its cells, on the same weights."""
    torch.manual_seed(0)
    layer = layer_class(D, H, num_layers=2)
    cells = [c for c in layer.cells()]  # new cells on the layer's own parameters
    return layer, rn.Recurrent(cells, num_layers=2)


@pytest.mark.parametrize(
    ("layer_class", "cell_class"), [(rn.LSTM, rn.LSTMCell), (rn.GRU, rn.GRUCell)]
)
def test_a_regularised_layer_runs_its_cells_wrapped(layer_class, cell_class):
    """regularise(layer, ...) equals the cells wrapped by hand (Zoneout around each cell with
    the recurrent dropout rate), in training (the same random draws) and in evaluation."""
    layer, by_hand = _twins(layer_class, cell_class)
    regularise(layer, zoneout=0.2, recurrent_dropout=0.3)
    for cell in by_hand.cells:
        recurrent_dropout(cell, 0.3)
    by_hand.cells = torch.nn.ModuleList(Zoneout(c, 0.2) for c in by_hand.cells)
    for mode in (True, False):
        layer.train(mode), by_hand.train(mode)
        torch.manual_seed(3)
        got = layer(inputs())[0]
        torch.manual_seed(3)
        torch.testing.assert_close(got, by_hand(inputs())[0])
    assert "zoneout=0.2, recurrent_dropout=0.3" in repr(layer)


@pytest.mark.parametrize("core", ["lstm", "peephole", "mut2"])
def test_regularise_is_the_plain_layer_at_zero_and_recurrent_dropout_off_at_eval(core):
    from rnnkit.models.recurrent import build_recurrent

    torch.manual_seed(0)
    plain = build_recurrent(core, D, H, num_layers=2)
    dropped = regularise(build_recurrent(core, D, H, num_layers=2), recurrent_dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    assert not torch.allclose(dropped(inputs())[0], plain(inputs())[0])  # training
    dropped.eval()
    torch.testing.assert_close(dropped(inputs())[0], plain(inputs())[0])
    dropped.train()
    regularise(dropped, zoneout=0.0, recurrent_dropout=0.0)
    torch.testing.assert_close(dropped(inputs())[0], plain(inputs())[0])


def test_regularise_refuses_recurrent_dropout_without_a_recurrent_matmul():
    layer = rn.Recurrent(rn.MinGRUCell, D, H)
    with pytest.raises(ValueError, match="MinGRUCell has none .* use zoneout"):
        regularise(layer, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match=r"zoneout must be a probability in \[0, 1\)"):
        regularise(layer, zoneout=1.5)
    regularise(layer, zoneout=0.2)  # zoneout runs the scan cells step by step
    assert layer(inputs())[0].shape == (T, N, H)
