"""What ``--diagnose-every`` measures for each task, recomputed by hand, and ``--dropout``
reaching the model of every task that takes it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.diagnostics.callback import detached_copy
from rnnkit.diagnostics.report import diagnose
from rnnkit.experiments.adding import AddingTask
from rnnkit.experiments.config import experiment_config
from rnnkit.experiments.copy_memory import CopyTask
from rnnkit.experiments.image_sequences import ImageSequenceTask
from rnnkit.experiments.runner import diagnostics_callbacks

from .conftest import tiny_images


def make_task(name: str, **overrides):
    config = experiment_config(name, hidden_size=6, test_size=16, diagnose_every=1, **overrides)
    if name == "adding":
        return AddingTask("lstm", 5, config)
    if name == "copy":
        return CopyTask("lstm", 3, config)
    return ImageSequenceTask("digits", "lstm", 8, config, data=tiny_images(8, 8))


def summed_loss_gradient_at_last_step(task, model) -> float:
    """By hand: ``||dL/dh_T||`` per sequence, averaged over the diagnostics batch, where ``L``
    is the loss summed over every sequence and (copy) every step, in float64. ``h_T`` reaches
    the loss only through the output layer, so autograd through the core's output is all of it."""
    inputs, targets = task.diagnostics_batch()
    model = detached_copy(model).eval()
    output, _ = model.core(inputs.double())  # (N, T, H)
    output.retain_grad()
    if isinstance(task, CopyTask):
        logits = model.head(output)  # (N, T, K)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
    elif isinstance(task, AddingTask):
        values = model.head(output[:, -1]).squeeze(1)
        loss = F.mse_loss(values, targets.double(), reduction="sum")
    else:
        loss = F.cross_entropy(model.head(output[:, -1]), targets, reduction="sum")
    loss.backward()
    return float(output.grad[:, -1].norm(dim=1).mean())


@pytest.mark.parametrize("name", ["copy", "adding", "digits"])
def test_diagnosed_gradient_is_that_of_the_loss_summed_over_every_target(name):
    task = make_task(name)
    torch.manual_seed(0)
    model = task.build_model()
    (callback,) = diagnostics_callbacks(task, task.config)
    diagnosis = diagnose(detached_copy(model), callback.compute_loss, loss=callback.loss)
    logged = diagnosis.record()["grad_norm/l0/h/d0"]
    assert logged == pytest.approx(summed_loss_gradient_at_last_step(task, model), rel=1e-5)
    assert callback.loss == ("sum" if name == "copy" else "last")


def test_diagnosed_copy_gradient_is_not_averaged_over_steps():
    """The defect this guards against: copy's norms divided by its T + 20 steps."""
    task = make_task("copy")
    torch.manual_seed(0)
    model = task.build_model()
    (callback,) = diagnostics_callbacks(task, task.config)
    inputs, targets = task.diagnostics_batch()
    with torch.no_grad():
        mean_loss = model.double()(inputs.double(), targets)[1]
        summed = callback.compute_loss(model)
    assert float(summed) == pytest.approx(float(mean_loss) * len(inputs) * (3 + 20), rel=1e-6)


@pytest.mark.parametrize("name", ["adding", "copy", "digits"])
def test_dropout_reaches_the_model_and_acts_in_training_only(name):
    task = make_task(name, dropout=0.5)
    torch.manual_seed(0)
    model = task.build_model()
    assert model.dropout.p == 0.5
    inputs, _ = task.diagnostics_batch()  # as the model reads them (copy: one-hot)
    model.eval()
    evaluated = model(inputs)[0]
    torch.testing.assert_close(model(inputs)[0], evaluated)
    model.train()
    assert not torch.allclose(model(inputs)[0], evaluated)


def test_adding_with_dropout_trains_differently_from_without(tmp_path, capsys):
    """``--dropout`` changes an adding run; before the fix the two runs were identical."""
    import json

    from rnnkit.cli.main import main

    argv = ["adding", "--cells", "lstm", "--seq-len", "4", "--hidden-size", "8"]
    argv += ["--batch-size", "4", "--max-steps", "4", "--eval-every", "2", "--json"]
    values = []
    for dropout, out in (("0", "plain"), ("0.9", "dropped")):
        assert main(["experiment", *argv, "--dropout", dropout, "--out", str(tmp_path / out)]) == 0
        values.append(json.loads(capsys.readouterr().out)["results"][0]["value"])
    assert values[0] != values[1]
