"""A small seasonal series with a trend, as a CSV file, and a tiny forecasting configuration."""

import numpy as np

from rnnkit.tasks.forecast_config import resolve_config


def seasonal_values(n=96, period=12, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 0.8 * t + 10 * np.sin(2 * np.pi * t / period) + rng.normal(0, 1.5, n)


def write_series_csv(path, n=96):
    """``month,value`` rows from 2000-01, with a header."""
    lines = ["month,value"]
    for k, value in enumerate(seasonal_values(n)):
        lines.append(f"{2000 + k // 12}-{k % 12 + 1:02d},{value:.3f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_overrides(csv_path, **more):
    values = {
        "data.dataset": str(csv_path),
        "data.period": 12,
        "data.window": 12,
        "data.horizon": 4,
        "data.val_size": 12,
        "data.test_size": 12,
        "data.batch_size": 8,
        "model.hidden_size": 8,
        "trainer.max_steps": 12,
        "trainer.time_budget": None,
        "trainer.eval_every": 4,
        "trainer.log_every": 2,
        "trainer.tensorboard": False,
        "baselines.arima": False,
    }
    return {**values, **more}


def tiny_config(csv_path, **more):
    return resolve_config(tiny_overrides(csv_path, **more))
