"""The lecture's BPTT formulas written out literally (one example, column vectors, one bias
b) give the batched engine's gradients; the batch is the mean of its examples."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import rnn
from rnnkit.reference.losses import softmax
from rnnkit.reference.network import Network

T, D, H, C = 5, 3, 4, 3


def lecture_bptt(W, U, b, V, c, xs, ys):
    """a_t = W h_{t-1} + U x_t + b, h_t = tanh(a_t), o_t = V h_t + c, L = sum_t CE(o_t, y_t)."""
    h = {-1: np.zeros(H)}
    y_hat = {}
    for t in range(T):
        h[t] = np.tanh(W @ h[t - 1] + U @ xs[t] + b)
        y_hat[t] = softmax(V @ h[t] + c)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dV, dc = np.zeros_like(V), np.zeros_like(c)
    dh = {}
    for t in reversed(range(T)):
        do = y_hat[t] - np.eye(C)[ys[t]]  # dL/do_t = y_hat_t - y_t
        dh[t] = V.T @ do  # + V^T dL/do_t
        if t + 1 < T:
            dh[t] += (
                W.T @ np.diag(1 - h[t + 1] ** 2) @ dh[t + 1]
            )  # W^T diag(1 - h_{t+1}^2) dL/dh_{t+1}
        dc += do  # dL/dc = sum_t dL/do_t
        dV += np.outer(do, h[t])  # dL/dV = sum_t dL/do_t h_t^T
        db += np.diag(1 - h[t] ** 2) @ dh[t]  # dL/db = sum_t diag(1 - h_t^2) dL/dh_t
        dW += np.outer(np.diag(1 - h[t] ** 2) @ dh[t], h[t - 1])  # ... h_{t-1}^T
        dU += np.outer(np.diag(1 - h[t] ** 2) @ dh[t], xs[t])  # ... x_t^T
    return {"weight_hh": dW, "weight_ih": dU, "b": db, "weight_hy": dV, "bias_y": dc}


def test_engine_equals_the_lectures_formulas_per_example_and_batch_mean():
    rng = np.random.default_rng(0)
    network = Network("rnn")
    N = 3
    params = network.init_params(D, H, C, rng)
    xs = rng.normal(size=(T, N, D))
    ys = rng.integers(C, size=(T, N))
    _, grads, _ = network.loss_and_gradients(params, xs, ys)
    b = params["bias_ih"] + params["bias_hh"]  # the lecture's one bias
    per_example = [
        lecture_bptt(
            params["weight_hh"],
            params["weight_ih"],
            b,
            params["weight_hy"],
            params["bias_y"],
            xs[:, n],
            ys[:, n],
        )
        for n in range(N)
    ]
    for name in ("weight_hh", "weight_ih", "weight_hy", "bias_y"):
        expected = np.mean([g[name] for g in per_example], axis=0)
        np.testing.assert_allclose(grads[name], expected, rtol=1e-12, atol=1e-15)
    expected_b = np.mean([g["b"] for g in per_example], axis=0)
    np.testing.assert_allclose(grads["bias_ih"], expected_b, rtol=1e-12)  # both biases get
    np.testing.assert_allclose(grads["bias_hh"], expected_b, rtol=1e-12)  # dL/db


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sequence_forward_is_the_step_repeated(cell):
    network = Network(cell)
    rng = np.random.default_rng(1)
    params = network.init_params(D, H, C, rng)
    xs = rng.normal(size=(T, 2, D))
    state0 = network.initial_state(2, params)
    hs, last, _ = network.module.forward(xs, state0, params)
    state = state0
    for t in range(T):
        x_term = network.module.input_terms(xs[t : t + 1], params)[0]  # one step's (N, G*H)
        if cell == "lstm":
            state, _ = network.module.step_forward(x_term, state, params)
            h = state[0]
        elif cell == "gru":
            state, _ = network.module.step_forward(x_term, state, params)
            h = state
        else:
            state = h = network.module.step_forward(x_term, state, params)
        np.testing.assert_array_equal(hs[t], h)
    np.testing.assert_array_equal(np.asarray(last), np.asarray(state))


def test_gru_forms_differ_only_in_the_candidate():
    """With r = 1 everywhere (a huge reset bias) the two GRU forms are the same function."""
    rng = np.random.default_rng(2)
    params = Network("gru").init_params(D, H, C, rng)
    params["bias_ih"][:H] = 50.0  # r_t = sigmoid(50 + ...) = 1 to machine precision
    xs = rng.normal(size=(T, 2, D))
    after, _, _ = Network("gru", reset_after=True).forward(params, xs)
    before, _, _ = Network("gru", reset_after=False).forward(params, xs)
    np.testing.assert_allclose(after, before, rtol=1e-12)
    params["bias_ih"][:H] = 0.0
    after, _, _ = Network("gru", reset_after=True).forward(params, xs)
    before, _, _ = Network("gru", reset_after=False).forward(params, xs)
    assert np.abs(after - before).max() > 1e-3


def test_bad_cell_options():
    with pytest.raises(ValueError, match="unknown cell 'elman'; expected one of rnn, lstm, gru"):
        Network("elman")
    with pytest.raises(ValueError, match="nonlinearity must be one of tanh, relu, got 'sigmoid'"):
        Network("rnn", nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        rnn.forward(np.zeros((2, 1, 3)), np.zeros((1, 4)), {}, nonlinearity="gelu")
