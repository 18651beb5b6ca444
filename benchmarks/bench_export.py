"""Characters per second of one-stream generation: eager torch, ONNX Runtime fp32 and int8.

    python benchmarks/bench_export.py                     # 2x256 (the quick preset), 2x512
    python benchmarks/bench_export.py --repeats 1 --chars 50   # only to check that it runs
    python benchmarks/bench_export.py --quick-run runs/quick  # a trained quick run instead:
                                                  # its figures, and int8's val nats/char cost

For each LSTM size a char run is made with the CLI (the quick preset, one training step, so
the weights are a trained run's layout and its vocabulary; 2x512 with --hidden-size 512),
exported (fp32, and int8) into a temporary folder, and the same sampler
(``rnnkit.generation.generate``: seeded sampling, temperature 1, one stream) runs on

    torch          the run's LanguageModel (what ``rnnkit sample`` runs)
    ort-fp32       its ONNX export on ONNX Runtime (``rnnkit sample --backend onnxruntime``:
                   the sample graph, 16 characters drawn a call)
    ort-int8       its int8 export (``--backend onnxruntime --quantize int8``)
    ort-* step     the same exports stepped one character a call (the step graph), as the
                   sampler runs them with top-k or top-p, and as it did before the sample graph

one thread each, in interleaved rounds of ``--chars`` characters (the median of
``--repeats`` rounds is printed, after a warm-up round), with the CPU model and flags. One
stream is bound by memory bandwidth: each character reads every recurrent weight once (2x512
in fp32: 16.8 MB), printed beside the figures. Measure alone on a quiet machine.

With ``--quick-run RUN_DIR`` (a trained ``--preset quick`` run) the 2x256 figures are that
run's, and the validation nats/char of torch, fp32 and int8 are printed too (the issue's
target: int8 within 1% of fp32; ``rnnkit evaluate RUN_DIR --split val --backend onnxruntime
--quantize int8`` gives the same figure).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import torch

from rnnkit.cli.main import main as rnnkit
from rnnkit.export.files import export_run
from rnnkit.export.runtime import OnnxLanguageModel
from rnnkit.generation.sampling import generate
from rnnkit.tasks.charlm_runs import load_run


def exported(run: Path, folder: Path) -> dict[str, Path]:
    """``run``'s fp32 and int8 ONNX exports, written now into ``folder`` (an export the run
    already has may predate the sample graph)."""
    made = {}
    for quantize in (None, "int8"):
        out = folder / f"{run.name}-onnx-{quantize or 'fp32'}"
        made[quantize or "fp32"] = export_run(run, "onnx", out, quantize=quantize)
    return made


def make_run(folder: Path, hidden: int) -> Path:
    run = folder / f"lstm-2x{hidden}"
    argv = ["train", "charlm", "--preset", "quick", "--hidden-size", str(hidden),
            "--max-steps", "1", "--out", str(run), "--json"]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        done = rnnkit(argv)
    if done != 0:
        raise SystemExit(f"could not train {run}")
    return run


def backends(run: Path, exports: dict[str, Path], steps: bool = True) -> dict:
    """The sampler's models: torch, and ONNX Runtime fp32 and int8 (the sample graph, 16
    characters a call; with ``steps`` also the step graph, one call a character)."""
    models = {"torch": load_run(run).model}
    for kind, folder in exports.items():
        models[f"ort-{kind}"] = OnnxLanguageModel(folder)
        if steps:
            stepping = models[f"ort-{kind} step"] = OnnxLanguageModel(folder)
            stepping.sessions.pop("sample", None)
    return models


def recurrent_megabytes(model) -> tuple[float, float]:
    """The recurrent layer's weights in MB, fp32 and int8 (what one step reads)."""
    count = sum(p.numel() for n, p in model.recurrent.named_parameters() if "weight" in n)
    return count * 4 / 1e6, count / 1e6


def chars_per_second(model, chars: int) -> float:
    started = time.perf_counter()
    generate(model, [1], chars, temperature=1.0, seed=0)
    return chars / (time.perf_counter() - started)


def bench(run: Path, exports: dict[str, Path], chars: int, repeats: int) -> dict[str, float]:
    models = backends(run, exports)
    for model in models.values():  # warm-up round
        chars_per_second(model, min(chars, 100))
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():  # interleaved: noise hits them alike
            rates[name].append(chars_per_second(model, chars))
    return {name: statistics.median(values) for name, values in rates.items()}


def quality(run: Path, exports: dict[str, Path]) -> str:
    """Validation nats/char of each backend (quality, not timing)."""
    from rnnkit.tasks.charlm_runs import evaluate_run

    nats = {
        name: evaluate_run(run, split="val", model=model)["nats"]
        for name, model in backends(run, exports, steps=False).items()
    }
    cost = (nats["ort-int8"] - nats["ort-fp32"]) / nats["ort-fp32"]
    shown = "  ".join(f"{name} {value:.4f}" for name, value in nats.items())
    return f"  val nats/char: {shown}; int8 costs {100 * cost:+.2f}% (target: within 1%)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="256,512", help="hidden sizes of the 2-layer LSTMs")
    parser.add_argument("--chars", type=int, default=2000, help="characters a round")
    parser.add_argument("--repeats", type=int, default=5, help="rounds per backend")
    parser.add_argument("--quick-run", metavar="RUN_DIR", help="a trained quick-preset run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from bench_studio import cpu  # the same CPU line as the other benchmarks

    print(f"CPU: {cpu()}; torch {torch.__version__}, 1 thread; {args.chars} characters a round")
    folder = Path(tempfile.mkdtemp(prefix="bench-export-"))
    for hidden in (int(size) for size in args.sizes.split(",")):
        given = args.quick_run and hidden == 256
        run = Path(args.quick_run) if given else make_run(folder, hidden)
        exports = exported(run, folder)
        model = load_run(run).model
        fp32, int8 = recurrent_megabytes(model)
        size = f"{model.config.num_layers}x{model.config.hidden_size}"
        rates = bench(run, exports, args.chars, args.repeats)
        shown = "  ".join(f"{name} {rate:,.0f}" for name, rate in rates.items())
        print(f"{size} {model.config.cell}: {shown} chars/s (median of {args.repeats})")
        print(
            f"  each character reads the recurrent weights once: {fp32:.1f} MB in fp32, "
            f"{int8:.1f} MB in int8: each GB/s of memory bandwidth allows at most "
            f"{1e3 / fp32:,.0f} (fp32) and {1e3 / int8:,.0f} (int8) chars/s"
        )
        if given:
            print(quality(run, exports))


if __name__ == "__main__":
    main()
