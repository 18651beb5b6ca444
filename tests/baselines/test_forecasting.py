"""Forecasting baselines against hand loops and statsmodels' own forecast."""

import warnings

import numpy as np
import pytest

from rnnkit.baselines.forecasting import (
    arima_forecasts,
    forecast_errors,
    naive_forecasts,
    seasonal_naive_forecasts,
)


def series(n=60, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 50 + 0.5 * t + 8 * np.sin(2 * np.pi * t / 6) + rng.normal(0, 1, n)


def test_naive_by_hand():
    y = series()
    origins = np.array([30, 41])
    forecasts = naive_forecasts(y, origins, 4)
    for row, t in enumerate(origins):
        assert list(forecasts[row]) == [y[t - 1]] * 4


def test_seasonal_naive_by_hand():
    y, period, horizon = series(), 6, 14
    origins = np.array([20, 33])
    forecasts = seasonal_naive_forecasts(y, origins, horizon, period)
    for row, t in enumerate(origins):
        for h in range(horizon):
            target = t + h
            back = target - period
            while back >= t:  # not observed yet: one more season back
                back -= period
            assert forecasts[row, h] == y[back]
    np.testing.assert_array_equal(
        seasonal_naive_forecasts(y, origins, 3, 1), naive_forecasts(y, origins, 3)
    )
    with pytest.raises(ValueError, match="less than one season"):
        seasonal_naive_forecasts(y, np.array([3]), 2, 6)


def test_arima_rolling_equals_a_fresh_forecast_from_each_origin():
    from statsmodels.tsa.arima.model import ARIMA

    y = series()
    origins, horizon = np.array([45, 48, 52]), 5
    result = arima_forecasts(y, origins, horizon, (1, 1, 0), fit_end=45)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = ARIMA(y[:45], order=(1, 1, 0), trend="n").fit()
        for row, t in enumerate(origins):
            expected = fitted.apply(y[:t]).forecast(horizon)
            np.testing.assert_allclose(result.forecasts[row], expected, rtol=1e-8)
    assert result.details()["fit_points"] == 45 and result.forecasts.shape == (3, 5)


def test_arima_log_and_seasonal_run():
    y = series(72)
    result = arima_forecasts(
        y, np.array([60, 61]), 6, (0, 1, 1), (0, 1, 1, 6), log=True, fit_end=60
    )
    assert result.forecasts.shape == (2, 6) and np.isfinite(result.forecasts).all()
    assert (
        abs(result.forecasts - y[[[60 + h for h in range(6)], [61 + h for h in range(6)]]]).mean()
        < 10
    )
    with pytest.raises(ValueError, match="after the first forecast origin"):
        arima_forecasts(y, np.array([50]), 3, (1, 0, 0), fit_end=55)
    with pytest.raises(ValueError, match="positive values"):
        arima_forecasts(y - 100, np.array([50]), 3, (1, 0, 0), log=True)


def test_errors_by_hand():
    scores = forecast_errors(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [3.0, 8.0]]))
    assert scores["mae"] == pytest.approx((1 + 2 + 0 + 4) / 4)
    assert scores["rmse"] == pytest.approx(np.sqrt((1 + 4 + 0 + 16) / 4))
    assert scores["mae_by_step"] == [0.5, 3.0]
