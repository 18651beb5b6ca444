"""The forecaster: losses by hand, and forecasts equal to hand loops over its step."""

import pytest
import torch
import torch.nn.functional as F

from rnnkit.models.forecaster import Forecaster, ForecasterConfig


def model(mode, cell="lstm", horizon=4, layers=1):
    torch.manual_seed(0)
    config = ForecasterConfig(mode=mode, cell=cell, hidden_size=8, num_layers=layers)
    return Forecaster(config, horizon).eval()


def test_direct_shapes_and_loss():
    net = model("direct")
    inputs, targets = torch.randn(3, 7), torch.randn(3, 4)
    predictions, loss = net(inputs, targets)
    assert predictions.shape == (3, 4)
    assert torch.allclose(loss, ((predictions - targets) ** 2).mean())
    assert net(inputs)[1] is None


def test_recursive_loss_covers_every_step():
    net = model("recursive")
    inputs = torch.randn(2, 6)
    predictions, loss = net(inputs[:, :-1], inputs[:, 1:])
    assert predictions.shape == (2, 5)
    assert torch.allclose(loss, F.mse_loss(predictions, inputs[:, 1:]))


@pytest.mark.parametrize(("cell", "layers"), [("lstm", 1), ("gru", 2), ("rnn", 1)])
def test_recursive_forecast_equals_a_hand_loop_over_step(cell, layers):
    net = model("recursive", cell, layers=layers)
    window = torch.randn(3, 5)
    state, prediction = None, None
    for t in range(5):  # read the window one step at a time
        prediction, state = net.step(window[:, t], state)
    expected = [prediction]
    for _ in range(6):  # then feed each prediction back
        prediction, state = net.step(prediction, state)
        expected.append(prediction)
    forecast = net.forecast(window, 7)
    torch.testing.assert_close(forecast, torch.stack(expected, 1), rtol=1e-5, atol=1e-6)
    # teacher forcing on the true values gives the step-by-step predictions too
    predictions, _ = net(window)
    torch.testing.assert_close(predictions[:, -1], expected[0], rtol=1e-5, atol=1e-6)


def test_direct_forecast_and_blocks_past_the_horizon():
    net = model("direct", horizon=3)
    window = torch.randn(2, 5)
    first, _ = net(window)
    torch.testing.assert_close(net.forecast(window), first)
    second, _ = net(torch.cat([window, first], 1)[:, -5:])
    torch.testing.assert_close(net.forecast(window, 5), torch.cat([first, second[:, :2]], 1))


def test_config_errors():
    with pytest.raises(ValueError, match="unknown mode"):
        Forecaster(ForecasterConfig(mode="sideways"), 2)
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        Forecaster(ForecasterConfig(), 0)
    with pytest.raises(ValueError, match="unknown cell"):
        ForecasterConfig(cell="transformer").validate()
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        ForecasterConfig(hidden_size=0).validate()
    with pytest.raises(ValueError, match="inputs must be"):
        Forecaster(ForecasterConfig(cell="gru"), 3)(torch.randn(2, 3, 1))


@pytest.mark.parametrize("mode", ["direct", "recursive"])
def test_dropout_reaches_a_one_layer_model_in_training_only(mode):
    torch.manual_seed(0)
    model = Forecaster(ForecasterConfig(mode=mode, hidden_size=16, dropout=0.5), 3)
    plain = Forecaster(ForecasterConfig(mode=mode, hidden_size=16), 3)
    plain.load_state_dict(model.state_dict())  # dropout adds no parameters
    x = torch.randn(4, 10)
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])  # a new mask each pass
    model.eval()
    plain.eval()
    torch.testing.assert_close(model(x)[0], plain(x)[0], rtol=0, atol=0)
    torch.testing.assert_close(model.forecast(x, 5), plain.forecast(x, 5), rtol=0, atol=0)
