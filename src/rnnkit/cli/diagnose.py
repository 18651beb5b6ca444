"""``rnnkit diagnose gradients``: gradient flow through time, W_hh spectra, gate saturation.

    rnnkit diagnose gradients --cells rnn,irnn,lstm,gru --seq-len 200    # fresh cores
    rnnkit diagnose gradients runs/charlm-lstm                           # a trained run
    rnnkit diagnose gradients --cells rnn,lstm --json                    # one JSON object

Writes gradients.png (log10 gradient norm against distance back in time, one curve per cell
and layer, dashed for an LSTM's cell state) and gradients.json into --out (default
runs/diagnose-gradients-<time>/, or RUN_DIR/plots/ for a run), and prints a table.
See docs/diagnostics.md.
"""

from __future__ import annotations

import argparse
import json
import math

from rnnkit.cli.args import add_device_flag, command
from rnnkit.cli.numbers import seed
from rnnkit.models.recurrent import describe_cells
from rnnkit.training.run_dir import CHECKPOINT_NAMES

FRESH_ONLY = ("cells", "hidden_size", "input_size", "layers", "seed")
RUN_ONLY = ("checkpoint",)  # flags of a trained run (RUN_DIR), refused with --cells
DISTANCES = (0, 10, 50, 100)
DEFAULTS = {"hidden_size": 128, "layers": 1, "seed": 0}


def register(subparsers) -> None:
    diagnose = command(
        subparsers,
        "diagnose",
        __doc__,
        help="make the learning problem visible: gradient flow through time and more",
    )
    diagnose.set_defaults(func=_no_diagnostic)
    kinds = diagnose.add_subparsers(dest="diagnostic", metavar="DIAGNOSTIC")
    gradients = command(
        kinds,
        "gradients",
        __doc__,
        help="gradient norm against distance back in time, W_hh spectra, gate saturation",
    )
    gradients.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a trained charlm run")
    gradients.add_argument(
        "--cells",
        help=f"fresh cores instead of a run, e.g. rnn,irnn,lstm,gru; from {describe_cells()}",
    )
    gradients.add_argument("--seq-len", type=int, default=200, metavar="T", help="(default 200)")
    gradients.add_argument("--batch-size", type=int, default=16, metavar="N", help="(default 16)")
    gradients.add_argument(
        "--loss",
        default="last",
        metavar="last|sum",
        help="the loss at the last step only (default) or summed over every step",
    )
    fresh = gradients.add_argument_group("fresh cores (--cells)")
    fresh.add_argument("--hidden-size", type=int, metavar="H", help="(default 128)")
    fresh.add_argument("--input-size", type=int, metavar="D", help="(default: the hidden size)")
    fresh.add_argument("--layers", type=int, metavar="L", help="(default 1)")
    fresh.add_argument("--seed", type=seed, help="weights, inputs and readout (default 0)")
    gradients.add_argument(
        "--checkpoint", choices=CHECKPOINT_NAMES, help="a run's checkpoint (default: best)"
    )
    gradients.add_argument("--out", metavar="DIR", help="where gradients.png/.json go")
    gradients.add_argument("--json", action="store_true", help="print one JSON object")
    add_device_flag(gradients)
    gradients.set_defaults(func=gradients_command)


def _no_diagnostic(args: argparse.Namespace) -> int:
    raise ValueError("name a diagnostic: rnnkit diagnose gradients (see rnnkit diagnose --help)")


def gradients_command(args: argparse.Namespace) -> int:
    from rnnkit.diagnostics.gradients import gradients_for_cells
    from rnnkit.tasks.charlm_gradients import gradients_for_run

    if (args.run_dir is None) == (args.cells is None):
        raise ValueError(
            "give either a RUN_DIR (a trained run) or --cells NAMES (fresh cores), not "
            + ("both" if args.run_dir else "neither")
        )
    common = {"out": args.out, "seq_len": args.seq_len, "batch_size": args.batch_size}
    common["loss"] = args.loss
    if args.run_dir is not None:
        _refuse(args, FRESH_ONLY, "fresh cores (--cells), not to a trained run")
        checkpoint = args.checkpoint or "best"
        report = gradients_for_run(args.run_dir, checkpoint=checkpoint, **common)
    else:
        _refuse(args, RUN_ONLY, "a trained run (RUN_DIR), not to fresh cores")
        report = gradients_for_cells(
            args.cells,
            hidden_size=_default(args.hidden_size, "hidden_size"),
            input_size=args.input_size,
            num_layers=_default(args.layers, "layers"),
            seed=_default(args.seed, "seed"),
            **common,
        )
    if args.json:
        print(json.dumps(report))
    else:
        print(format_table(report))
        print(f"plot: {report['plot']}  (numbers: {report['report']})")
    return 0


def _refuse(args: argparse.Namespace, names: tuple[str, ...], applies_to: str) -> None:
    """A ValueError naming the flags among ``names`` that were given, and what they apply to."""
    given = [name for name in names if getattr(args, name) is not None]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ValueError(f"{flags} appl(ies) to {applies_to}")


def _default(value, name: str):
    return DEFAULTS[name] if value is None else value


def format_table(report: dict) -> str:
    """One row per cell and layer: gradient norm relative to the last step at a few distances,
    memory horizon, largest sigma_max and spectral radius of W_hh, most saturated gate."""
    seq_len = report["settings"]["seq_len"]
    distances = [d for d in DISTANCES[1:] if d < seq_len]
    header = ["cell", "layer", "part", *[f"d={d}" for d in distances], "horizon"]
    header += ["sigma_max", "rho", "most saturated"]
    rows = [header]
    for name, summary in report["cells"].items():
        for index, layer in enumerate(summary["layers"]):
            blocks = list(layer["spectrum"].values())
            sigma = _largest([b["sigma_max"] for b in blocks])
            rho = _largest([b["spectral_radius"] for b in blocks])
            gate, share = max(
                ((g, v["saturated"]) for g, v in layer["saturation"].items()),
                key=lambda item: item[1],
            )
            for part, curve in layer["grad_norms"].items():
                ratios = [_log_ratio(curve, d) for d in distances]
                rows.append(
                    [
                        name,
                        str(index),
                        part,
                        *ratios,
                        str(layer["memory_horizon"][part]),
                        _number(sigma),
                        _number(rho),
                        f"{gate} {100 * share:.1f}%",
                    ]
                )
    widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    note = (
        f"d=k: log10 of the gradient norm k steps back over its value at the last step "
        f"(T={seq_len}, loss: {report['settings']['loss']}); horizon: the last k where it is "
        ">= -3"
    )
    return "\n".join([*lines, note])


def _log_ratio(curve: list, d: int) -> str:
    first, value = curve[0], curve[d]
    if not first or value is None:  # zero, or not finite (null in the JSON)
        return "-"
    return f"{math.log10(value / first):.1f}" if value > 0 else "-inf"


def _largest(values: list) -> float | None:
    """The largest of a layer's block values, None (shown as '-') when there are none or any
    is None: a non-finite number, written as null in the JSON."""
    if not values or any(value is None for value in values):
        return None
    return max(values)


def _number(value) -> str:
    return "-" if value is None else f"{value:.3f}"
