"""Optimisers against torch.optim (or a hand loop where the formula differs), clipping,
and the initialisations."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import clipping, init, optim
from rnnkit.reference.network import Network

torch = pytest.importorskip("torch")

STEPS = 5


def _gradient_sequence(shape=(3, 4)):
    rng = np.random.default_rng(0)
    return [rng.normal(size=shape) for _ in range(STEPS)]


def _run_numpy(optimizer, start, grads):
    params = {"w": start.copy()}
    for g in grads:
        optimizer.step(params, {"w": g.copy()})
    return params["w"]


def _run_torch(make, start, grads):
    w = torch.nn.Parameter(torch.from_numpy(start.copy()))
    opt = make([w])
    for g in grads:
        w.grad = torch.from_numpy(g.copy())
        opt.step()
    return w.detach().numpy()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: optim.SGD(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        (lambda: optim.Momentum(0.05, 0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
        (lambda: optim.Adam(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    ],
    ids=["sgd", "momentum", "adam"],
)
def test_optimiser_matches_torch(ours, theirs):
    start = np.random.default_rng(1).normal(size=(3, 4))
    grads = _gradient_sequence()
    np.testing.assert_allclose(
        _run_numpy(ours(), start, grads), _run_torch(theirs, start, grads), rtol=1e-12
    )


def test_adagrad_is_min_char_rnns_update():
    """mem += g*g; param -= lr * g / sqrt(mem + 1e-8), written out by hand."""
    start = np.random.default_rng(1).normal(size=(3, 4))
    grads = _gradient_sequence()
    w, mem = start.copy(), np.zeros_like(start)
    for g in grads:
        mem += g * g
        w -= 0.1 * g / np.sqrt(mem + 1e-8)
    np.testing.assert_allclose(_run_numpy(optim.Adagrad(lr=0.1), start, grads), w, rtol=1e-14)


def test_optimiser_validation():
    with pytest.raises(ValueError, match="learning rate must be positive, got 0"):
        optim.SGD(lr=0)
    with pytest.raises(ValueError, match="momentum must be in"):
        optim.Momentum(momentum=1.0)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'; expected one of sgd"):
        optim.make_optimizer("rmsprop", 0.1)


def test_clip_by_global_norm():
    rng = np.random.default_rng(0)
    grads = {"a": rng.normal(size=(3, 3)) * 10, "b": rng.normal(size=4) * 10}
    before = {k: v.copy() for k, v in grads.items()}
    norm = clipping.clip_by_global_norm(grads, 1.0)
    expected_norm = np.sqrt(sum((v**2).sum() for v in before.values()))
    assert norm == pytest.approx(expected_norm)
    assert clipping.global_norm(grads) == pytest.approx(1.0)
    for k in grads:  # same direction
        np.testing.assert_allclose(grads[k], before[k] / expected_norm)
    small = {"a": np.array([0.1, -0.2])}
    clipping.clip_by_global_norm(small, 1.0)
    np.testing.assert_array_equal(small["a"], [0.1, -0.2])  # under the threshold: untouched


def test_clip_by_value():
    grads = {"a": np.array([-7.0, -1.0, 0.0, 4.0, 12.0])}
    clipping.clip_by_value(grads, 5.0)
    np.testing.assert_array_equal(grads["a"], [-5.0, -1.0, 0.0, 4.0, 5.0])
    with pytest.raises(ValueError, match="limit must be positive"):
        clipping.clip_by_value(grads, -1)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clipping.clip_by_global_norm(grads, 0)


@pytest.mark.parametrize(("cell", "gates"), [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_default_initialisation_has_torchs_shapes_and_bounds(cell, gates):
    D, H, C = 3, 8, 5
    params = Network(cell).init_params(D, H, C, np.random.default_rng(0))
    reference = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](D, H)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        assert params[name].shape == tuple(getattr(reference, f"{name}_l0").shape)
        assert np.abs(params[name]).max() <= 1 / np.sqrt(H)
    assert params["weight_hy"].shape == (C, H) and params["bias_y"].shape == (C,)


def test_irnn_keeps_the_state_without_input():
    """W = I, b = 0 and relu: h_t = relu(h_{t-1}) = h_{t-1} for a non-negative state."""
    D, H = 3, 6
    network = Network("rnn", nonlinearity="relu")
    params = network.init_params(D, H, 2, np.random.default_rng(0))
    params.update(init.irnn_cell_params(D, H, np.random.default_rng(1)))
    np.testing.assert_array_equal(params["weight_hh"], np.eye(H))
    assert not params["bias_ih"].any() and not params["bias_hh"].any()
    assert params["weight_ih"].std() < 0.01
    h0 = np.abs(np.random.default_rng(2).normal(size=(2, H)))
    _, h_last, _ = network.forward(params, np.zeros((20, 2, D)), h0)
    np.testing.assert_array_equal(h_last, h0)
    with pytest.raises(ValueError, match="IRNN scale must be positive"):
        init.irnn_cell_params(D, H, np.random.default_rng(0), scale=0)
