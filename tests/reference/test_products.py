"""Products over whole sequences equal their per-step sums, and indexes of one-hot rows give
exactly what the one-hot rows give."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import products
from rnnkit.reference.network import Network

T, N, D, H, C = 4, 3, 6, 5, 2


def test_sums_over_time_are_the_per_step_sums():
    rng = np.random.default_rng(0)
    d, xs, hs, h0 = (rng.normal(size=s) for s in [(T, N, H), (T, N, D), (T, N, H), (N, H)])
    np.testing.assert_allclose(products.sum_over_time(d, xs), sum(d[t].T @ xs[t] for t in range(T)))
    expected = d[0].T @ h0 + sum(d[t].T @ hs[t - 1] for t in range(1, T))
    np.testing.assert_allclose(products.sum_over_previous_states(d, h0, hs), expected)
    W = rng.normal(size=(H, D))
    np.testing.assert_allclose(products.apply(W, xs), np.stack([xs[t] @ W.T for t in range(T)]))


def test_indexes_are_one_hot_rows():
    rng = np.random.default_rng(1)
    ids = np.array([[0, 2, 2], [5, 0, 2], [2, 2, 2], [1, 0, 5]])  # repeats; 3 and 4 unused
    one_hot = np.eye(D)[ids]  # (T, N, D)
    W = rng.normal(size=(H, D))
    d = rng.normal(size=(T, N, H))
    np.testing.assert_array_equal(products.apply(W, ids), products.apply(W, one_hot))
    by_index = products.sum_over_inputs(d, ids, D)
    np.testing.assert_allclose(by_index, products.sum_over_time(d, one_hot), rtol=1e-13)
    assert not by_index[:, 3:5].any()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_network_on_indexes_equals_network_on_one_hot_rows(cell):
    network = Network(cell)
    rng = np.random.default_rng(2)
    params = network.init_params(D, H, C, rng)
    ids = rng.integers(D, size=(T, N))
    targets = rng.integers(C, size=(T, N))
    loss_i, grads_i, _ = network.loss_and_gradients(params, ids, targets)
    loss_x, grads_x, _ = network.loss_and_gradients(params, np.eye(D)[ids], targets)
    assert loss_i == pytest.approx(loss_x, rel=1e-14)
    for name in grads_x:
        np.testing.assert_allclose(grads_i[name], grads_x[name], rtol=1e-12, atol=1e-15)
    o, _, cache = network.forward(params, ids)
    _, dxs, _ = network.backward(np.ones_like(o), cache, params)
    assert dxs is None  # indexes have no gradient


def test_the_network_refuses_inputs_it_would_misread():
    network = Network("lstm")
    params = network.init_params(D, H, C, np.random.default_rng(0))
    with pytest.raises(ValueError, match=rf"input indexes must be in \[0, {D}\), got -1 to 2"):
        network.forward(params, np.array([[-1, 2, 0]] * T))  # -1: W's last column
    with pytest.raises(ValueError, match=rf"input indexes must be in \[0, {D}\), got 0 to {D}"):
        network.forward(params, np.array([[D, 2, 0]] * T))
    with pytest.raises(
        ValueError, match=r"integer inputs are indexes .* \(T, N\); got shape \(4, 3, 6\)"
    ):
        network.forward(params, np.ones((T, N, D), dtype=int))  # features given as integers
    with pytest.raises(ValueError, match=rf"inputs must have shape \(T, N, {D}\), got \(4, 3, 5\)"):
        network.forward(params, np.ones((T, N, D - 1)))
    network.forward(params, np.ones((T, N, D), dtype=int).astype(float))  # as the error says


@pytest.mark.parametrize(
    "cell, options, message",
    [
        ("lstm", {"nonlinearity": "relu"}, "nonlinearity is the rnn cell's option; the lstm"),
        ("gru", {"nonlinearity": "relu"}, "nonlinearity is the rnn cell's option; the gru"),
        ("rnn", {"reset_after": False}, "reset_after is the gru cell's option; the rnn"),
    ],
)
def test_an_option_of_another_cell_is_refused(cell, options, message):
    with pytest.raises(ValueError, match=message):
        Network(cell, **options)
