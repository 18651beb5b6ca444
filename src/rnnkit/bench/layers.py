"""Training-step time of rnnkit's layers against torch.nn at the same shapes.

For each cell and shape (T, N, input, hidden, layers) the implementations run one training
step each (forward, a loss over all outputs, backward), interleaved, on ``device`` (``rnnkit
bench layers --device cuda`` prints the same table as on the CPU). A core torch.nn has:

    torch    torch.nn.LSTM/GRU/RNN                      the reference
    fused    rnnkit.nn.LSTM/GRU/RNN, impl="auto"        target: <= 1.05x torch
    loop     rnnkit.nn.LSTM/GRU/RNN, impl="loop"        the readable time loop
    stack    Recurrent over the layer's standard cells  target: <= 1.1x torch (a user's stack
             (copies, their own parameters)             of cells; cuDNN-flattened on the GPU)

all four on the same weights. A core without a fused kernel (gru-lectures, peephole, lnlstm,
mut1, mingru, ...) runs beside both torch.nn.LSTM and torch.nn.GRU of the same sizes (ratios
against each):

    torch-lstm, torch-gru   the references
    rnnkit                  Recurrent running the core's cells, impl="auto": one scan for
                            mingru, minlstm, rglru (a compiled loop on the CPU, chunks
                            elsewhere); the whole-sequence route with a
                            hand-derived backward pass for lnlstm, peephole, lngru,
                            mut1-3, gru-lectures (rnnkit.nn.routes)
    sequential              (scan cores only) the same cells, their scan the Python loop,
                            a few tensor operations per step (scan_method="loop")
    loop                    (the others) the same cells on the readable loop, impl="loop"
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import torch

from rnnkit.bench.timing import time_interleaved
from rnnkit.models.recurrent import RECURRENT_CORES, check_cell, get_core
from rnnkit.nn import GRU, LSTM, RNN, Recurrent

# (T, N, input_size, hidden_size, num_layers), as in issue 2
DEFAULT_SHAPES = (
    (100, 32, 64, 256, 1),
    (100, 64, 128, 512, 2),
    (200, 16, 65, 128, 1),
    (1000, 8, 32, 128, 1),
)
CELLS = ("lstm", "gru", "rnn")  # the default
BENCH_CELLS = tuple(RECURRENT_CORES)
IMPLS = ("torch", "fused", "loop", "stack")
_TORCH = {LSTM: torch.nn.LSTM, GRU: torch.nn.GRU, RNN: torch.nn.RNN}


@dataclass
class Record:
    cell: str
    shape: tuple[int, int, int, int, int]
    impl: str
    ms: float
    ratio_vs_torch: float  # against torch.nn.LSTM for a core without a fused kernel
    ratio_vs_gru: float | None = None  # against torch.nn.GRU, for such a core

    def to_json(self) -> dict:
        record = asdict(self)
        record["shape"] = list(self.shape)
        return record


def _training_step(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    params = list(module.parameters())
    cuda = x.device.type == "cuda"

    def step() -> None:
        for p in params:
            p.grad = None
        output, _ = module(x)
        output.square().mean().backward()
        if cuda:  # the time of the work, not of queueing it
            torch.cuda.synchronize(x.device)

    return step


def bench_shape(
    cell: str, shape, repeats: int, warmup: int = 1, device: str | torch.device = "cpu"
) -> list[Record]:
    T, N, input_size, hidden_size, num_layers = shape
    core = get_core(cell)
    if not core.fused:
        return bench_custom(cell, shape, repeats, warmup, device)
    torch_class = _TORCH[core.layer]
    torch.manual_seed(0)
    reference = torch_class(input_size, hidden_size, num_layers, **core.options)
    fused = core.layer(input_size, hidden_size, num_layers, impl="auto", **core.options)
    loop = core.layer(input_size, hidden_size, num_layers, impl="loop", **core.options)
    fused.load_state_dict(reference.state_dict())
    loop.load_state_dict(reference.state_dict())
    stack = Recurrent([copy.deepcopy(cell) for cell in fused.cells()], num_layers=num_layers)
    x = torch.randn(T, N, input_size, device=device)
    modules = {"torch": reference, "fused": fused, "loop": loop, "stack": stack}
    for module in modules.values():
        module.to(device)
    seconds = time_interleaved(
        {name: _training_step(module, x) for name, module in modules.items()}, repeats, warmup
    )
    return [
        Record(cell, tuple(shape), impl, seconds[impl] * 1e3, seconds[impl] / seconds["torch"])
        for impl in IMPLS
    ]


def bench_custom(
    cell: str, shape, repeats: int, warmup: int = 1, device: str | torch.device = "cpu"
) -> list[Record]:
    """A core without a fused kernel against torch.nn.LSTM and torch.nn.GRU (same sizes)."""
    T, N, input_size, hidden_size, num_layers = shape
    core = get_core(cell)
    torch.manual_seed(0)
    modules = {
        "torch-lstm": torch.nn.LSTM(input_size, hidden_size, num_layers),
        "torch-gru": torch.nn.GRU(input_size, hidden_size, num_layers),
        "rnnkit": core.make_layer(input_size, hidden_size, num_layers),
    }
    if hasattr(core.cell, "scan"):  # mingru, minlstm, rglru
        sequential = core.make_layer(input_size, hidden_size, num_layers)
        sequential.load_state_dict(modules["rnnkit"].state_dict())
        for layer_cell in sequential.cells:
            layer_cell.scan_method = "loop"
        modules["sequential"] = sequential
    else:
        modules["loop"] = core.make_layer(input_size, hidden_size, num_layers, impl="loop")
        modules["loop"].load_state_dict(modules["rnnkit"].state_dict())
    x = torch.randn(T, N, input_size, device=device)
    for module in modules.values():
        module.to(device)
    seconds = time_interleaved(
        {name: _training_step(module, x) for name, module in modules.items()}, repeats, warmup
    )
    lstm, gru = seconds["torch-lstm"], seconds["torch-gru"]
    return [
        Record(cell, tuple(shape), impl, t * 1e3, t / lstm, t / gru) for impl, t in seconds.items()
    ]


def run(
    cells: Iterable[str] = CELLS,
    shapes: Iterable[tuple[int, ...]] = DEFAULT_SHAPES,
    repeats: int = 5,
    warmup: int = 1,
    on_record: Callable[[Record], None] | None = None,
    device: str | torch.device = "cpu",
) -> list[Record]:
    records = []
    cells = list(cells)
    for cell in cells:
        check_cell(cell, BENCH_CELLS, "the benchmark")
    for cell in cells:
        for shape in shapes:
            for record in bench_shape(cell, shape, repeats, warmup, device):
                records.append(record)
                if on_record is not None:
                    on_record(record)
    return records


def parse_shape(text: str) -> tuple[int, int, int, int, int]:
    """'T,N,input,hidden,layers' -> a shape tuple."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 5 or min(values) < 1:
        raise ValueError(
            f"a shape is five positive integers T,N,input,hidden,layers (e.g. 100,32,64,256,1), "
            f"got {text!r}"
        )
    return values
