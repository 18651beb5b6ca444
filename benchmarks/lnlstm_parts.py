"""Where lnlstm's training step spends its time at a shape, beside torch.nn.LSTM's step.

    python benchmarks/lnlstm_parts.py [--shape 2048,8,64,256] [--repeats 7]

Four parts, each timed alone (run it with nothing else on the machine), medians of the
repeats, calls interleaved (rnnkit.bench.timing):

1. one recurrent product at N rows, as the compiled loops make one at every step:
   H -> 4H (forward) and 4H -> H (backward), by MKL's packed product (what the loops called
   above batch 16 until 2026-12-05; they now use their own), by torch.mm, and by oneDNN's
   linear, on all threads and on one;
2. the layer norm of the input projection over all T x N rows of 4H (lnlstm normalises it
   once, before the loop): forward, and its backward with every gradient;
3. a torch.profiler table of lnlstm's training step (forward, loss over all outputs,
   backward), its most expensive operators with their calls and the mean time of a call;
4. lnlstm's training step with a step's batch rows split between the threads where the step
   holds more than 1,024, 2,048 or 8,192 values (the default), or never (the compiled loops'
   ``split_rows_from``), interleaved, with torch.nn.LSTM's step beside them.

Freed memory is kept, as ``rnnkit bench layers`` keeps it (without that, a fresh 67 MB tensor
faults its pages in at every call: the input layer norm took 25 ms instead of 3-5).

The profiler adds its own cost to each call; parts 1, 2 and 4 are the figures to compare.
docs/cells.md quotes them with the CPU they were measured on.
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from rnnkit.bench.layers import _training_step, parse_shape
from rnnkit.bench.timing import time_interleaved
from rnnkit.models.recurrent import get_core
from rnnkit.nn import native
from rnnkit.training.devices import keep_freed_memory


def products(N: int, H: int, repeats: int) -> None:
    for k, o in ((H, 4 * H), (4 * H, H)):
        product(N, k, o, repeats)


def product(N: int, k: int, o: int, repeats: int) -> None:
    calls = 200  # a call is tens of microseconds: time a batch of them
    weight, x = torch.randn(o, k), torch.randn(N, k)
    packed = torch.ops.mkl._mkl_reorder_linear_weight(weight, N)
    candidates = {
        "mkl packed": lambda: torch.ops.mkl._mkl_linear(x, packed, weight, None, N),
        "torch.mm": lambda: torch.mm(x, weight.t()),
        "onednn": lambda: torch.ops.mkldnn._linear_pointwise(x, weight, None, "none", [], ""),
    }
    threads = torch.get_num_threads()
    for count in sorted({threads, 1}, reverse=True):
        torch.set_num_threads(count)
        batched = {name: _repeat(f, calls) for name, f in candidates.items()}
        seconds = time_interleaved(batched, repeats)
        times = ", ".join(f"{name} {t / calls * 1e6:.1f} us" for name, t in seconds.items())
        print(f"product ({N}, {k}) -> ({N}, {o}), {count} thread(s): {times}")
    torch.set_num_threads(threads)


def _repeat(f, calls: int):
    def run() -> None:
        for _ in range(calls):
            f()

    return run


def input_layer_norm(T: int, N: int, H: int, repeats: int) -> None:
    width = 4 * H
    x, grad = torch.randn(T * N, width), torch.randn(T * N, width)
    gain, shift = torch.randn(width), torch.randn(width)
    _, mean, rstd = torch.native_layer_norm(x, (width,), gain, shift, 1e-5)
    seconds = time_interleaved(
        {
            "forward": lambda: torch.native_layer_norm(x, (width,), gain, shift, 1e-5),
            "backward": lambda: torch.ops.aten.native_layer_norm_backward(
                grad, x, (width,), mean, rstd, gain, shift, [True, True, True]
            ),
        },
        repeats,
    )
    megabytes = x.numel() * x.element_size() / 1e6
    times = ", ".join(f"{name} {s * 1e3:.1f} ms" for name, s in seconds.items())
    print(f"input layer norm over {T * N} rows of {width} ({megabytes:.0f} MB a tensor): {times}")


def profiled_step(shape, input_size: int) -> None:
    T, N, _, H = shape
    torch.manual_seed(0)
    layer = get_core("lnlstm").make_layer(input_size, H, 1)
    step = _training_step(layer, torch.randn(T, N, input_size))
    step(), step()  # warm-up: the compiled loops built and their buffers pooled
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(3):
            step()
    print("lnlstm training step, 3 steps under torch.profiler:")
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def row_splits(shape, input_size: int, repeats: int) -> None:
    T, N, _, H = shape
    ops = native.ops()
    if ops is None:
        print("row splits: the compiled loops are not built here")
        return
    torch.manual_seed(0)
    x = torch.randn(T, N, input_size)
    step = _training_step(get_core("lnlstm").make_layer(input_size, H, 1), x)

    def split_from(values: int):
        def run() -> None:
            before = ops.split_rows_from(values)
            try:
                step()
            finally:
                ops.split_rows_from(before)

        return run

    splits = {"1024": 1024, "2048": 2048, "8192": 8192, "never": 1 << 62}
    candidates = {name: split_from(values) for name, values in splits.items()}
    candidates["torch.nn.LSTM"] = _training_step(torch.nn.LSTM(input_size, H), x)
    seconds = time_interleaved(candidates, repeats)
    times = ", ".join(f"{name} {s * 1e3:.1f} ms" for name, s in seconds.items())
    print(f"lnlstm training step, rows split above (values a step): {times}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shape", default="2048,8,64,256", help="T,N,IN,HID (default: %(default)s)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="(default: %(default)s)")
    args = parser.parse_args()
    keep_freed_memory()
    T, N, input_size, H, _ = parse_shape(args.shape + ",1")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, shape {args.shape}")
    products(N, H, args.repeats)
    input_layer_norm(T, N, H, args.repeats)
    profiled_step((T, N, input_size, H), input_size)
    row_splits((T, N, input_size, H), input_size, args.repeats)


if __name__ == "__main__":
    main()
