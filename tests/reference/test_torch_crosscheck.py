"""The NumPy engine against rnnkit.nn (torch autograd) with the same weights and data:
the same loss, and the same gradients for every parameter, the inputs and the initial state
(float64, relative error <= 1e-8). The engine's arrays copy 1:1 into the torch layer."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
rnnkit_nn = pytest.importorskip("rnnkit.nn")

from rnnkit.reference.gradcheck import relative_error  # noqa: E402
from rnnkit.reference.network import Network  # noqa: E402

T, N, D, H, C = 6, 3, 4, 5, 3
CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
TOLERANCE = 1e-8

CASES = {  # name: (Network, torch layer options)
    "rnn-tanh": (Network("rnn"), {}),
    "rnn-relu": (Network("rnn", nonlinearity="relu"), {}),
    "lstm": (Network("lstm"), {}),
    "gru": (Network("gru"), {}),
    "gru-cho": (Network("gru", reset_after=False), {"reset_after": False}),
}


def _torch_layer(network: Network, options: dict, impl: str):
    if network.cell == "rnn":
        cls, options = rnnkit_nn.RNN, {"nonlinearity": network.nonlinearity, **options}
    else:
        cls = {"lstm": rnnkit_nn.LSTM, "gru": rnnkit_nn.GRU}[network.cell]
    return cls(D, H, dtype=torch.float64, impl=impl, **options)


def _torch_loss(o, targets, loss: str):
    """The engine's losses: summed over time, averaged over the batch."""
    if loss == "cross_entropy":
        return (
            torch.nn.functional.cross_entropy(
                o.reshape(T * N, C), targets.reshape(-1), reduction="sum"
            )
            / N
        )
    if loss == "last_step_cross_entropy":
        return torch.nn.functional.cross_entropy(o[-1], targets, reduction="sum") / N
    return 0.5 * ((o - targets) ** 2).sum() / N


def _problem(network: Network, loss: str, seed: int):
    rng = np.random.default_rng(seed)
    params = network.init_params(D, H, C, rng)
    xs = rng.normal(size=(T, N, D))
    if loss == "cross_entropy":
        targets = rng.integers(C, size=(T, N))
    elif loss == "last_step_cross_entropy":
        targets = rng.integers(C, size=N)
    else:
        targets = rng.normal(size=(T, N, C))
    shape = (N, H)
    if network.cell == "lstm":
        state0 = (rng.normal(size=shape), rng.normal(size=shape))
    else:
        state0 = rng.normal(size=shape)
    return params, xs, targets, state0


def _torch_gradients(network, options, impl, params, xs, targets, state0, loss):
    layer = _torch_layer(network, options, impl)
    with torch.no_grad():
        for name in CELL_PARAMS:  # the same arrays, under torch's layer names
            getattr(layer, f"{name}_l0").copy_(torch.from_numpy(params[name]))
    head = torch.nn.Linear(H, C, dtype=torch.float64)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(params["weight_hy"]))
        head.bias.copy_(torch.from_numpy(params["bias_y"]))
    x = torch.from_numpy(xs).requires_grad_()
    states = state0 if isinstance(state0, tuple) else (state0,)
    states = [torch.from_numpy(s)[None].requires_grad_() for s in states]  # (1, N, H) each
    output, _ = layer(x, tuple(states) if network.cell == "lstm" else states[0])
    value = _torch_loss(head(output), torch.from_numpy(targets), loss)
    value.backward()
    grads = {name: getattr(layer, f"{name}_l0").grad.numpy() for name in CELL_PARAMS}
    grads.update(weight_hy=head.weight.grad.numpy(), bias_y=head.bias.grad.numpy())
    extras = {"xs": x.grad.numpy(), "h0": states[0].grad[0].numpy()}
    if network.cell == "lstm":
        extras["c0"] = states[1].grad[0].numpy()
    return value.item(), grads, extras


def _numpy_gradients(network, params, xs, targets, state0, loss):
    from rnnkit.reference.losses import get_loss

    loss_forward, loss_backward = get_loss(loss)
    o, _, cache = network.forward(params, xs, state0)
    value, loss_cache = loss_forward(o, targets)
    grads, dxs, dstate0 = network.backward(loss_backward(loss_cache), cache, params)
    extras = {"xs": dxs}
    if network.cell == "lstm":
        extras.update(h0=dstate0[0], c0=dstate0[1])
    else:
        extras["h0"] = dstate0
    return value, grads, extras


def _impls(name):
    return ["loop"] if name == "gru-cho" else ["fused", "loop"]


@pytest.mark.parametrize(
    ("name", "impl"), [(name, impl) for name in CASES for impl in _impls(name)]
)
@pytest.mark.parametrize("loss", ["cross_entropy", "last_step_cross_entropy", "mse"])
def test_numpy_engine_equals_rnnkit_nn(name, impl, loss):
    network, options = CASES[name]
    problem = _problem(network, loss, seed=7)
    value, grads, extras = _numpy_gradients(network, *problem, loss)
    value_t, grads_t, extras_t = _torch_gradients(network, options, impl, *problem, loss)
    assert value == pytest.approx(value_t, rel=TOLERANCE)
    errors = {k: relative_error(grads[k], grads_t[k], tiny=1e-12) for k in grads_t}
    errors.update({k: relative_error(extras[k], extras_t[k], tiny=1e-12) for k in extras_t})
    assert set(grads) == set(grads_t)
    assert max(errors.values()) <= TOLERANCE, errors
