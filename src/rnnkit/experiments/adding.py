"""The adding problem (Hochreiter & Schmidhuber 1997), in the form of Le, Jaitly & Hinton 2015.

Each sequence has T steps of two inputs. Channel 0 holds values drawn uniformly from [0, 1);
channel 1 holds markers, 0 everywhere except exactly two 1s: one at a step drawn uniformly from
the first half, ``[0, T // 2)``, and one from the second half, ``[T // 2, T)``. The target, read
after the last step, is the sum of the two marked values:

    x_t = (u_t, m_t),   u_t ~ U(0, 1),   m_a = m_b = 1 (a < T/2 <= b), else m_t = 0
    y   = u_a + u_b

The trivial answer ``y = 1`` (the mean of the sum) has MSE ``Var(u_a + u_b) = 2 / 12 = 1/6
~ 0.1667``; a model that does better has learned to carry a value across up to T steps. Le et
al. call MSE well below that "solved"; here it is MSE < 0.01 on the fixed test batch.
"""

from __future__ import annotations

import torch

from rnnkit.experiments.config import ExperimentConfig
from rnnkit.experiments.models import SequenceToOne
from rnnkit.experiments.synthetic import SyntheticTask
from rnnkit.training.task import StepOutput

BASELINE_MSE = 1 / 6  # always answering 1: Var(U(0,1) + U(0,1)) = 2/12
SOLVED_MSE = 0.01
MIN_SEQ_LEN = 3


def adding_batch(
    batch_size: int, seq_len: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs (N, T, 2), targets (N,))`` of the adding problem (see the module docstring)."""
    if seq_len < MIN_SEQ_LEN:
        raise ValueError(f"the adding problem needs T >= {MIN_SEQ_LEN}, got {seq_len}")
    values = torch.rand(batch_size, seq_len, generator=generator)  # (N, T)
    half = seq_len // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)  # (N,) in [0, T/2)
    second = torch.randint(half, seq_len, (batch_size,), generator=generator)  # in [T/2, T)
    rows = torch.arange(batch_size)
    markers = torch.zeros(batch_size, seq_len)  # (N, T)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = torch.stack([values, markers], dim=2)  # (N, T, 2)
    targets = values[rows, first] + values[rows, second]  # (N,)
    return inputs, targets


class AddingTask(SyntheticTask):
    """The adding problem for the ``Trainer``: MSE on fresh batches, test MSE on a fixed one."""

    name = "adding"
    eval_metric = "test_mse"
    metric = "test_mse"
    loss_unit = "MSE"
    baseline = BASELINE_MSE

    def __init__(self, cell: str, seq_len: int, config: ExperimentConfig):
        if seq_len < MIN_SEQ_LEN:
            raise ValueError(
                f"the adding problem needs --seq-len >= {MIN_SEQ_LEN} (one marked value in "
                f"each half, and steps to ignore), got {seq_len}"
            )
        super().__init__(cell, seq_len, config)

    def make_batch(self, size: int, generator: torch.Generator):
        return adding_batch(size, self.seq_len, generator)

    def build_model(self) -> SequenceToOne:
        return SequenceToOne(
            self.cell,
            2,
            self.config.hidden_size,
            1,
            "regression",
            horizon=self.seq_len,
            dropout=self.config.dropout,
        )

    def training_step(self, model: SequenceToOne, batch, carry) -> StepOutput:
        inputs, targets = batch
        _, loss = model(inputs, targets)
        return StepOutput(loss, None, inputs.shape[0] * inputs.shape[1], examples=len(targets))

    def evaluate(self, model: SequenceToOne) -> dict[str, float]:
        squared, count = 0.0, 0
        for inputs, targets in self.test_chunks():
            outputs, _ = model(inputs)
            squared += float(((outputs.float() - targets) ** 2).sum())
            count += len(targets)
        return {"test_mse": squared / count}

    def solved(self, metrics: dict) -> bool:
        return metrics["test_mse"] < SOLVED_MSE
