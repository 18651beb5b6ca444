"""Operations per time step of rnnkit's LSTM, MUT and GRU cells: the whole-sequence route
(rnnkit.nn.routes; impl="auto") against the readable autograd loop
(impl="loop").

    python benchmarks/count_route_ops.py

Counts, does not time: every aten call of a forward pass and of its backward pass is counted
(views included) at T=10 and T=20 on the same layer, and the difference divided by 10 is the
cost of one step. The loop also records an autograd node per forward operation, which this
count leaves out. Cores: lstm and gru with recurrent dropout (without, they run on the fused
kernels), peephole, lnlstm, mut1, mut2, mut3, lngru; each bare and with zoneout.
"""

from __future__ import annotations

import collections
import copy

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import rnnkit.nn as rn
from rnnkit.nn.regularise import regularise

CELLS = {
    "lstm": rn.LSTMCell,
    "peephole": rn.PeepholeLSTMCell,
    "lnlstm": rn.LayerNormLSTMCell,
    "mut1": rn.MUT1Cell,
    "mut2": rn.MUT2Cell,
    "mut3": rn.MUT3Cell,
    "gru": rn.GRUCell,
    "lngru": rn.LayerNormGRUCell,
}


class CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.calls = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def count(layer, steps: int) -> tuple[int, int]:
    x = torch.randn(steps, 4, 8)
    with CountOps() as forward:
        output, _ = layer(x)
    loss = output.square().mean()
    with CountOps() as backward:
        loss.backward()
    return sum(forward.calls.values()), sum(backward.calls.values())


def per_step(layer) -> tuple[float, float]:
    short, long = count(layer, 10), count(layer, 20)
    return (long[0] - short[0]) / 10, (long[1] - short[1]) / 10


def main() -> None:
    print(f"{'core':32s} {'route fwd/bwd':>14s} {'loop fwd/bwd':>14s}")
    for name, cell in CELLS.items():
        for zoneout in (0.0, 0.1):
            route = rn.Recurrent(cell, 8, 16)
            dropout = 0.2 if name in ("lstm", "gru") else 0.0  # else they run fused
            regularise(route, zoneout=zoneout, recurrent_dropout=dropout)
            loop = copy.deepcopy(route)
            loop.impl = "loop"
            label = name + (" + rec. dropout" if dropout else "")
            label += " + zoneout" if zoneout else ""
            (rf, rb), (lf, lb) = per_step(route), per_step(loop)
            print(f"{label:32s} {rf:6g} / {rb:<6g} {lf:6g} / {lb:<6g}")


if __name__ == "__main__":
    main()
