"""Zoneout and variational recurrent dropout: off at evaluation and at rate 0, the masks the
papers prescribe (fresh per step and unit for zoneout, one per sequence for recurrent
dropout), and the layer's outputs against a hand loop with the same masks."""

from __future__ import annotations

import re

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


def _drawn_masks(cell):
    """The list of the masks ``cell`` draws from now on, each as the layer's loop saw it (the
    layer forgets it when its loop ends)."""
    masks, draw = [], cell.begin_sequence

    def begin(batch_size, like):
        draw(batch_size, like)
        masks.append(cell.recurrent_mask())

    cell.begin_sequence = begin
    return masks


def test_recurrent_dropout_is_one_mask_per_sequence_on_the_matmul_only():
    torch.manual_seed(0)
    layer = rn.Recurrent(rn.LSTMCell, D, H)
    cell = recurrent_dropout(layer.cells[0], 0.25)
    masks = _drawn_masks(cell)
    output, _ = layer(inputs())  # training mode: draws the mask
    (mask,) = masks  # (N, H), the one mask of these sequences
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
    masks = _drawn_masks(cell)
    layer(inputs())
    layer(inputs())
    assert len(masks) == 2 and not torch.equal(masks[0], masks[1])


class _Failing(torch.nn.Module):
    """A cell that fails at its first step."""

    input_size = hidden_size = H

    def forward(self, x, state):
        raise RuntimeError("this cell fails")


@pytest.mark.parametrize("impl", ["auto", "loop"])
def test_a_cell_stepped_by_hand_after_its_layer_drops_nothing(impl):
    """The mask lives for the layer's sequences only, also when its loop fails: a later step
    by hand, of another batch size, is the plain cell's step on the same weights."""
    torch.manual_seed(0)
    cell = recurrent_dropout(rn.LSTMCell(D, H), 0.5)
    plain = rn.LSTMCell(D, H)
    plain.load_state_dict(cell.state_dict())
    failing = rn.Recurrent([cell, _Failing()], num_layers=2, impl=impl)
    x, state = torch.randn(1, D), (torch.randn(1, H), torch.randn(1, H))
    for layer in (rn.Recurrent(cell, impl=impl), failing):
        try:
            layer(inputs())  # training: draws an (N, H) mask
        except RuntimeError:
            assert layer is failing
        assert cell.recurrent_mask() is None
        got = cell(x, state)
        assert got[0].shape == (1, H)
        torch.testing.assert_close(got, plain(x, state))


def test_recurrent_dropout_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match=r"takes rnnkit.nn's .* got torch.*\.LSTMCell$"):
        recurrent_dropout(torch.nn.LSTMCell(D, H), 0.2)
    with pytest.raises(
        ValueError,
        match=r"takes rnnkit.nn's RNNCell, .*MinGRUCell has no recurrent matmul \(its gates "
        r"read x_t only, never h_\(t-1\)\): use zoneout",
    ):
        recurrent_dropout(rn.MinGRUCell(D, H), 0.2)
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
    with pytest.raises(ValueError, match="MinGRUCell has no recurrent matmul .*: use zoneout"):
        regularise(layer, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match=r"zoneout must be a probability in \[0, 1\)"):
        regularise(layer, zoneout=1.5)
    regularise(layer, zoneout=0.2)  # zoneout runs the scan cells step by step
    assert layer(inputs())[0].shape == (T, N, H)


def _runs_alike(layer, reference, seed=3):
    """Both layers' outputs in training with the same random draws, then in evaluation."""
    for mode in (True, False):
        layer.train(mode), reference.train(mode)
        torch.manual_seed(seed)
        got = layer(inputs())[0]
        torch.manual_seed(seed)
        torch.testing.assert_close(got, reference(inputs())[0])


def test_regularise_keeps_the_rate_it_is_not_given():
    """regularise(layer, zoneout=p) leaves the recurrent dropout on the cells (and the other
    way round): the layer runs as the cells wrapped by hand with both."""
    torch.manual_seed(0)
    layer = rn.Recurrent(lambda i, h: recurrent_dropout(rn.LSTMCell(i, h), 0.5), D, H)
    by_hand = rn.Recurrent(Zoneout(recurrent_dropout(rn.LSTMCell(D, H), 0.5), 0.1))
    by_hand.cells[0].cell.load_state_dict(layer.cells[0].state_dict())
    regularise(layer, zoneout=0.1)
    assert layer.cells[0].recurrent_dropout == 0.5
    _runs_alike(layer, by_hand)
    standard = regularise(rn.LSTM(D, H), zoneout=0.1)
    regularise(standard, recurrent_dropout=0.25)
    assert (standard.zoneout, standard.recurrent_dropout) == (0.1, 0.25)
    regularise(standard, zoneout=0.0)
    assert (standard.zoneout, standard.recurrent_dropout) == (0.0, 0.25)


def test_regularise_gives_recurrent_dropout_to_the_cell_inside_a_zoneout():
    """A Recurrent of Zoneout cells takes recurrent dropout on the cells inside: it runs as the
    plain cells regularised with both."""
    torch.manual_seed(0)
    plain = regularise(rn.Recurrent(rn.LSTMCell, D, H), zoneout=0.2, recurrent_dropout=0.25)
    zoned = rn.Recurrent(Zoneout(rn.LSTMCell(D, H), 0.2))
    zoned.cells[0].cell.load_state_dict(plain.cells[0].state_dict())
    regularise(zoned, recurrent_dropout=0.25)
    assert zoned.cells[0].cell.recurrent_dropout == 0.25
    _runs_alike(zoned, plain)


@pytest.mark.parametrize("make_cell", [lambda: rn.LSTMCell(D, H), lambda: rn.GRUCell(D, H)])
def test_zoneout_takes_what_its_cell_takes(make_cell):
    """Unbatched input as the cell (and the expectation at evaluation); what the cell refuses,
    refused with the cell's own message."""
    torch.manual_seed(0)
    cell = make_cell()
    zoned = Zoneout(cell, 0.0)
    x = torch.randn(D)
    torch.testing.assert_close(zoned(x), cell(x))
    state = cell(torch.randn(D))  # (H,), or (h, c) of (H,)
    fresh = cell(x, state)
    got = Zoneout(cell, 0.3).eval()(x, state)
    expected = (
        0.3 * state + 0.7 * fresh
        if isinstance(state, torch.Tensor)
        else tuple(0.3 * s + 0.7 * f for s, f in zip(state, fresh, strict=True))
    )
    torch.testing.assert_close(got, expected)
    one_row = cell(torch.randn(1, D))  # a state of batch 1
    for bad_input, bad_state in [
        (torch.randn(3, D), one_row),  # batch 3, state of batch 1
        (torch.randn(3, D), state),  # unbatched state for a batch
        (torch.randn(3, D + 1), None),  # the wrong input size
    ]:
        with pytest.raises(ValueError) as told:
            cell(bad_input, bad_state)
        with pytest.raises(ValueError, match=re.escape(str(told.value))):
            zoned(bad_input, bad_state)


def test_zoneout_around_a_torch_cell_takes_unbatched_input():
    torch.manual_seed(0)
    cell = torch.nn.GRUCell(D, H)
    x, h = torch.randn(D), torch.randn(H)
    torch.testing.assert_close(Zoneout(cell, 0.0)(x), cell(x))
    torch.testing.assert_close(Zoneout(cell, 0.4).eval()(x, h), 0.4 * h + 0.6 * cell(x, h))
