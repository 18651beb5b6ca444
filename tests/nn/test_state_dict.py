"""A state dict moves between torch.nn and rnnkit.nn unchanged, in both directions."""

from __future__ import annotations

import io

import pytest
import torch

from tests.nn.helpers import MODES, flat, rnnkit_layer, torch_layer


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("mode", MODES)
def test_state_dict_round_trip_both_ways(mode, bias, bidirectional):
    torch.manual_seed(0)
    options = dict(num_layers=2, bias=bias, bidirectional=bidirectional)
    ours, theirs = rnnkit_layer(mode, 3, 4, **options), torch_layer(mode, 3, 4, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = torch.randn(5, 2, 3)

    # torch.nn -> rnnkit, through a file as a user would
    buffer = io.BytesIO()
    torch.save(theirs.state_dict(), buffer)
    buffer.seek(0)
    ours.load_state_dict(torch.load(buffer, weights_only=True))
    for impl in ("auto", "loop"):
        ours.impl = impl
        for got, want in zip(flat(ours(x)[1]), flat(theirs(x)[1]), strict=True):
            torch.testing.assert_close(got, want)

    # rnnkit -> torch.nn
    fresh = rnnkit_layer(mode, 3, 4, **options)
    back = torch_layer(mode, 3, 4, **options)
    back.load_state_dict(fresh.state_dict())
    torch.testing.assert_close(back(x)[0], fresh(x)[0])


def test_projected_lstm_state_dict_and_fused_run():
    torch.manual_seed(1)
    theirs = torch.nn.LSTM(3, 6, num_layers=2, proj_size=4)
    ours = rnnkit_layer("lstm", 3, 6, num_layers=2, proj_size=4)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(5, 2, 3)
    state = (torch.randn(2, 2, 4), torch.randn(2, 2, 6))
    torch.testing.assert_close(ours(x, state)[0], theirs(x, state)[0])
