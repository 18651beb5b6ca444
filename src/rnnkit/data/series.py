"""Real-valued time series for forecasting: three fetched sets and a user's CSV.

    series = load_series("airline")          # after `rnnkit data fetch airline`
    series.values[:3], series.times[:3]      # [112. 118. 132.], ['1949-01', '1949-02', ...]
    series.period                            # 12: monthly, one season is a year

    name      from (``rnnkit data fetch ...``)                  points  step    period
    sunspots  statsmodels: yearly mean sunspot number 1700-2008   309   year      11
    co2       statsmodels: Mauna Loa CO2 (ppm), weekly 1958-2001  526   month     12
              -> monthly means (see below)
    airline   sktime: airline passengers (thousands) 1949-1960    144   month     12
    FILE.csv  a UTF-8 CSV: one value column, or a time column then a value column; a header
              line is optional (it is recognised by a value that is not a number)

**co2** is weekly with 59 missing weeks. It is resampled to calendar-month means of the
weeks that have a value (the usual practice for this series, as in statsmodels' examples):
526 months from 1958-03 to 2001-12. Five months have no weekly value at all (1958-06,
1958-10, 1964-02 to 1964-04); they are filled by linear interpolation between the
neighbouring months, and the card records which.

**The period** (what the seasonal-naive baseline calls a season): 12 for the monthly sets.
For **sunspots** it is 11, the mean length of the Schwabe solar cycle. This is not a
calendar season: the cycle runs from 9 to 14 years, so "the value 11 years ago" is a rough
guide, and the ARIMA baseline for sunspots is therefore non-seasonal (its AR terms model the
cycle). 11 is the conventional choice for sunspots' seasonal naive; with period 1 the
seasonal naive forecast would just repeat the naive one.

A user's CSV has no period unless one is given (``period=``; 1 means no seasonality).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.archives import file_sha256
from rnnkit.data.corpora import dataset_path, fetched_card
from rnnkit.data.text_files import CsvReader, csv_field_limit, decode_text

MIN_POINTS = 8  # a user's file needs at least this many values


@dataclass
class Series:
    """One real-valued series in time order."""

    name: str
    values: np.ndarray  # (n,) float64
    times: list[str] | None  # a label per point (a year, "YYYY-MM", a date), or None
    period: int  # one season, in steps (1: no seasonality)
    step: str  # "year", "month" or "" (unknown: a user's file)
    card: dict  # where it came from: package, version, file, sha256, licence, fills

    def to_dict(self) -> dict:
        """Everything but the card, as plain JSON (a run's ``series.json``)."""
        return {
            "name": self.name,
            "values": [float(v) for v in self.values],
            "times": self.times,
            "period": self.period,
            "step": self.step,
        }

    @classmethod
    def from_dict(cls, values: dict, card: dict) -> Series:
        array = np.array(values["values"], dtype=np.float64)
        return cls(
            values["name"], array, values["times"], int(values["period"]), values["step"], card
        )

    def fingerprint(self) -> str:
        """sha256 over the values, the time labels and the period."""
        digest = hashlib.sha256(np.ascontiguousarray(self.values, dtype=np.float64).tobytes())
        digest.update(json.dumps([self.times, self.period]).encode("utf-8"))
        return digest.hexdigest()


@dataclass(frozen=True)
class NamedSeries:
    dataset: str  # the name ``rnnkit data fetch`` takes
    file: str
    period: int
    step: str
    description: str


SERIES_SETS = {
    "sunspots": NamedSeries(
        "sunspots", "sunspots.csv", 11, "year", "yearly mean sunspot number, 1700-2008"
    ),
    "co2": NamedSeries(
        "co2", "co2.csv", 12, "month", "Mauna Loa CO2 in ppm, monthly means 1958-03 to 2001-12"
    ),
    "airline": NamedSeries(
        "airline", "Airline.csv", 12, "month", "airline passengers in thousands, 1949-1960"
    ),
}


def load_series(name_or_path: str, *, period: int | None = None, cache: Path | None = None):
    """A named series (module docstring) or a user's ``.csv`` file, as a ``Series``.

    ``period`` replaces the named set's season length (a user's file: default 1).
    """
    if period is not None and (isinstance(period, bool) or not isinstance(period, int)):
        raise ValueError(f"period must be a positive integer, got {period!r}")
    if period is not None and period < 1:
        raise ValueError(f"period must be a positive integer, got {period}")
    name_or_path = str(name_or_path)
    if name_or_path in SERIES_SETS:
        series = _load_named(name_or_path, cache)
    else:
        path = Path(name_or_path).expanduser()
        if not path.is_file() or path.suffix.lower() != ".csv":
            problem = "is not a .csv file" if path.is_file() else "is neither a data set nor a file"
            raise ValueError(
                f"{name_or_path!r} {problem}; a series is one of {', '.join(SERIES_SETS)} or a "
                "UTF-8 .csv file with one value column (or a time column, then a value column)"
            )
        times, values = read_series_csv(path)
        card = {"source": "user file", "file": str(path), "file_sha256": file_sha256(path)}
        series = Series(path.name, values, times, 1, "", card)
    if period is not None:
        series.period = period
    series.card["points"] = len(series.values)
    series.card["period"] = series.period
    return series


def read_series_csv(path: str | Path) -> tuple[list[str] | None, np.ndarray]:
    """``(times or None, values)`` of a user's CSV (module docstring); a ValueError names the
    line of the first problem."""
    path = Path(path)
    rows = _csv_rows(path)
    while rows and not rows[-1][1]:
        rows.pop()  # blank lines (or lines of spaces) at the end of the file are allowed
    if not rows:
        raise ValueError(f"{path} is empty; expected one value a line (optionally time,value)")
    first, width = next((number, len(row)) for number, row in rows if row)
    if width not in (1, 2):
        raise ValueError(
            f"{path}, line {first}: {width} columns; expected one (value) or two (time,value)"
        )
    rows = [(number, row or [""] * width) for number, row in rows]  # a blank line: empty values
    if _is_header(rows[0][1][-1]):
        rows = rows[1:]
    times, values = [], []
    for number, row in rows:
        if len(row) != width:
            raise ValueError(
                f"{path}, line {number}: {len(row)} column(s), but the file started with {width}"
            )
        value = _number(row[-1])
        if value is None:
            what = "an empty value" if not row[-1].strip() else f"{row[-1].strip()!r}"
            raise ValueError(
                f"{path}, line {number}: {what} is not a number; every line needs a finite "
                "value (fill or drop missing ones before forecasting)"
            )
        if width == 2:
            times.append(row[0].strip())
        values.append(value)
    if len(values) < MIN_POINTS:
        raise ValueError(
            f"{path} has {len(values)} values; forecasting needs at least {MIN_POINTS}"
        )
    return (times if width == 2 else None), np.array(values, dtype=np.float64)


def read_sunspots(path: Path) -> tuple[list[str], np.ndarray]:
    """statsmodels' ``sunspots.csv``: ``"YEAR","SUNACTIVITY"``, one row a year."""
    rows = _numeric_rows(path, 2)
    return [str(int(year)) for year, _ in rows], np.array([v for _, v in rows], dtype=np.float64)


def read_airline(path: Path) -> tuple[list[str], np.ndarray]:
    """sktime's ``Airline.csv``: ``Date,Passengers`` with dates ``YYYY-MM``."""
    times, values = read_series_csv(path)
    if times is None:
        raise ValueError(f"{path} has no Date column; is it sktime's Airline.csv?")
    return times, values


def read_co2_monthly(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """statsmodels' weekly ``co2.csv`` (``date,co2`` with dates ``YYYYMMDD``, some values
    empty) as calendar-month means; returns ``(months, values, filled months)``."""
    sums: dict[tuple[int, int], list[float]] = {}
    with open(path, encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for number, row in enumerate(reader, 2):
            if len(row) != 2 or len(row[0]) != 8 or not row[0].isdigit():
                raise ValueError(f"{path}, line {number}: expected YYYYMMDD,value, got {row}")
            month = (int(row[0][:4]), int(row[0][4:6]))
            total = sums.setdefault(month, [0.0, 0])
            if row[1].strip():
                total[0] += float(row[1])
                total[1] += 1
    first, last = min(sums), max(sums)
    months = []
    year, month = first
    while (year, month) <= last:
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    values = np.array(
        [sums[m][0] / sums[m][1] if sums.get(m, [0, 0])[1] else np.nan for m in months]
    )
    missing = np.isnan(values)
    known = np.flatnonzero(~missing)
    values[missing] = np.interp(np.flatnonzero(missing), known, values[known])
    labels = [f"{y:04d}-{m:02d}" for y, m in months]
    return labels, values, [labels[i] for i in np.flatnonzero(missing)]


def future_labels(times: list[str] | None, step: str, count: int, start: int) -> list[str]:
    """Labels of the ``count`` points after the series' end: the next years or months when
    the times are years (``1999``) or months (``1999-12``), else ``t+1``, ``t+2``, ... after
    index ``start - 1``."""
    last = times[-1] if times else None
    if last is not None and last.isdigit() and step in ("year", ""):
        return [str(int(last) + k) for k in range(1, count + 1)]
    if last is not None and len(last) == 7 and last[4] == "-" and last.replace("-", "").isdigit():
        year, month = int(last[:4]), int(last[5:])
        labels = []
        for _ in range(count):
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            labels.append(f"{year:04d}-{month:02d}")
        return labels
    return [str(start + k) for k in range(count)]


def _load_named(name: str, cache: Path | None) -> Series:
    named = SERIES_SETS[name]
    path = dataset_path(named.dataset, cache) / named.file  # says how to fetch it
    if not path.is_file():
        raise ValueError(
            f"{path} is missing from the fetched data set {name}; fetch it again with "
            f"`rnnkit data fetch {name} --force`"
        )
    card = _named_card(name, named, cache)
    if name == "sunspots":
        times, values = read_sunspots(path)
    elif name == "airline":
        times, values = read_airline(path)
    else:
        times, values, filled = read_co2_monthly(path)
        card["resampled"] = "calendar-month means of the weekly values"
        card["filled_by_linear_interpolation"] = filled
    return Series(name, values, times, named.period, named.step, card)


def _named_card(name: str, named: NamedSeries, cache: Path | None) -> dict:
    return fetched_card(name, named.description, named.dataset, [named.file], cache)


def _numeric_rows(path: Path, width: int) -> list[tuple[float, ...]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if number == 1 or not row:
                continue
            parsed = [_number(cell) for cell in row]
            if len(row) != width or any(value is None for value in parsed):
                raise ValueError(f"{path}, line {number}: expected {width} numbers, got {row}")
            rows.append(tuple(parsed))
    return rows


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """``(line, row)`` of each CSV row of a UTF-8 file (a leading byte-order mark dropped),
    ``line`` being where the row starts; a blank line (or one of spaces) is the row ``[]``."""
    text = decode_text(path.read_bytes(), str(path))
    reader = CsvReader(text, str(path))  # rows end at \n, \r\n or \r only
    rows, line = [], 1  # line: where the next row starts
    with csv_field_limit(text):
        try:
            for row in reader:
                blank = len(row) <= 1 and not "".join(row).strip()
                rows.append((line, [] if blank else row))
                line = reader.line_num + 1
        except csv.Error as error:
            where = max(reader.line_num, 1)
            raise ValueError(f"{path}, line {where}: cannot be read as CSV ({error})") from None
    return rows


def _is_header(cell: str) -> bool:
    """A first line whose value cell is text, not a number (and not empty)."""
    try:
        float(cell)
    except ValueError:
        return bool(cell.strip())
    return False


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
