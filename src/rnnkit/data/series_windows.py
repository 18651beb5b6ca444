"""Splits, scaling and windows for forecasting.

The split is chronological and fixed: the last ``test_size`` points are the test part, the
``val_size`` points before them the validation part, everything earlier the training part::

    y[0] ........................ y[val_start] ........ y[test_start] ........ y[n-1]
    |<------------- train -------------->|<---- val ---->|<-------- test -------->|

An *origin* ``t`` is the first point a forecast predicts; the window before it is the input::

    inputs  y[t-L], ..., y[t-1]         (L = window; may reach back into earlier parts)
    targets y[t],   ..., y[t+H-1]       (H = horizon; inside one part)

A part is scored over every origin whose H targets lie inside it: t = start, ...,
end - H, i.e. (part size - H + 1) forecasts of 1..H steps ahead. Training windows have their
targets inside the training part.

Scaling (``Scaler``) is fitted on the training part only: ``z = (T(y) - mean) / std`` with T
the identity or the natural log. With ``relative`` windows the value of the window's last
input, ``a = z[t-1]``, is subtracted from the inputs and the targets (and added back to the
forecast), so the network learns changes from the present level, not levels: this is what
lets it follow a trend beyond the range it saw in training (airline, co2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TRANSFORMS = ("none", "log")
PARTS = ("train", "val", "test")


@dataclass
class Scaler:
    """``z = (T(y) - mean) / std``, T identity or log; fitted on the training part only."""

    transform: str
    mean: float
    std: float

    @classmethod
    def fit(
        cls, train_values: np.ndarray, transform: str = "none", source: str = "the series"
    ) -> Scaler:
        """Fitted on ``train_values``; ``source`` (the series' file or name) names them in
        the error when log meets a value <= 0."""
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {transform!r}; allowed: {', '.join(TRANSFORMS)}")
        values = _apply(train_values, transform, source)
        std = float(values.std())
        return cls(transform, float(values.mean()), std if std > 0 else 1.0)

    def scale(self, values: np.ndarray, source: str = "the series") -> np.ndarray:
        return (_apply(values, self.transform, source) - self.mean) / self.std

    def unscale(self, scaled: np.ndarray) -> np.ndarray:
        values = np.asarray(scaled, dtype=np.float64) * self.std + self.mean
        return np.exp(values) if self.transform == "log" else values

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Scaler:
        return cls(values["transform"], float(values["mean"]), float(values["std"]))


def _apply(values: np.ndarray, transform: str, source: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if transform == "log":
        low = int(np.argmin(values))
        if values[low] <= 0:
            raise ValueError(
                f"{source}: transform log needs values > 0, but point {low + 1} of the series is "
                f"{values[low]:g}; use transform none, or shift the series above 0 first"
            )
        return np.log(values)
    return values


@dataclass(frozen=True)
class Split:
    """Where the validation and test parts start in a series of ``n`` points."""

    n: int
    val_start: int
    test_start: int

    @classmethod
    def last(cls, n: int, val_size: int, test_size: int, window: int, horizon: int) -> Split:
        """The last ``test_size`` points for test, the ``val_size`` before them for val;
        a ValueError when a part cannot hold one forecast or train has no window."""
        for name, size in (("val_size", val_size), ("test_size", test_size)):
            if size < horizon:
                raise ValueError(
                    f"{name} is {size} points, fewer than the horizon {horizon}; a part must "
                    "hold at least one forecast"
                )
        split = cls(n, n - val_size - test_size, n - test_size)
        if split.val_start - window - horizon + 1 < 1:
            raise ValueError(_too_short(n, val_size, test_size, window, horizon))
        return split

    def bounds(self, part: str) -> tuple[int, int]:
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}; allowed: {', '.join(PARTS)}")
        edges = {"train": (0, self.val_start), "val": (self.val_start, self.test_start)}
        return edges.get(part, (self.test_start, self.n))

    def origins(self, part: str, window: int, horizon: int) -> np.ndarray:
        """Every origin whose inputs exist and whose H targets lie inside ``part``."""
        start, end = self.bounds(part)
        return np.arange(max(start, window), end - horizon + 1, dtype=np.int64)

    def sizes(self) -> dict[str, int]:
        return {part: self.bounds(part)[1] - self.bounds(part)[0] for part in PARTS}


def default_sizes(n: int, horizon: int, fraction: float = 0.15) -> tuple[int, int]:
    """``(val_size, test_size)`` for a user's series: 15% each, at least one horizon."""
    size = max(horizon, int(round(fraction * n)))
    return size, size


SIZE_FLAGS = {
    "val_size": "--val-size",
    "test_size": "--test-size",
    "window": "--window",
    "horizon": "--horizon",
}


def split_series(
    n: int,
    window: int,
    horizon: int,
    val_size: int | None = None,
    test_size: int | None = None,
    flags: dict[str, str] | None = None,
) -> Split:
    """``Split.last`` of ``n`` points, with ``default_sizes`` for a part size left None.

    When the series is too short for the sizes, the ValueError names, for each size in
    ``flags`` (a size of ``SIZE_FLAGS`` -> the option that chose it, e.g. ``{"val_size":
    "--val-size"}``, or ``{"horizon": "--period"}`` where the horizon is the period), the
    largest value that fits with the others kept. None or empty (the user chose none of them):
    all four, under their own options.
    """
    sizes = {"val_size": val_size, "test_size": test_size, "window": window, "horizon": horizon}
    val, test = _part_sizes(n, sizes)
    if val + test + window + horizon > n:
        advice = _largest_that_fit(n, sizes, flags or SIZE_FLAGS)
        raise ValueError(f"{_too_short(n, val, test, window, horizon)}; {advice}")
    return Split.last(n, val, test, window, horizon)


def check_period(split: Split, period: int) -> None:
    """A ValueError naming ``--period`` when a season reaches back before the series from
    the first validation origin (the seasonal naive forecast needs the value ``period`` steps
    before each origin): the largest period that fits is the training part's length."""
    if period > split.val_start:
        raise ValueError(
            f"--period {period} is longer than the {split.val_start} points before the "
            f"validation part, so a forecast has no value one season back; the largest "
            f"--period that fits is {split.val_start}"
        )


def _part_sizes(n: int, sizes: dict) -> tuple[int, int]:
    """(validation, test) points: the sizes given, else ``default_sizes`` of the horizon."""
    val, test = default_sizes(n, sizes["horizon"])
    return sizes["val_size"] or val, sizes["test_size"] or test


def _fits(n: int, sizes: dict) -> bool:
    val, test = _part_sizes(n, sizes)
    horizon = sizes["horizon"]
    return min(val, test) >= horizon and val + test + sizes["window"] + horizon <= n


def _largest_that_fit(n: int, sizes: dict, flags: dict[str, str]) -> str:
    """For each size in ``flags`` that fits alone: "the largest --val-size that fits is 134"."""
    current = dict(zip(("val_size", "test_size"), _part_sizes(n, sizes), strict=True))
    current.update(window=sizes["window"], horizon=sizes["horizon"])
    fixes = []
    for size, flag in flags.items():
        lowest = 2 if flag == "--period" else 1  # --period 1: no season, and horizon 12
        for value in range(min(current[size] - 1, n), lowest - 1, -1):
            if _fits(n, {**sizes, size: value}):
                sets = " (it sets the horizon)" if flag == "--period" else ""
                fixes.append(f"the largest {flag} that fits is {value}{sets}")
                break
    if not fixes:
        options = " or ".join(flags.values())
        return f"no value of {options} alone fits; lower several, or give a longer series"
    return ", or ".join(fixes)


def _too_short(n: int, val_size: int, test_size: int, window: int, horizon: int) -> str:
    need = val_size + test_size + window + horizon
    return (
        f"the series has {n} points, too few for {val_size} validation and {test_size} test "
        f"points and one training window of {window} inputs and {horizon} targets "
        f"({need} points)"
    )


def anchors(scaled: np.ndarray, origins: np.ndarray, relative: bool) -> np.ndarray:
    """(N,) the value subtracted from each window: z[t - 1], or zeros."""
    origins = np.asarray(origins, dtype=np.int64)
    return scaled[origins - 1] if relative else np.zeros(len(origins))


def input_windows(scaled: np.ndarray, origins: np.ndarray, window: int) -> np.ndarray:
    """(N, L): z[t-L], ..., z[t-1] for each origin t."""
    origins = np.asarray(origins, dtype=np.int64)
    return scaled[origins[:, None] + np.arange(-window, 0)[None, :]]


def target_windows(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(N, H): y[t], ..., y[t+H-1] for each origin t."""
    origins = np.asarray(origins, dtype=np.int64)
    return values[origins[:, None] + np.arange(horizon)[None, :]]


def training_pairs(
    scaled: np.ndarray, origins: np.ndarray, window: int, horizon: int, mode: str, relative: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets of the training windows at ``origins``, float32, minus the anchor.

    direct: inputs (N, L) = z[t-L:t], targets (N, H) = z[t:t+H].
    recursive: the L + H values z[t-L:t+H] as next-value pairs, inputs (N, L+H-1) =
    z[t-L:t+H-1], targets (N, L+H-1) = z[t-L+1:t+H]; the forecast then reads the L inputs
    and continues for H steps, so training covers the steps it is used for.
    """
    shift = anchors(scaled, origins, relative)[:, None]  # (N, 1)
    span = input_windows(scaled, np.asarray(origins) + horizon, window + horizon) - shift
    if mode == "direct":
        inputs, targets = span[:, :window], span[:, window:]
    else:
        inputs, targets = span[:, :-1], span[:, 1:]
    return inputs.astype(np.float32), targets.astype(np.float32)
