"""``rnnkit reproduce``: run the project's published results and check them.

    rnnkit reproduce --list                        # entries, commands, expected ranges (--json)
    rnnkit reproduce                               # every entry (budgets: 103 min on 2 cores)
    rnnkit reproduce charlm-quick names            # some of them
    rnnkit reproduce --scale 0.02 --json           # a smoke run: budgets x 0.02, not judged

Each entry runs its documented command (``python -m rnnkit ...``) in ``RUNS_DIR/ENTRY``, its
figures are read back from the run's files (or ``rnnkit evaluate --json``) and set beside
the expected range: pass or fail, the time taken, and the machine (CPU model and flags,
device, torch version). Exit code 1 when a figure is out of its range or missing. Entries
whose data must be fetched say so in --list (``rnnkit data fetch NAME`` caches it once).
Ctrl-C or SIGTERM stops the entry running (it saves its run), writes the table so far and
exits with 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from rnnkit.cli.args import add_device_flag, command


def register(subparsers) -> None:
    parser = command(
        subparsers,
        "reproduce",
        __doc__,
        help="run the published results and check them against their expected ranges",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="entries (default: all; see --list)"
    )
    parser.add_argument("--list", action="store_true", help="show the entries and exit")
    parser.add_argument(
        "--scale", type=float, default=1.0, metavar="F", help="budgets times F, 0 < F <= 1"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON object")
    parser.add_argument(
        "--runs-dir", metavar="DIR", help="where the runs go (default: runs/reproduce-<time>)"
    )
    add_device_flag(parser)
    parser.set_defaults(func=reproduce_command)


def reproduce_command(args: argparse.Namespace) -> int:
    from rnnkit.data.atomic import atomic_write_text
    from rnnkit.reproduce.entries import check_scale
    from rnnkit.reproduce.report import list_lines, table_lines
    from rnnkit.reproduce.results import get_entries
    from rnnkit.reproduce.runner import INTERRUPTED, RESULTS, machine, run_entries
    from rnnkit.training.run_dir import default_run_dir

    entries = get_entries(args.names)
    scale = check_scale(args.scale)
    if args.list:
        listed = [asdict(entry) for entry in entries]
        print(json.dumps(listed) if args.json else "\n".join(list_lines(entries)))
        return 0
    where = machine(args.inference_device)  # an unavailable device: refused before any run
    device = None if args.inference_device == "auto" else args.inference_device
    runs_dir = args.runs_dir or default_run_dir("reproduce")

    def show(row) -> None:
        print(f"{row.entry}: {row.metric} = {row.value} ({row.verdict})", file=sys.stderr)

    rows = run_entries(entries, runs_dir, scale, device, on_row=show)
    result = {
        "machine": where,
        "scale": scale,
        "judged": scale == 1.0,
        "rows": [row.to_json() for row in rows],
    }
    atomic_write_text(f"{runs_dir}/{RESULTS}", json.dumps(result, indent=1) + "\n")
    print(json.dumps(result) if args.json else "\n".join(table_lines(rows, where, scale)))
    stopped = [row.entry for row in rows if row.verdict == INTERRUPTED]
    if stopped:
        ran = {row.entry for row in rows}
        not_run = [entry.name for entry in entries if entry.name not in ran]
        rest = f"; not run: {', '.join(not_run)}" if not_run else ""
        print(f"rnnkit reproduce: interrupted during {stopped[0]}{rest}", file=sys.stderr)
        return 130
    return 0 if all(row.verdict in ("pass", "smoke") for row in rows) else 1
