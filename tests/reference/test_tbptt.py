"""Truncated BPTT(k1, k2): each update is the exact gradient of Williams and Peng's truncated
objective (checked by finite differences of that objective, computed directly here), the
state is carried forward, and k1 = k2 = T is plain BPTT."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference.gradcheck import TOLERANCE, compare_gradients, relative_error
from rnnkit.reference.losses import cross_entropy_forward
from rnnkit.reference.network import Network
from rnnkit.reference.tbptt import TruncatedBPTT

T, N, D, H, C = 12, 2, 3, 4, 3


def _problem(cell: str, seed: int = 0):
    network = Network(cell)
    rng = np.random.default_rng(seed)
    params = network.init_params(D, H, C, rng)
    xs = rng.normal(size=(T, N, D))
    targets = rng.integers(C, size=(T, N))
    return network, params, xs, targets


def _state_at(network, params, xs, time):
    """s_time from one plain forward pass over xs[:time] (None: the zero state at time 0)."""
    if time == 0:
        return None
    return network.forward(params, xs[:time])[1]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(("k1", "k2"), [(3, 5), (2, 7), (4, 4)])
def test_each_update_is_the_gradient_of_the_truncated_objective(cell, k1, k2):
    network, params, xs, targets = _problem(cell)
    tbptt = TruncatedBPTT(network, forward_steps=k1, backward_steps=k2)
    for t in range(k1, T + 1, k1):  # t: the time just after the update's last step
        loss, grads = tbptt.step(params, xs[t - k1 : t], targets[t - k1 : t])
        start = max(0, t - k2)
        state = _state_at(network, params, xs, start)  # s_{t-k2}, held fixed below

        def truncated_objective(start=start, state=state, t=t):
            o, _, _ = network.forward(params, xs[start:t], state)
            return cross_entropy_forward(o[-k1:], targets[t - k1 : t])[0]  # L_τ, τ in the last k1

        assert loss == pytest.approx(truncated_objective(), rel=1e-12)
        errors = compare_gradients(truncated_objective, params, grads)
        assert max(errors.values()) < TOLERANCE, (t, errors)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_one_window_over_everything_is_full_bptt(cell):
    network, params, xs, targets = _problem(cell)
    loss, grads = TruncatedBPTT(network, T, T).step(params, xs, targets)
    full_loss, full_grads, _ = network.loss_and_gradients(params, xs, targets)
    assert loss == pytest.approx(full_loss, rel=1e-14)
    for name in full_grads:
        assert relative_error(grads[name], full_grads[name], tiny=1e-12) < 1e-12


def test_truncation_cuts_the_gradient():
    """The last update of BPTT(3, 5) differs from BPTT(3, 12) over the same losses: the errors
    no longer reach the first 7 steps. (A test that truncation happened at all.)"""
    network, params, xs, targets = _problem("rnn")
    truncated = TruncatedBPTT(network, 3, 5)
    for t in range(3, T + 1, 3):
        _, short = truncated.step(params, xs[t - 3 : t], targets[t - 3 : t])
    whole = TruncatedBPTT(network, 3, T)
    for t in range(3, T + 1, 3):
        _, long = whole.step(params, xs[t - 3 : t], targets[t - 3 : t])
    assert relative_error(short["weight_hh"], long["weight_hh"]) > 1e-3
    assert relative_error(short["weight_hy"], long["weight_hy"]) < 1e-12  # V sees no history


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_is_carried_forward(cell):
    """With no updates in between, the chunks' losses add up to the whole sequence's loss and
    the final state is that of one forward pass."""
    network, params, xs, targets = _problem(cell)
    tbptt = TruncatedBPTT(network, 4, 6)
    total = sum(tbptt.step(params, xs[t - 4 : t], targets[t - 4 : t])[0] for t in (4, 8, 12))
    o, final, _ = network.forward(params, xs)
    assert total == pytest.approx(cross_entropy_forward(o, targets)[0], rel=1e-12)
    as_tuple = lambda state: state if isinstance(state, tuple) else (state,)  # noqa: E731
    for got, want in zip(as_tuple(tbptt.state), as_tuple(final), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_reset_starts_from_a_given_state():
    network, params, xs, targets = _problem("rnn")
    tbptt = TruncatedBPTT(network, 4)
    tbptt.step(params, xs[:4], targets[:4])
    tbptt.reset()
    loss_after_reset, _ = tbptt.step(params, xs[4:8], targets[4:8])
    o, _, _ = network.forward(params, xs[4:8])  # from the zero state
    assert loss_after_reset == pytest.approx(cross_entropy_forward(o, targets[4:8])[0])


def test_bad_arguments():
    network = Network("rnn")
    with pytest.raises(ValueError, match="backward_steps \\(k2\\) must be at least"):
        TruncatedBPTT(network, 5, 3)
    with pytest.raises(ValueError, match="forward_steps \\(k1\\) must be at least 1"):
        TruncatedBPTT(network, 0)
    with pytest.raises(ValueError, match="needs a loss at every step"):
        TruncatedBPTT(network, 3, loss="last_step_cross_entropy")
    _, params, xs, targets = _problem("rnn")
    with pytest.raises(ValueError, match="expected 3 new steps, got 4"):
        TruncatedBPTT(network, 3).step(params, xs[:4], targets[:4])
