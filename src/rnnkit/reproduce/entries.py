"""The project's published results, one ``Entry`` each: the command the docs quote, what it is
read back from, the range it should land in and its budget.

    entry = get_entries(["charlm-quick"])[0]     # rnnkit.reproduce.results
    entry.argv(scale=0.01, device="cpu")   # the command with its budget scaled, for a smoke run

A ``Metric`` is read back from what the run left (``rnnkit.reproduce.readback``):

- ``metrics``: the evaluation records of a ``metrics.jsonl`` (``path``, a glob under the
  entry's working directory), ``key`` reduced by ``reduce`` (``min``, ``max`` or ``last``);
- ``json``: a JSON file the run wrote (``path``), at ``key``;
- ``evaluate``: ``rnnkit evaluate RUN_DIR --json`` of the run directory ``path``, at ``key``;
- ``stdout``: the JSON object the command printed (only for a command whose figures no file
  holds), at ``key``.

A ``key`` is a path into the JSON, parts separated by ``/``, list items by their index
(``results/1/final_loss``). Adding a result (VQA, say) is one more ``Entry`` in ``ENTRIES``.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

from rnnkit.training.config import parse_duration

SOURCES = ("metrics", "json", "evaluate", "stdout")
REDUCTIONS = ("min", "max", "last")


@dataclass(frozen=True)
class Metric:
    """One figure of an entry: where it is read back from, and its expected range."""

    name: str  # what it is, for the table: "val nats/char"
    source: str  # one of SOURCES
    key: str
    low: float
    high: float
    quoted: str  # the figure as the docs quote it
    path: str = ""  # a glob under the entry's working directory (not for stdout)
    reduce: str = "last"  # for metrics: one of REDUCTIONS

    @property
    def expected(self) -> str:
        return f"{self.low:g} - {self.high:g}"

    def judge(self, value: float | None) -> bool:
        return value is not None and math.isfinite(value) and self.low <= value <= self.high


@dataclass(frozen=True)
class Entry:
    """A published result: ``command`` exactly as the docs quote it, the flag that bounds its
    work (``budget_flag`` with the value it has, given or by default: scaled by ``--scale``),
    ``budget_s`` the declared wall time of a full run on 2 CPU cores (training, data, test),
    the data sets to fetch first, and the page that quotes it."""

    name: str
    about: str
    command: str
    budget_flag: str  # --time-budget, --max-steps or --steps
    budget: str  # its value in the command, or the default when the command gives none
    budget_s: int
    metrics: tuple[Metric, ...]
    quoted_in: str
    fetch: tuple[str, ...] = ()
    device_flag: bool = True  # the command takes --device
    least: int = 1  # the fewest steps a scaled run may have and still yield every figure

    def argv(self, scale: float = 1.0, device: str | None = None) -> list[str]:
        """The command's words after ``rnnkit``: the budget times ``scale``, ``--device``
        appended where one is asked for and the command takes it."""
        words = shlex.split(self.command)[1:]
        if scale != 1.0:
            words = _without_flag(words, self.budget_flag)
            value = scaled_budget(self.budget_flag, self.budget, scale, self.least)
            words += [self.budget_flag, value]
        if device is not None and self.device_flag:
            words += ["--device", device]
        return words

    @property
    def fetch_command(self) -> str:
        return fetch_command(self.fetch)


def fetch_command(names) -> str:
    """``rnnkit data fetch A && rnnkit data fetch B``: the command that fetches ``names``."""
    return " && ".join(f"rnnkit data fetch {name}" for name in names)


def _without_flag(words: list[str], flag: str) -> list[str]:
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == flag:
            skip = True
        else:
            out.append(word)
    return out


def scaled_budget(flag: str, value: str, scale: float, least: int = 1) -> str:
    """``value`` of ``flag`` times ``scale``: a duration in seconds (``"3.5s"``), or a step
    count, at least ``least``."""
    if flag == "--time-budget":
        return f"{max(0.1, parse_duration(value) * scale):.3g}s"
    return str(max(least, round(int(value) * scale)))


def check_scale(scale: float) -> float:
    if not math.isfinite(scale) or scale <= 0 or scale > 1:
        raise ValueError(f"--scale takes a number in (0, 1], got {scale:g}")
    return scale
