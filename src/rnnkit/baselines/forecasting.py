"""Forecasting baselines, scored exactly as the RNN is: H-step forecasts from each origin.

An *origin* ``t`` is the first point to forecast: a forecaster may use ``y[:t]`` (every value
before ``t``) and predicts ``y[t], ..., y[t + H - 1]``. Each function returns an (N, H) array,
one row per origin, in the series' own units.

    naive            y^[t + h] = y[t - 1]                                  (the last value)
    seasonal naive   y^[t + h] = y[t + h - m * (h // m + 1)]               (one season ago,
                     m the period; h // m + 1 seasons back so that the value is before t)
    ARIMA            statsmodels' ARIMA (SARIMA with a seasonal order), fitted ONCE on
                     y[:fit_end] (train + val for the test split); for each origin the fitted
                     model, its parameters fixed, is run over y[:t] and forecasts H steps
                     (``results.apply`` to the series, then a dynamic prediction from ``t``,
                     which is the same forecast as ``results.apply(y[:t]).forecast(H)``)
"""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass

import numpy as np


def naive_forecasts(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The last value before each origin, repeated ``horizon`` times: (N, H)."""
    origins = np.asarray(origins, dtype=np.int64)
    return np.repeat(values[origins - 1][:, None], horizon, axis=1)


def seasonal_naive_forecasts(
    values: np.ndarray, origins: np.ndarray, horizon: int, period: int
) -> np.ndarray:
    """The value one season (``period`` steps) before each target, going back whole seasons
    until the value lies before the origin: (N, H). Period 1 is the naive forecast."""
    origins = np.asarray(origins, dtype=np.int64)
    h = np.arange(horizon)
    back = period * (h // period + 1)  # (H,)
    index = origins[:, None] + h[None, :] - back[None, :]  # (N, H)
    if index.size and index.min() < 0:
        raise ValueError(f"an origin is less than one season ({period} steps) into the series")
    return values[index]


@dataclass
class ArimaResult:
    forecasts: np.ndarray  # (N, H)
    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    log: bool
    fit_points: int
    aic: float
    seconds: float

    def details(self) -> dict:
        return {
            "order": list(self.order),
            "seasonal_order": list(self.seasonal_order),
            "log": self.log,
            "fit_points": self.fit_points,
            "aic": self.aic,
            "fit_seconds": self.seconds,
        }


def arima_forecasts(
    values: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    order: tuple[int, int, int],
    seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0),
    log: bool = False,
    fit_end: int | None = None,
) -> ArimaResult:
    """ARIMA forecasts from each origin (module docstring); fitted on ``values[:fit_end]``
    (default: up to the first origin). ``log``: model log(y) and return exp of its forecast
    (the median forecast of y; the values must be positive)."""
    from statsmodels.tsa.arima.model import ARIMA

    origins = np.asarray(origins, dtype=np.int64)
    fit_end = int(origins.min()) if fit_end is None else fit_end
    if fit_end > origins.min():
        raise ValueError("ARIMA would be fitted on values after the first forecast origin")
    series = np.asarray(values, dtype=np.float64)
    if log:
        if series.min() <= 0:
            raise ValueError("a log ARIMA needs positive values; this series has values <= 0")
        series = np.log(series)
    trend = "c" if order[1] == 0 and seasonal_order[1] == 0 else "n"
    started = time.perf_counter()
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")  # convergence and frequency warnings of statsmodels
        model = ARIMA(series[:fit_end], order=order, seasonal_order=seasonal_order, trend=trend)
        fitted = model.fit()
        extended = fitted.apply(series[: int(origins.max()) + horizon])
        rows = [
            extended.get_prediction(start=t, end=t + horizon - 1, dynamic=True).predicted_mean
            for t in origins
        ]
    forecasts = np.array(rows, dtype=np.float64).reshape(len(origins), horizon)
    if log:
        forecasts = np.exp(forecasts)
    return ArimaResult(
        forecasts,
        tuple(order),
        tuple(seasonal_order),
        log,
        fit_end,
        float(fitted.aic),
        time.perf_counter() - started,
    )


def _one_blas_thread():
    """One BLAS thread while statsmodels fits: its matrices are tiny, and on a shared 2-core
    machine two OpenBLAS threads spinning on each other made a SARIMA fit 15x slower here
    (24 s against 1.6 s)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, fit as configured
        return contextlib.nullcontext()
    return threadpool_limits(1)


def forecast_errors(forecasts: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """MAE and RMSE over every origin and every step ahead, and MAE per step ahead."""
    error = np.asarray(forecasts, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "mae_by_step": [float(v) for v in np.abs(error).mean(axis=0)],
    }
