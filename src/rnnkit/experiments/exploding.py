"""Exploding gradients: a tanh RNN whose W_hh has every singular value sigma > 1.

    rnnkit experiment exploding [--sigma 2.0] [--seq-lens 10,20,50,100,200] [--steps 1500]
                                [--clip 1.0] [--lr 0.1] [--out DIR] [--json]

Backpropagation through time multiplies the gradient by one Jacobian per step back,

    dL/dh_{t-1} = W_hh^T diag(1 - h_t^2) dL/dh_t,

so ``||dL/dh_0||`` can grow like ``(sigma_max(W_hh) * tanh')^T`` (Pascanu, Mikolov and Bengio
2013, "On the difficulty of training recurrent neural networks", section 2.1: sigma_max > 1 is
necessary for explosion, sigma_max < 1 sufficient for vanishing). The experiment

1. builds one tanh RNN (``build_recurrent("rnn", 1, H)``) whose ``W_hh`` is a random orthogonal
   matrix times ``sigma`` (``orthogonal_`` then ``scale_recurrent_``), so every singular value
   is sigma and the growth is not left to chance. (torch's default init rescaled to
   sigma_max = 2 has a spectral radius of only about 1.1: its gradients barely grow with T.)
2. measures, at initialisation, ``||dL/dh_0||`` and ``||dL/dtheta||`` (all parameters) on one
   fixed batch for each T in ``seq_lens``;
3. trains two copies from the same initialisation on the same batches, with plain SGD at one
   learning rate: one without clipping, one with the global gradient norm clipped to ``clip``.
   A step whose loss or gradient norm is not finite stops that run; it is reported as
   diverged at that step (the update is not applied), not raised.

The task is a regression read at the last step: inputs ``x_t ~ U(-1, 1)``, target
``y = x_T + x_{T-1}``, MSE loss. Predicting the mean (0) costs ``Var(y) = 2/3``, the baseline.

Why the unclipped run reaches infinity and not merely a bad loss: its first steps are the
exploding gradient times the learning rate (at the defaults, gradient norms 3.1e3 then
7.1e4), which throw ``W_hh`` and ``W_ih`` so far that the hidden units saturate at +-1, the
same for every input (measured after 3 steps: 97 % of the last step's units beyond 0.999;
their spread over inputs down from 0.72 to 0.08). The readout then sees a state of norm
``sqrt(H)``, its loss's curvature jumps to about ``2(H + 1)``, and an SGD step of
``lr > 1 / (H + 1)`` overshoots by ``|1 - 2 lr (H + 1)|`` (12 at the defaults): the loss grows
about 100-fold a step until it overflows, near step 20. With sigma <= 1 the same learning
rate trains without clipping (the tests check sigma 0.5 and 1.0), so it is the explosion that
breaks the run; clipping bounds every step by ``lr * clip`` and the run trains.

Seeds 0-9 at the defaults: the unclipped run diverges at step 20-23 every time; the clipped
run ends at MSE 0.09-0.19 (0.12-0.24 with torch's ``clip_grad_norm_``, whose float32
rounding sends the chaotic early steps elsewhere). At 1,000 steps some clipped runs were
still near the baseline, hence 1,500.

A plain SGD loop on the CPU, not the Trainer: the experiment is about what single steps do,
and a 32 x 64 batch gains nothing from a GPU. With ``--out`` the result is written to
``OUT/exploding.json`` and the plot to ``OUT/exploding.png``.

Ctrl-C (or SIGTERM, which the command reads as Ctrl-C) stops the experiment where it is: the
run in progress keeps the steps it took and is marked interrupted, the ones after it are not
started, and what was measured so far is written and printed as usual, with ``interrupted``
true; the command then exits with 130. (A stop while the model is still being built ends it
with nothing written: ``--out`` is made only after that.) The command line (flags, printing) is
``rnnkit.cli.experiment_exploding``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from rnnkit.data.output_paths import make_folder
from rnnkit.models.recurrent import build_recurrent
from rnnkit.nn.init import orthogonal_, scale_recurrent_
from rnnkit.plots.curves import plot_exploding_gradients
from rnnkit.training.run_dir import write_json

DEFAULT_SEQ_LENS = (10, 20, 50, 100, 200)
BASELINE_MSE = 2 / 3  # Var(x_T + x_{T-1}) with x ~ U(-1, 1): 2 * 1/3
PLOT_NAME = "exploding.png"
RESULT_NAME = "exploding.json"  # the result, as --json prints it
FINAL_WINDOW = 20  # the final loss is the mean of this many last training steps
TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32, about 1.2e-38
LARGEST = torch.finfo(torch.float32).max  # about 3.4e38


@dataclass(frozen=True)
class ExplodingConfig:
    """Everything the experiment depends on. At the defaults the unclipped run diverged and
    the clipped one trained for every seed 0-9; the command takes about 16 s of CPU (one
    thread)."""

    sigma: float = 2.0
    seq_lens: tuple[int, ...] = DEFAULT_SEQ_LENS
    hidden_size: int = 64
    train_seq_len: int = 50
    steps: int = 1500
    batch_size: int = 32
    lr: float = 0.1
    clip: float = 1.0
    seed: int = 0

    def validate(self) -> None:
        """A ValueError naming the first setting out of range. ``sigma`` and ``lr`` become
        float32 (``W_hh``'s entries, SGD's step factor): past float32's largest number, 3.4e38,
        sigma turns into inf and lr cannot be converted at all; below its smallest normal
        number, 1.2e-38, sigma rounds towards 0, no longer the singular value asked for."""
        if not TINY <= self.sigma <= LARGEST:
            raise ValueError(
                f"--sigma must be positive and fit float32, from {TINY:.2g} to {LARGEST:.2g}; "
                f"got {self.sigma:g}"
            )
        if not self.seq_lens or min(self.seq_lens) < 2:
            raise ValueError(f"--seq-lens needs lengths >= 2, got {self.seq_lens}")
        for name in ("hidden_size", "train_seq_len", "steps", "batch_size"):
            if getattr(self, name) < (2 if name == "train_seq_len" else 1):
                raise ValueError(f"{name} is too small: {getattr(self, name)}")
        if not 0 < self.lr <= LARGEST:
            raise ValueError(
                f"--lr must be positive and fit float32, at most {LARGEST:.2g}; got {self.lr:g}"
            )
        if not (math.isfinite(self.clip) and self.clip > 0):
            raise ValueError(
                "--clip must be a positive gradient norm: the experiment compares an unclipped "
                f"run with one clipped at --clip, so it cannot be 0 (off); got {self.clip:g}"
            )


class LastStepRegressor(nn.Module):
    """tanh RNN, then a linear readout of the last hidden state: ``(N, T, 1) -> (N,)``."""

    def __init__(self, hidden_size: int, sigma: float):
        super().__init__()
        self.rnn = build_recurrent("rnn", input_size=1, hidden_size=hidden_size)
        orthogonal_(self.rnn)
        scale_recurrent_(self.rnn, sigma)  # every singular value of W_hh is now sigma
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        output, _ = self.rnn(x, h0)  # (N, T, H)
        return self.head(output[:, -1]).squeeze(-1)  # (N,)


def sum_of_last_two(
    batch_size: int, seq_len: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x (N, T, 1), y (N,))``: ``x_t ~ U(-1, 1)``, ``y = x_T + x_{T-1}``."""
    x = torch.rand(batch_size, seq_len, 1, generator=generator) * 2 - 1  # (N, T, 1)
    return x, x[:, -2:, 0].sum(dim=1)


def gradient_norms_by_seq_len(model: LastStepRegressor, config: ExplodingConfig) -> dict:
    """``{T: (||dL/dh_0||, ||dL/dtheta||)}`` at the model's current parameters, one fixed batch
    per T (the loss is the batch-mean MSE at the last step)."""
    norms = {}
    for seq_len in config.seq_lens:
        generator = torch.Generator().manual_seed(config.seed + 1)
        x, y = sum_of_last_two(config.batch_size, seq_len, generator)
        h0 = torch.zeros(1, config.batch_size, config.hidden_size, requires_grad=True)
        loss = nn.functional.mse_loss(model(x, h0), y)
        parameters = list(model.parameters())
        grads = torch.autograd.grad(loss, [h0, *parameters])
        norms[seq_len] = (_global_norm(grads[:1]), _global_norm(grads[1:]))
    return norms


@dataclass
class TrainingRun:
    """One SGD run: its per-step losses and pre-clipping gradient norms, and how it ended."""

    clip: float | None
    losses: list[float]
    grad_norms: list[float]
    diverged_at_step: int | None = None  # 1-based; the step whose loss or gradient was not finite
    reason: str | None = None
    interrupted: bool = False  # a KeyboardInterrupt (Ctrl-C, SIGTERM) ended it early

    @property
    def diverged(self) -> bool:
        return self.diverged_at_step is not None


def train(model: LastStepRegressor, config: ExplodingConfig, clip: float | None) -> TrainingRun:
    """Plain SGD on fresh batches (seeded, the same for every call); stops at a non-finite
    loss or gradient norm, leaving the parameters as they were before that step. A
    KeyboardInterrupt ends it too: the run keeps the steps it recorded and says it was
    interrupted, so that the caller can still report them."""
    run = TrainingRun(clip, [], [])
    try:
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)  # its first is slow
        generator = torch.Generator().manual_seed(config.seed + 2)
        for step in range(1, config.steps + 1):
            x, y = sum_of_last_two(config.batch_size, config.train_seq_len, generator)
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            grad_norm = clip_gradients_(model.parameters(), clip)
            loss_value = loss.item()
            if not math.isfinite(loss_value) or not math.isfinite(grad_norm):
                what = "loss" if not math.isfinite(loss_value) else "gradient norm"
                value = loss_value if what == "loss" else grad_norm
                run.diverged_at_step, run.reason = step, f"{what} is {value}"
                break
            optimizer.step()
            run.losses.append(loss_value)
            run.grad_norms.append(grad_norm)
    except KeyboardInterrupt:
        run.interrupted = True
    return run


@torch.no_grad()
def clip_gradients_(parameters, max_norm: float | None) -> float:
    """Scale the gradients so that their global norm is at most ``max_norm`` (None: leave
    them); return the norm before. ``torch.nn.utils.clip_grad_norm_`` does the same, but takes
    the norm in the gradients' float32: once an entry passes about 1.8e19 its square
    overflows, the norm is inf and the "clipped" gradient is 0, although every entry is
    finite. Here the norm is taken in float64."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = _global_norm(grads)
    if max_norm is not None and norm > max_norm:
        for grad in grads:
            grad.mul_(max_norm / (norm + 1e-6))
    return norm


def exploding_case(config: ExplodingConfig | None = None, out: str | Path | None = None) -> dict:
    """Run the experiment (module docstring); return the result the ``--json`` flag prints.

    With ``out``, the plot is written to ``out/exploding.png`` (its path is in the result) and
    the result to ``out/exploding.json``. Interrupted (Ctrl-C) while measuring or training,
    the result holds what was done, ``interrupted`` is true, and both are written all the same.
    """
    config = config or ExplodingConfig()
    config.validate()
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    model = LastStepRegressor(config.hidden_size, config.sigma)
    sigma_max = float(torch.linalg.matrix_norm(model.rnn.weight_hh_l0.detach().double(), ord=2))
    if out is not None:  # made where a stop is answered with a result, never left empty
        out = make_folder(out, "--out", f"{PLOT_NAME} and {RESULT_NAME}")  # ~ expanded
    norms, runs, interrupted = measure_and_train(model, config)
    result = {
        "task": "exploding",
        "sigma_max": sigma_max,
        "grad_norm_by_seq_len": {str(t): _finite(norm[0]) for t, norm in norms.items()},
        "param_grad_norm_by_seq_len": {str(t): _finite(norm[1]) for t, norm in norms.items()},
        "results": [_summary(run) for run in runs],
        "interrupted": interrupted,
        "baseline_mse": BASELINE_MSE,
        "config": {**asdict(config), "seq_lens": list(config.seq_lens)},
        "plot": None,
    }
    if out is not None:
        plot = plot_exploding_gradients(
            norms,
            result["results"],
            Path(out) / PLOT_NAME,
            sigma=config.sigma,
            train_seq_len=config.train_seq_len,
            lr=config.lr,
            baseline=BASELINE_MSE,
        )
        result["plot"] = str(plot)
    result["seconds"] = round(time.perf_counter() - started, 2)
    if out is not None:
        write_json(Path(out) / RESULT_NAME, result)
    return result


def measure_and_train(
    model: LastStepRegressor, config: ExplodingConfig
) -> tuple[dict, list[TrainingRun], bool]:
    """The gradient norms at initialisation, then the unclipped and the clipped run, both from
    the model's present parameters; and whether a KeyboardInterrupt (Ctrl-C, or SIGTERM under
    the command) ended it early, in which case what was done so far is returned: the norms
    measured (none if it came while measuring), the runs started (the last one interrupted)."""
    norms: dict = {}
    runs: list[TrainingRun] = []
    try:
        initial_state = {name: value.clone() for name, value in model.state_dict().items()}
        norms = gradient_norms_by_seq_len(model, config)
        for clip in (None, config.clip):
            model.load_state_dict(initial_state)  # both runs start from the same parameters
            runs.append(train(model, config, clip))
            if runs[-1].interrupted:
                return norms, runs, True
    except KeyboardInterrupt:  # while measuring, or between the runs
        return norms, runs, True
    return norms, runs, False


def format_report(result: dict) -> str:
    """The human-readable report of ``exploding_case``'s result."""
    lines = [f"tanh RNN, sigma_max(W_hh) = {result['sigma_max']:.3g} (all singular values)"]
    lines.append("gradient norm at initialisation (-: overflowed):")
    lines.append(f"{'T':>6}  {'||dL/dh_0||':>12}  {'||dL/dtheta||':>13}")
    for length, norm in result["grad_norm_by_seq_len"].items():
        param_norm = result["param_grad_norm_by_seq_len"][length]
        lines.append(f"{length:>6}  {_show(norm, '12.3e')}  {_show(param_norm, '13.3e')}")
    config = result["config"]
    lines.append(
        f"training: SGD lr {config['lr']:g}, T = {config['train_seq_len']}, "
        f"{config['steps']} steps, predict-0 baseline MSE {result['baseline_mse']:.3f}"
    )
    for run in result["results"]:
        name = "no clipping" if run["clip"] is None else f"clip {run['clip']:g}"
        if run.get("interrupted"):
            outcome = f"interrupted after {run['steps']} steps"
        elif run["diverged"]:
            outcome = f"diverged at step {run['diverged_at_step']} ({run['reason']})"
        else:
            outcome = f"MSE {_show(run['initial_loss'], '.3f')} -> {run['final_loss']:.3f}"
        largest = _show(run["max_grad_norm"], ".3g")
        lines.append(f"  {name:<12} {outcome}; largest finite gradient norm {largest}")
    if result.get("interrupted"):  # .get: a result from before the field
        lines.append("interrupted: the figures above are those measured before the stop")
    if result["plot"]:
        lines.append(f"plot: {result['plot']}")
    return "\n".join(lines)


def _show(value: float | None, spec: str) -> str:
    text = "-" if value is None else format(value, spec)
    width = "".join(c for c in spec.partition(".")[0] if c.isdigit())
    return text.rjust(int(width)) if width else text


def _summary(run: TrainingRun) -> dict:
    """One run as JSON: ``initial_loss`` is step 1's (the same batch and parameters in both
    runs), ``final_loss`` the mean of the last 20 steps (None once diverged)."""
    return {
        "cell": "rnn",
        "clip": run.clip,
        "interrupted": run.interrupted,
        "diverged": run.diverged,
        "diverged_at_step": run.diverged_at_step,
        "reason": run.reason,
        "steps": len(run.losses),
        "initial_loss": run.losses[0] if run.losses else None,
        "final_loss": None if run.diverged else _mean(run.losses[-FINAL_WINDOW:]),
        "last_finite_loss": run.losses[-1] if run.losses else None,
        "max_grad_norm": max(run.grad_norms, default=None),
        "losses": run.losses,
    }


def _global_norm(tensors) -> float:
    return math.sqrt(sum(float(t.double().pow(2).sum()) for t in tensors))


def _finite(value: float) -> float | None:
    """``value``, or None where it overflowed (JSON has no inf or NaN; the report shows -)."""
    return value if math.isfinite(value) else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
