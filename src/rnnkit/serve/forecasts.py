"""The studio's Predict view for a forecasting run: the RNN's forecasts against the real series
and the baselines, on the run's test (or validation) part, and a forecast past the end.

    run = load_run("runs/forecast-airline")        # the task reopened on its series.json
    forecast(run, {"part": "test", "steps": 12}, cache={})

Everything comes from the forecast task's own calls (``ForecastTask.forecasts``, ``truth``,
``origins``; ``compute_baselines`` or the run's ``baselines.json``), as ``rnnkit evaluate``
and ``rnnkit forecast`` compute it, without writing their PNGs. The page draws the forecasts
from every H-th origin of the part (non-overlapping, covering it), as ``rnnkit evaluate``'s
plot does; the table's errors are over every origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.baselines.forecasting import forecast_errors
from rnnkit.data.series import future_labels
from rnnkit.tasks import lifecycle
from rnnkit.tasks.forecast import METHODS, TASK_NAME, ForecastTask, compute_baselines

MAX_STEPS = 500  # points a forecast past the end may ask for


@dataclass
class ForecastRun:
    """A forecasting run's task (on its own series) and its model, eval mode."""

    task: ForecastTask
    model: object
    checkpoint: str
    step: int


def load_run(run_dir: str | Path, checkpoint: str = "best") -> ForecastRun:
    opened = lifecycle.open_checkpoint(run_dir, checkpoint, TASK_NAME)
    task, model = lifecycle.reopen_model(opened)
    return ForecastRun(task, model, opened.checkpoint, opened.step)


def forecast(run: ForecastRun, body: dict, cache: dict) -> dict:
    """The view's numbers for ``body["part"]`` (``test``, the default, or ``val``) and a
    forecast of ``body["steps"]`` points past the end (default: the run's horizon). ``cache``
    keeps the baselines computed for a part (the validation part's are not in the run)."""
    task, model = run.task, run.model
    part, steps = body.get("part", "test"), body.get("steps", task.horizon)
    if part not in ("val", "test"):
        raise ValueError(f"part must be val or test, got {part!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer in 1..{MAX_STEPS}, got {steps!r}")
    origins, horizon, series = task.origins(part), task.horizon, task.series
    rnn = task.forecasts(model, origins)  # (N, H)
    methods = {"RNN": rnn, **_baselines(task, part, cache)}
    table = {name: forecast_errors(f, task.truth(part)) for name, f in methods.items()}
    shown = np.arange(0, len(origins), horizon)  # every H-th origin, as the PNG draws them
    start = task.split.bounds(part)[0]
    first = max(0, start - max(3 * series.period, 4 * horizon, 24))
    n = len(series.values)
    labels = series.times or [str(i) for i in range(n)]
    future = task.forecasts(model, np.array([n]), steps)[0]
    return {
        "data": series.name,
        "part": part,
        "horizon": horizon,
        "mode": task.mode,
        "first": first,
        "start": start,
        "labels": labels[first:],
        "values": _rounded(series.values[first:]),
        "origins": origins[shown].tolist(),
        "forecasts": {name: _rounded(f[shown]) for name, f in methods.items()},
        "table": {name: {k: float(s[k]) for k in ("mae", "rmse")} for name, s in table.items()},
        "future": {
            "labels": future_labels(series.times, series.step, steps, n),
            "values": _rounded(future),
        },
    }


def _baselines(task: ForecastTask, part: str, cache: dict) -> dict[str, np.ndarray]:
    """Each baseline's (N, H) forecasts from the origins of ``part``: the run's
    ``baselines.json`` for its part, else computed once (as ``rnnkit evaluate`` does)."""
    if not task.config.baselines.enabled:
        return {}
    if part not in cache:
        found = lifecycle.read_baselines(task.run_dir)
        cache[part] = found if found.get("part") == part else compute_baselines(task, part)
    found = cache[part]
    return {
        method.replace("_", " "): np.asarray(found[method]["forecasts"], dtype=np.float64)
        for method in METHODS
        if method in found
    }


def _rounded(values: np.ndarray) -> list:
    return np.round(np.asarray(values, dtype=np.float64), 6).tolist()
