"""The hand-derived BPTT against centred finite differences (float64), and the checker itself
against gradients known to be wrong."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import gradcheck, rnn
from rnnkit.reference.gradcheck import (
    TOLERANCE,
    check_gradients,
    compare_gradients,
    numerical_gradient,
    random_problem,
    relative_error,
)
from rnnkit.reference.losses import LOSSES
from rnnkit.reference.network import Network

NETWORKS = {
    "rnn-tanh": dict(cell="rnn"),
    "rnn-relu": dict(cell="rnn", nonlinearity="relu"),
    "lstm": dict(cell="lstm"),
    "gru-torch": dict(cell="gru", reset_after=True),
    "gru-cho": dict(cell="gru", reset_after=False),
}


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("name", list(NETWORKS))
def test_parameter_gradients_match_finite_differences(name, loss):
    options = dict(NETWORKS[name])
    cell = options.pop("cell")
    result = check_gradients(cell, seed=1, loss=loss, **options)
    assert set(result) == {"cell", "max_rel_error", "params"}
    assert set(result["params"]) == {
        "weight_ih",
        "weight_hh",
        "bias_ih",
        "bias_hh",
        "weight_hy",
        "bias_y",
    }
    assert result["max_rel_error"] == max(result["params"].values())
    assert result["max_rel_error"] < TOLERANCE, result["params"]


@pytest.mark.parametrize("seed", [2, 3, 4])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_other_seeds(cell, seed):
    assert check_gradients(cell, seed)["max_rel_error"] < TOLERANCE


@pytest.mark.parametrize("name", list(NETWORKS))
def test_input_and_initial_state_gradients(name):
    """dL/dx_t and dL/dh0 (and dL/dc0) that the backward pass returns."""
    network = Network(**NETWORKS[name])
    params, xs, targets, state0 = random_problem(network, "cross_entropy", np.random.default_rng(5))
    o, _, cache = network.forward(params, xs, state0)
    loss_forward, loss_backward = LOSSES["cross_entropy"]
    do = loss_backward(loss_forward(o, targets)[1])
    _, dxs, dstate0 = network.backward(do, cache, params)
    arrays = {"xs": xs}
    analytic = {"xs": dxs}
    if network.cell == "lstm":
        arrays.update(h0=state0[0], c0=state0[1])
        analytic.update(h0=dstate0[0], c0=dstate0[1])
    else:
        arrays["h0"], analytic["h0"] = state0, dstate0
    errors = compare_gradients(
        lambda: network.loss(params, xs, targets, "cross_entropy", state0), arrays, analytic
    )
    assert max(errors.values()) < TOLERANCE, errors


def test_relu_problem_stays_clear_of_the_kink():
    network = Network("rnn", nonlinearity="relu")
    params, xs, _, state0 = random_problem(network, "mse", np.random.default_rng(0))
    assert gradcheck._smallest_preactivation(network, params, xs, state0) > gradcheck.RELU_MARGIN
    _, _, (hs, _) = network.forward(params, xs, state0)
    assert 0 < (hs > 0).mean() < 1  # some units on, some off: both branches are checked


# -- the checker can fail ----------------------------------------------------------------------


def test_a_slightly_wrong_gradient_is_detected():
    network = Network("lstm")
    params, xs, targets, state0 = random_problem(network, "cross_entropy", np.random.default_rng(0))
    _, grads, _ = network.loss_and_gradients(params, xs, targets, "cross_entropy", state0)
    grads["weight_hh"][3, 1] *= 1.0001  # one element off by 1e-4 of itself
    errors = compare_gradients(
        lambda: network.loss(params, xs, targets, "cross_entropy", state0), params, grads
    )
    assert errors["weight_hh"] > 10 * TOLERANCE
    assert max(e for name, e in errors.items() if name != "weight_hh") < TOLERANCE


def test_forgetting_the_path_through_time_is_detected(monkeypatch):
    """A classic BPTT bug: dL/dh_{t-1} loses the term W^T diag(1 - h_t^2) dL/dh_t."""
    right = rnn.step_backward

    def without_recurrent_term(dh, h, params, nonlinearity):
        da, dh_prev = right(dh, h, params, nonlinearity)
        return da, np.zeros_like(dh_prev)

    monkeypatch.setattr(rnn, "step_backward", without_recurrent_term)
    result = check_gradients("rnn", seed=0)
    assert result["max_rel_error"] > 1e-2
    assert result["params"]["weight_hy"] < TOLERANCE  # the output layer is not affected


def test_forgetting_the_tanh_derivative_is_detected(monkeypatch):
    """Another: diag(1 - h_t^2) left out of every step."""
    right = rnn.step_backward

    def without_derivative(dh, h, params, nonlinearity):
        return right(dh / (1.0 - h**2), h, params, nonlinearity)  # cancels diag(1 - h_t^2)

    monkeypatch.setattr(rnn, "step_backward", without_derivative)
    assert check_gradients("rnn", seed=0)["max_rel_error"] > 1e-2


def test_a_gradient_the_backward_pass_leaves_out_is_detected(monkeypatch):
    """The check compared only the gradients the backward pass returned: one it left out
    was never checked, and the check passed."""
    right = Network.loss_and_gradients

    def without_a_bias(self, *args, **kwargs):
        loss, grads, rest = right(self, *args, **kwargs)
        return loss, {k: v for k, v in grads.items() if k != "bias_hh"}, rest

    monkeypatch.setattr(Network, "loss_and_gradients", without_a_bias)
    with pytest.raises(ValueError, match=r"missing: \['bias_hh'\]"):
        check_gradients("lstm", seed=0)


# -- the pieces of the checker -----------------------------------------------------------------


def test_numerical_gradient_of_a_known_function():
    x = np.linspace(-2, 2, 7)
    numeric = numerical_gradient(lambda: float(np.sum(np.sin(x) * x)), x)
    np.testing.assert_allclose(numeric, np.cos(x) * x + np.sin(x), rtol=0, atol=1e-11)
    np.testing.assert_array_equal(x, np.linspace(-2, 2, 7))  # put back exactly


def test_relative_error():
    assert relative_error(np.array([1.0]), np.array([1.0])) == 0.0
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    # near zero the error is absolute, scaled by tiny
    assert relative_error(np.array([1e-12]), np.array([-1e-12]), tiny=1e-5) == pytest.approx(2e-7)
    assert relative_error(np.array([0.0]), np.array([0.0])) == 0.0


def test_unknown_cell_or_loss_is_a_value_error():
    with pytest.raises(ValueError, match="unknown cell 'elman'; expected one of rnn, lstm, gru"):
        check_gradients("elman")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        check_gradients("rnn", loss="hinge")
