"""What ``rnnkit reproduce`` prints: the list of entries, and the table of a run."""

from __future__ import annotations

import math

from rnnkit.reproduce.entries import Entry
from rnnkit.reproduce.runner import Row

SMOKE = "smoke run (--scale {scale:g}): no quality judgement"


def list_lines(entries: list[Entry]) -> list[str]:
    """Each entry: what it measures, its command, its figures with their expected ranges,
    its budget and the data to fetch first."""
    lines = []
    for entry in entries:
        lines += [f"{entry.name}: {entry.about}", f"    {entry.command}"]
        for metric in entry.metrics:
            lines.append(f"    {metric.name}: expected {metric.expected} (quoted {metric.quoted})")
        needs = f"; needs `{entry.fetch_command}` first" if entry.fetch else ""
        lines.append(f"    budget {minutes(entry.budget_s)}; quoted in {entry.quoted_in}{needs}")
    total = sum(entry.budget_s for entry in entries)
    lines.append(f"{len(entries)} entries, {minutes(total)} in all on 2 CPU cores")
    return lines


def table_lines(rows: list[Row], machine: dict, scale: float) -> list[str]:
    """The measured figures beside the expected ranges, the machine, and a smoke run said."""
    flags = ", ".join(machine["cpu_flags"]) or "none of " + "/".join(("avx2", "avx512", "amx"))
    lines = [
        f"machine: {machine['cpu']} ({machine['cores']} cores; {flags}), device "
        f"{machine['device']}, torch {machine['torch']}, Python {machine['python']}"
    ]
    if scale != 1.0:
        lines.append(SMOKE.format(scale=scale))
    header = ("entry", "figure", "measured", "expected", "verdict", "time")
    table = [header] + [
        (
            row.entry,
            row.metric,
            "-" if row.value is None else f"{row.value:.4g}",
            row.expected,
            row.verdict,
            f"{row.seconds:.0f} s",
        )
        for row in rows
    ]
    widths = [max(len(line[k]) for line in table) for k in range(len(header))]
    for line in table:
        cells = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    lines += [f"{row.entry}: {row.metric}: {row.error}" for row in rows if row.error]
    passed = sum(row.verdict in ("pass", "smoke") for row in rows)
    lines.append(f"{passed} of {len(rows)} figures {'read' if scale != 1.0 else 'in range'}")
    return lines


def minutes(seconds: float) -> str:
    """``seconds`` in whole minutes, a half rounded up (150 s: "3 min"), as the docs give
    the budgets."""
    return f"{math.floor(seconds / 60 + 0.5)} min"
