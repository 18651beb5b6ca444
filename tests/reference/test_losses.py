"""Losses against torch.nn.functional (float64) and against the lecture's dL/do_t = y_hat - y."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional

T, N, C = 4, 3, 5


@pytest.fixture
def outputs():
    return np.random.default_rng(0).normal(size=(T, N, C)) * 3


def test_softmax_is_stable_and_sums_to_one():
    o = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    p = losses.softmax(o)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    np.testing.assert_allclose(p[0], torch.softmax(torch.from_numpy(o), -1)[0].numpy(), rtol=1e-14)


def test_cross_entropy_against_torch(outputs):
    targets = np.random.default_rng(1).integers(C, size=(T, N))
    loss, cache = losses.cross_entropy_forward(outputs, targets)
    o = torch.from_numpy(outputs).requires_grad_()
    expected = (
        F.cross_entropy(o.reshape(T * N, C), torch.from_numpy(targets).reshape(-1), reduction="sum")
        / N
    )
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-13)
    np.testing.assert_allclose(losses.cross_entropy_backward(cache), o.grad.numpy(), atol=1e-15)


def test_cross_entropy_gradient_is_y_hat_minus_y():
    """One sequence (N = 1): exactly the lecture's dL/do_t = y_hat_t - y_t."""
    o = np.array([[[1.0, 2.0, 0.5]], [[0.0, -1.0, 3.0]]])  # (T, N, C) = (2, 1, 3)
    targets = np.array([[2], [0]])
    _, cache = losses.cross_entropy_forward(o, targets)
    y = np.eye(3)[targets]  # one-hot (2, 1, 3)
    np.testing.assert_allclose(losses.cross_entropy_backward(cache), losses.softmax(o) - y)


def test_last_step_cross_entropy_scores_only_the_last_output(outputs):
    targets = np.array([0, 4, 2])
    loss, cache = losses.last_step_cross_entropy_forward(outputs, targets)
    expected = (
        F.cross_entropy(torch.from_numpy(outputs[-1]), torch.from_numpy(targets), reduction="sum")
        / N
    )
    assert loss == pytest.approx(expected.item(), rel=1e-13)
    do = losses.last_step_cross_entropy_backward(cache)
    assert do.shape == (T, N, C)
    assert not do[:-1].any()
    assert do[-1].any()


def test_mse(outputs):
    targets = np.random.default_rng(2).normal(size=(T, N, C))
    loss, cache = losses.mse_forward(outputs, targets)
    # torch's MSELoss(reduction="sum") has no 1/2: ours is half of it, per sequence
    expected = F.mse_loss(torch.from_numpy(outputs), torch.from_numpy(targets), reduction="sum")
    assert loss == pytest.approx(0.5 * expected.item() / N, rel=1e-13)
    np.testing.assert_allclose(losses.mse_backward(cache), (outputs - targets) / N)


def test_wrong_target_shapes():
    o = np.zeros((T, N, C))
    with pytest.raises(
        ValueError, match=r"targets must have shape \(T, N\) = \(4, 3\), got \(3,\)"
    ):
        losses.cross_entropy_forward(o, np.zeros(N, dtype=int))
    with pytest.raises(ValueError, match=r"targets must have shape \(N,\)"):
        losses.last_step_cross_entropy_forward(o, np.zeros((T, N), dtype=int))
    with pytest.raises(ValueError, match="the outputs' shape"):
        losses.mse_forward(o, np.zeros((T, N)))
    with pytest.raises(ValueError, match="unknown loss 'nll'; expected one of cross_entropy"):
        losses.get_loss("nll")


@pytest.mark.parametrize(
    "targets, span",
    [
        ([[-1, 0, 1]] * T, "-1 to 1"),
        ([[0, C, 1]] * T, f"0 to {C}"),
        ([[0.0, 1.0, 1.0]] * T, "float"),
    ],
)
def test_targets_outside_the_classes_are_refused(targets, span):
    """-1 would read the last class through numpy's negative indexing, and train towards it."""
    o = np.zeros((T, N, C))
    with pytest.raises(
        ValueError, match=rf"targets must be integer classes in \[0, {C}\), got .*{span}"
    ):
        losses.cross_entropy_forward(o, np.array(targets))
    with pytest.raises(ValueError, match=r"targets must be integer classes"):
        losses.last_step_cross_entropy_forward(o, np.array(targets)[0])
