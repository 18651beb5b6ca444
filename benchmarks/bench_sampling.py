"""Characters per second of one-stream generation, rnnkit's sampler against raw torch loops.

    python benchmarks/bench_sampling.py                 # 2x256 (the quick preset) and 2x512

For each LSTM size, with the same weights and 65 symbols, interleaved rounds of 2,000
characters each (the median of 5 is reported), on one thread as ``rnnkit sample`` runs:

    rnnkit      LanguageModel.step through rnnkit.generation.generate (seeded sampling)
    nn.LSTM     a raw loop calling the fused torch.nn.LSTM once per character
    LSTMCell    a raw loop stepping torch.nn.LSTMCell, one per layer

Each step reads every recurrent weight once, so memory bandwidth bounds one stream: the
weights' size is printed beside the figures. Measure alone; the CPU is printed.
"""

from __future__ import annotations

import statistics
import time

import torch

from rnnkit.generation.sampling import generate
from rnnkit.models.language_model import LanguageModel, LanguageModelConfig

V, CHARS = 65, 2000


def rnnkit_loop(model: LanguageModel):
    return lambda: generate(model, [1], CHARS, temperature=1.0, seed=0)


def fused_loop(model: LanguageModel):
    lstm = torch.nn.LSTM(model.config.input_size(V), model.config.hidden_size, 2)
    lstm.load_state_dict(model.recurrent.state_dict())

    def run():
        token, state = torch.tensor([[1]]), None
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for _ in range(CHARS):
                out, state = lstm(model.embedding(token), state)
                p = torch.softmax(model.decoder(out[0]), -1)
                token = torch.multinomial(p, 1, generator=generator)

    return run


def cell_loop(model: LanguageModel):
    cells = []
    for k in range(2):
        size = model.config.input_size(V) if k == 0 else model.config.hidden_size
        cell = torch.nn.LSTMCell(size, model.config.hidden_size)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(model.recurrent, f"{name}_l{k}").data)
        cells.append(cell)

    def run():
        token = torch.tensor([1])
        states = [None, None]
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for _ in range(CHARS):
                x = model.embedding(token)
                for k, cell in enumerate(cells):
                    states[k] = cell(x, states[k])
                    x = states[k][0]
                p = torch.softmax(model.decoder(x), -1)
                token = torch.multinomial(p, 1, generator=generator)[:, 0]

    return run


def main() -> None:
    torch.set_num_threads(1)
    from bench_studio import cpu  # the same CPU line as the studio's benchmark

    print(f"CPU: {cpu()}; torch {torch.__version__}, 1 thread; {CHARS} characters a round")
    for hidden in (256, 512):
        config = LanguageModelConfig(cell="lstm", hidden_size=hidden, num_layers=2)
        model = LanguageModel(config, V).eval()
        loops = {"rnnkit": rnnkit_loop(model), "nn.LSTM": fused_loop(model),
                 "LSTMCell": cell_loop(model)}  # fmt: skip
        seconds = {name: [] for name in loops}
        for _ in range(5):
            for name, loop in loops.items():
                started = time.perf_counter()
                loop()
                seconds[name].append(time.perf_counter() - started)
        weights = sum(p.numel() for p in model.recurrent.parameters()) * 4 / 1e6
        figures = ", ".join(
            f"{name} {CHARS / statistics.median(t):,.0f}" for name, t in seconds.items()
        )
        print(f"2x{hidden} LSTM ({weights:.1f} MB of recurrent weights): chars/s {figures}")


if __name__ == "__main__":
    main()
