"""The configuration of a forecasting run (``rnnkit train forecast``).

    config = resolve_config({"data.dataset": "airline", "model.mode": "recursive"})

Defaults (the dataclasses below), then the data set's defaults (``DATASET_DEFAULTS``, for
the fields left None), then overrides with dotted keys (the CLI's flags); the resolved
configuration is written to ``config.json`` in the run directory.

The named sets' defaults, and why:

    set       window  horizon  val  test  transform  ARIMA baseline
    airline     24      12     24    24     log      (0,1,1)(0,1,1)_12 on log y: Box and
                                                      Jenkins' "airline model"
    co2         36      12     60    60     none     (0,1,1)(0,1,1)_12
    sunspots    33      11     44    44     none     AR(9) with a constant: the lowest AIC
                                                      among AR(2), AR(3), AR(9), ARMA(2,1),
                                                      ARMA(3,1), ARMA(2,2) fitted on
                                                      1700-1964

Horizons of one season (one solar cycle for sunspots); test parts of two seasons (airline:
1959-1960, 13 origins), five years (co2: 1997-2001, 49 origins) or four cycles (sunspots:
1965-2008, 34 origins). A user's CSV: window 24, horizon 12 (or
the period, when one is given), 15% validation and 15% test, ARIMA(1,1,1), or
(0,1,1)(0,1,1)_m when a period m > 1 is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.data.series_windows import SIZE_FLAGS, TRANSFORMS
from rnnkit.models.forecaster import ForecasterConfig
from rnnkit.options import option
from rnnkit.training.config import (
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainerConfig,
    apply_overrides,
)

DATASET_DEFAULTS = {
    "airline": {
        "data.window": 24,
        "data.horizon": 12,
        "data.val_size": 24,
        "data.test_size": 24,
        "data.transform": "log",
        "baselines.arima_order": (0, 1, 1),
        "baselines.arima_seasonal_order": (0, 1, 1, 12),
        "baselines.arima_log": True,
    },
    "co2": {
        "data.window": 36,
        "data.horizon": 12,
        "data.val_size": 60,
        "data.test_size": 60,
        "baselines.arima_order": (0, 1, 1),
        "baselines.arima_seasonal_order": (0, 1, 1, 12),
    },
    "sunspots": {
        "data.window": 33,
        "data.horizon": 11,
        "data.val_size": 44,
        "data.test_size": 44,
        "baselines.arima_order": (9, 0, 0),
        "baselines.arima_seasonal_order": (0, 0, 0, 0),
    },
}
FILE_DEFAULTS = {"data.window": 24, "data.transform": "none"}


@dataclass
class ForecastDataConfig:
    """Which series, and how it is cut into windows.

    ``dataset``: sunspots, co2, airline, or a CSV file. ``period``: the season length of a
    user's file (None: the named set's; 1 for a file). ``window`` (L): inputs a forecast
    reads; ``horizon`` (H): steps it predicts. ``val_size`` / ``test_size``: points in the
    validation and test parts (None: by data set). ``transform``: none or log (before
    scaling). ``relative``: subtract each window's last value (see
    ``rnnkit.data.series_windows``).
    """

    dataset: str = option(
        "airline", "sunspots, co2, airline, FILE.csv", metavar="NAME|FILE", required=True
    )
    period: int | None = option(None, "season length", metavar="M", minimum=1, none="by data set")
    window: int | None = option(None, "input steps", metavar="L", minimum=1, none="by data set")
    horizon: int | None = option(None, "steps forecast", metavar="H", minimum=1, none="by data set")
    val_size: int | None = option(None, "validation points", minimum=1, none="by data set")
    test_size: int | None = option(None, "test points", minimum=1, none="by data set")
    transform: str | None = option(None, "before scaling", choices=TRANSFORMS, none="by data set")
    relative: bool = option(True, "subtract each window's last value")
    batch_size: int = option(32, metavar="B", minimum=1)

    def validate(self) -> None:
        if self.transform is not None and self.transform not in TRANSFORMS:
            raise ValueError(
                f"unknown transform {self.transform!r}; allowed: {', '.join(TRANSFORMS)}"
            )


@dataclass
class ForecastBaselinesConfig:
    """Whether to compute the baselines, and the ARIMA model (None: by data set)."""

    enabled: bool = option(True, "naive, seasonal naive and ARIMA", name="baselines")
    arima: bool = option(True, "the ARIMA baseline (--no-arima: the other two only)")
    arima_order: tuple[int, int, int] | None = None
    arima_seasonal_order: tuple[int, int, int, int] | None = None
    arima_log: bool = False

    def validate(self) -> None:
        for name in ("arima_order", "arima_seasonal_order"):
            value = getattr(self, name)
            if value is not None and any(v < 0 for v in value):
                raise ValueError(f"{name} must hold integers >= 0, got {value}")


@dataclass
class ForecastTrainerConfig(TrainerConfig):
    """``TrainerConfig`` with fp32 only: a forecaster this small gains nothing from bf16, so
    ``--precision`` is not one of the task's flags."""

    precision: str = "fp32"


def _trainer_defaults() -> ForecastTrainerConfig:
    # one torch thread: the model is tiny, and two threads spinning on a shared 2-core machine
    # made a step 30x slower here (8 ms -> 300 ms)
    return ForecastTrainerConfig(time_budget=180.0, eval_every=100, log_every=50, threads=1)


@dataclass
class ForecastConfig(RunConfig):
    """Everything a forecasting run needs; ``config.json`` holds it, resolved."""

    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    model: ForecasterConfig = field(default_factory=ForecasterConfig)
    optimizer: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=3e-3))
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    trainer: ForecastTrainerConfig = field(default_factory=_trainer_defaults)
    baselines: ForecastBaselinesConfig = field(default_factory=ForecastBaselinesConfig)


def resolve_config(overrides: dict | None = None) -> ForecastConfig:
    """The defaults, the data set's defaults, then ``overrides`` (dotted keys), validated."""
    overrides = dict(overrides or {})
    config = apply_overrides(ForecastConfig(), overrides)
    dataset = config.data.dataset
    defaults = dict(DATASET_DEFAULTS.get(dataset, FILE_DEFAULTS))
    if dataset not in DATASET_DEFAULTS:
        period = config.data.period or 1
        defaults["data.horizon"] = period if period > 1 else 12
        seasonal = period > 1
        defaults["baselines.arima_order"] = (0, 1, 1) if seasonal else (1, 1, 1)
        defaults["baselines.arima_seasonal_order"] = (0, 1, 1, period) if seasonal else (0,) * 4
    unset = {
        key: value
        for key, value in defaults.items()
        if key not in overrides and _get(config, key) in (None, False)
    }
    return apply_overrides(config, unset).validate()


def size_flags(config: ForecastConfig) -> dict[str, str]:
    """The split sizes (``SIZE_FLAGS``) set by an option rather than by the data set's
    defaults, each with that option: a file's horizon that is its ``--period`` is
    ``--period``. What a split too long for the series names (``split_series``)."""
    d = config.data
    given = {"data.dataset": d.dataset, **({"data.period": d.period} if d.period else {})}
    defaults = resolve_config(given).data
    flags = {
        size: flag
        for size, flag in SIZE_FLAGS.items()
        if getattr(d, size) != getattr(defaults, size)
    }
    if "horizon" not in flags and d.dataset not in DATASET_DEFAULTS and (d.period or 1) > 1:
        flags["horizon"] = "--period"
    return flags


def _get(config, key: str):
    section, name = key.split(".")
    return getattr(getattr(config, section), name)
