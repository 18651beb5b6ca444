"""Training tokens/s of rnnkit's Trainer against a raw torch.nn step at the same shape.

    python benchmarks/bench_charlm_throughput.py [--rounds 5] [--steps 10] [--batch-size 64]

Both train a character model on the bundled Shakespeare with truncated BPTT: a learned
embedding, a 2-layer LSTM of 256 units, a linear decoder, batch 64 x 100 steps, Adam 2e-3 and
clipping at norm 5, the state carried and detached between chunks (the issue's reference
script). The rnnkit side is ``Trainer.train_step``, the function ``fit`` runs each step (the
tokens/s that ``rnnkit train`` reports are its time); the raw side is the same step written
against ``torch.nn`` with nothing around it. Variants run interleaved, ``--steps`` steps each
per round, after one warm-up round, so machine noise hits them alike. Printed: tokens/s per
variant (median over rounds) and the ratios (targets: rnnkit / raw within 10%; bf16 / fp32
>= 1.5x).
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

    def __init__(self, vocab_size: int, batches, bf16: bool):  # batches fix the batch size
        torch.manual_seed(0)
        self.model = RawModel(vocab_size)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.batches, self.bf16, self.state = batches, bf16, None

    def step(self) -> None:
        batch = next(self.batches)
        state = None if batch.index == 0 else self.state
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits, state = self.model(batch.inputs, state)
            loss = F.cross_entropy(
                logits.float().view(-1, logits.shape[-1]), batch.targets.view(-1)
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()
        self.state = detach_state(tuple(s.float() for s in state))
        loss.item()


class TrainerRunner:
    """rnnkit's Trainer, one ``train_step`` at a time."""

    def __init__(self, corpus, batch_size: int, bf16: bool, run_dir: str):
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
            "trainer.precision": "bf16" if bf16 else "fp32",
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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    batch = args.batch_size

    corpus = encode_corpus(load_text("shakespeare"), "char")
    runners = {
        "raw fp32": RawRunner(len(corpus.vocab), _batches(corpus, batch), bf16=False),
        "rnnkit fp32": TrainerRunner(corpus, batch, bf16=False, run_dir="/tmp/rnnkit-bench"),
        "raw bf16": RawRunner(len(corpus.vocab), _batches(corpus, batch), bf16=True),
        "rnnkit bf16": TrainerRunner(corpus, batch, bf16=True, run_dir="/tmp/rnnkit-bench"),
    }
    for runner in runners.values():  # warm-up: oneDNN primitives, allocator
        measure(runner, 2, batch)
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            rates[name].append(measure(runner, args.steps, batch))
    median = {name: statistics.median(values) for name, values in rates.items()}
    result = {
        "shape": {"hidden": HIDDEN, "layers": LAYERS, "batch": batch, "seq_len": SEQ},
        "threads": torch.get_num_threads(),
        "tokens_per_s": median,
        "rnnkit_vs_raw_fp32": median["rnnkit fp32"] / median["raw fp32"],
        "rnnkit_vs_raw_bf16": median["rnnkit bf16"] / median["raw bf16"],
        "rnnkit_bf16_vs_fp32": median["rnnkit bf16"] / median["rnnkit fp32"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"2x{HIDDEN} LSTM, batch {batch} x seq {SEQ}, {result['threads']} threads, "
        f"{args.rounds} rounds x {args.steps} steps, median tokens/s:"
    )
    for name, value in median.items():
        print(f"  {name:<12} {value:10,.0f}")
    print(f"rnnkit / raw torch.nn, fp32: {result['rnnkit_vs_raw_fp32']:.3f} (target >= 0.90)")
    print(f"rnnkit / raw torch.nn, bf16: {result['rnnkit_vs_raw_bf16']:.3f}")
    print(f"rnnkit bf16 / fp32:          {result['rnnkit_bf16_vs_fp32']:.2f}x (target >= 1.5x)")


def _batches(corpus, batch_size: int):
    return TokenStreams(torch.from_numpy(corpus.train), batch_size, SEQ).batches(0)


if __name__ == "__main__":
    main()
