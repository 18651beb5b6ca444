"""Training tokens/s of rnnkit's Trainer against a raw torch.nn step at the same shape.

    python benchmarks/bench_charlm_throughput.py [--rounds 5] [--steps 10] [--batch-size 64]
                                                 [--device auto|cpu|cuda] [--precisions fp32,bf16]

Both train a character model on the bundled Shakespeare with truncated BPTT: a learned
embedding, a 2-layer LSTM of 256 units, a linear decoder, batch 64 x 100 steps, Adam 2e-3 and
clipping at norm 5, the state carried and detached between chunks (the issue's reference
script). The rnnkit side is ``Trainer.train_step``, the function ``fit`` runs each step (the
tokens/s that ``rnnkit train`` reports are its time); the raw side is the same step written
against ``torch.nn`` with nothing around it. Variants run interleaved, ``--steps`` steps each
per round, after one warm-up round, so machine noise hits them alike. Printed: tokens/s per
variant (median over rounds) and the ratios (targets: rnnkit / raw within 10%; bf16 / fp32
>= 1.5x). A precision the device cannot run (bf16 on a CPU without bf16 kernels, fp16 off
CUDA) is skipped with the reason printed, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.data.batching import TokenStreams, detach_state
from rnnkit.data.corpora import load_text
from rnnkit.data.encoding import encode_corpus
from rnnkit.tasks.charlm import CharLMTask
from rnnkit.tasks.charlm_config import resolve_config
from rnnkit.training.config import resolve_precision
from rnnkit.training.devices import resolve_device
from rnnkit.training.trainer import Trainer

HIDDEN, LAYERS, SEQ, LR, CLIP = 256, 2, 100, 2e-3, 5.0


class RawModel(nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, HIDDEN)
        self.lstm = nn.LSTM(HIDDEN, HIDDEN, LAYERS)
        self.decoder = nn.Linear(HIDDEN, vocab_size)

    def forward(self, idx, state=None):
        output, state = self.lstm(self.embedding(idx), state)  # (T, B, H)
        return self.decoder(output), state  # (T, B, V)


class RawRunner:
    """The step a plain torch.nn script runs."""

    def __init__(self, vocab_size: int, batches, precision: str, device: torch.device):
        torch.manual_seed(0)  # the batches fix the batch size
        self.model = RawModel(vocab_size).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.batches, self.precision, self.device, self.state = batches, precision, device, None
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.dtype = torch.float16 if precision == "fp16" else torch.bfloat16

    def step(self) -> None:
        batch = next(self.batches)
        inputs, targets = batch.inputs.to(self.device), batch.targets.to(self.device)
        state = None if batch.index == 0 else self.state
        with torch.autocast(self.device.type, self.dtype, enabled=self.precision != "fp32"):
            logits, state = self.model(inputs, state)
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.state = detach_state(tuple(s.float() for s in state))
        loss.item()  # waits for the device, as the Trainer's step does


class TrainerRunner:
    """rnnkit's Trainer, one ``train_step`` at a time."""

    def __init__(self, corpus, batch_size: int, precision: str, device: str, run_dir: str):
        overrides = {
            "data.seq_len": SEQ,
            "data.batch_size": batch_size,
            "model.hidden_size": HIDDEN,
            "model.num_layers": LAYERS,
            "model.embedding": "learned",
            "optimizer.name": "adam",
            "optimizer.lr": LR,
            "schedule.name": "constant",
            "schedule.warmup_steps": 0,
            "trainer.clip_norm": CLIP,
            "trainer.precision": precision,
            "trainer.device": device,
        }
        config = resolve_config("quick", overrides)
        task = CharLMTask(config, corpus)
        torch.manual_seed(0)
        model = task.build_model()
        self.trainer = Trainer(
            task, model, run_dir, config.trainer, config.optimizer, config.schedule
        )
        self.batches = task.train_batches(0)

    def step(self) -> None:
        self.trainer.train_step(next(self.batches))


def measure(runner, steps: int, batch_size: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        runner.step()
    return steps * batch_size * SEQ / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps per variant per round")
    parser.add_argument("--batch-size", type=int, default=64, help="64: the issue's reference")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N|mps")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    batch = args.batch_size
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        print(f"skipping the benchmark: {error}")
        return
    corpus = encode_corpus(load_text("shakespeare"), "char")
    runners = {}
    for precision in args.precisions.split(","):
        try:
            resolve_precision(precision, device.type)
        except ValueError as error:
            print(f"skipping {precision} on {device}: {error}")
            continue
        batches = _batches(corpus, batch)
        runners[f"raw {precision}"] = RawRunner(len(corpus.vocab), batches, precision, device)
        runners[f"rnnkit {precision}"] = TrainerRunner(
            corpus, batch, precision, str(device), run_dir="/tmp/rnnkit-bench"
        )
    for runner in runners.values():  # warm-up: oneDNN primitives, allocator
        measure(runner, 2, batch)
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            rates[name].append(measure(runner, args.steps, batch))
    median = {name: statistics.median(values) for name, values in rates.items()}
    precisions = [name.split()[1] for name in median if name.startswith("raw ")]
    result = {
        "shape": {"hidden": HIDDEN, "layers": LAYERS, "batch": batch, "seq_len": SEQ},
        "device": str(device),
        "threads": torch.get_num_threads(),
        "tokens_per_s": median,
        **{f"rnnkit_vs_raw_{p}": median[f"rnnkit {p}"] / median[f"raw {p}"] for p in precisions},
    }
    if "bf16" in precisions and "fp32" in precisions:
        result["rnnkit_bf16_vs_fp32"] = median["rnnkit bf16"] / median["rnnkit fp32"]
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"2x{HIDDEN} LSTM, batch {batch} x seq {SEQ}, on {device}, {result['threads']} threads, "
        f"{args.rounds} rounds x {args.steps} steps, median tokens/s:"
    )
    for name, value in median.items():
        print(f"  {name:<12} {value:10,.0f}")
    for p in precisions:
        print(f"rnnkit / raw torch.nn, {p}: {result[f'rnnkit_vs_raw_{p}']:.3f} (target >= 0.90)")
    if "rnnkit_bf16_vs_fp32" in result:
        print(f"rnnkit bf16 / fp32:          {result['rnnkit_bf16_vs_fp32']:.2f}x (target >= 1.5x)")


def _batches(corpus, batch_size: int):
    return TokenStreams(torch.from_numpy(corpus.train), batch_size, SEQ).batches(0)


if __name__ == "__main__":
    main()
