"""The exploding-gradient experiment, at small settings (T = 20, 500 steps)."""

import argparse
import json
import math
import re

import pytest
import torch

from rnnkit.cli import experiment_exploding
from rnnkit.experiments import exploding
from rnnkit.experiments.exploding import (
    BASELINE_MSE,
    ExplodingConfig,
    LastStepRegressor,
    clip_gradients_,
    exploding_case,
    gradient_norms_by_seq_len,
    sum_of_last_two,
)

SMALL = {"train_seq_len": 20, "lr": 0.05, "steps": 500, "seq_lens": (5, 10, 20, 40)}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return exploding_case(ExplodingConfig(**SMALL), tmp_path_factory.mktemp("exploding"))
    finally:
        torch.set_num_threads(threads)


def h0_norms(sigma, seq_lens=(5, 10, 20, 40)):
    torch.manual_seed(0)
    config = ExplodingConfig(sigma=sigma, seq_lens=seq_lens)
    model = LastStepRegressor(config.hidden_size, sigma)
    return [norms[0] for norms in gradient_norms_by_seq_len(model, config).values()]


def test_every_singular_value_of_w_hh_is_sigma():
    model = LastStepRegressor(16, 1.7)
    singular_values = torch.linalg.svdvals(model.rnn.weight_hh_l0.detach().double())
    expected = torch.full((16,), 1.7, dtype=torch.float64)
    torch.testing.assert_close(singular_values, expected, rtol=1e-5, atol=0)  # float32 W_hh


def test_gradient_grows_with_t_above_1_and_shrinks_below():
    growing = h0_norms(2.0)
    assert all(a < b for a, b in zip(growing, growing[1:], strict=False))
    assert growing[-1] / growing[0] > 100
    shrinking = h0_norms(0.5)
    assert all(a > b for a, b in zip(shrinking, shrinking[1:], strict=False))
    assert shrinking[-1] / shrinking[0] < 1e-6


def test_h0_gradient_is_the_product_of_step_jacobians():
    """||dL/dh_0|| from autograd equals the docstring's recursion, run by hand:
    dL/dh_{t-1} = W_hh^T diag(1 - h_t^2) dL/dh_t."""
    torch.manual_seed(3)
    config = ExplodingConfig(sigma=1.5, seq_lens=(12,), hidden_size=8, batch_size=4)
    model = LastStepRegressor(8, 1.5)
    measured = gradient_norms_by_seq_len(model, config)[12][0]  # autograd, float32
    model = model.double()  # the hand loop runs in float64
    x, y = sum_of_last_two(4, 12, torch.Generator().manual_seed(config.seed + 1))
    x, y = x.double(), y.double()
    rnn, head = model.rnn, model.head
    w_ih, w_hh = rnn.weight_ih_l0.detach(), rnn.weight_hh_l0.detach()
    bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach()
    states = [torch.zeros(4, 8, dtype=torch.float64)]
    for t in range(12):
        states.append(torch.tanh(x[:, t] @ w_ih.T + states[-1] @ w_hh.T + bias))
    prediction = states[-1] @ head.weight.detach().T[:, 0] + head.bias.detach()
    grad = (2 / 4) * (prediction - y)[:, None] * head.weight.detach()  # dL/dh_T, (N, H)
    for t in reversed(range(1, 13)):
        grad = (grad * (1 - states[t] ** 2)) @ w_hh  # dL/dh_{t-1}
    assert measured == pytest.approx(float(grad.norm()), rel=1e-4)


def test_unclipped_run_is_reported_as_diverged_not_raised(result):
    unclipped = result["results"][0]
    assert unclipped["clip"] is None and unclipped["diverged"] is True
    assert 1 <= unclipped["diverged_at_step"] <= SMALL["steps"]
    assert unclipped["steps"] == unclipped["diverged_at_step"] - 1
    assert unclipped["final_loss"] is None
    assert "inf" in unclipped["reason"] or "nan" in unclipped["reason"]


def test_clipped_run_trains(result):
    clipped = result["results"][1]
    assert clipped["clip"] == 1.0 and clipped["diverged"] is False
    assert clipped["steps"] == SMALL["steps"]
    assert clipped["final_loss"] < 0.5 * clipped["initial_loss"]
    assert clipped["final_loss"] < 0.5 * BASELINE_MSE


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_same_learning_rate_trains_unclipped_when_sigma_is_at_most_1(sigma):
    config = ExplodingConfig(**{**SMALL, "sigma": sigma, "steps": 150, "seq_lens": (5,)})
    unclipped = exploding_case(config)["results"][0]
    assert not unclipped["diverged"]
    assert unclipped["final_loss"] < 0.5 * unclipped["initial_loss"]


def test_result_is_one_json_object_with_a_plot(result):
    parsed = json.loads(json.dumps(result, allow_nan=False))
    assert parsed["task"] == "exploding"
    assert parsed["sigma_max"] == pytest.approx(2.0, rel=1e-5)
    assert list(parsed["grad_norm_by_seq_len"]) == ["5", "10", "20", "40"]
    assert [run["clip"] for run in parsed["results"]] == [None, 1.0]
    for run in parsed["results"]:
        assert {"cell", "clip", "diverged", "diverged_at_step", "final_loss"} <= set(run)
        assert run["cell"] == "rnn"
    with open(parsed["plot"], "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


def gradients(*scales):
    weights = [torch.nn.Parameter(torch.ones(2 + i)) for i in range(len(scales))]
    for weight, scale in zip(weights, scales, strict=True):
        weight.grad = torch.full_like(weight, scale)
    return weights


def test_clip_gradients_matches_torch_and_survives_large_norms():
    ours, theirs = gradients(3.0, -4.0), gradients(3.0, -4.0)
    norm = clip_gradients_(ours, 1.0)
    assert norm == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, 1.0)))
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine.grad, reference.grad)
    untouched = gradients(3.0, -4.0)
    assert clip_gradients_(untouched, None) == pytest.approx(norm)
    assert float(untouched[1].grad[0]) == -4.0
    big = gradients(1e20)  # finite, but its square is not a float32
    assert clip_gradients_(big, 1.0) == pytest.approx(math.sqrt(2) * 1e20)
    assert float(big[0].grad.norm()) == pytest.approx(1.0, rel=1e-5)
    big = torch.nn.Parameter(torch.zeros(4))
    big.grad = torch.full((4,), 1e30)  # float32 squares overflow; the float64 norm does not
    assert clip_gradients_([big], 1.0) == pytest.approx(2e30)
    assert float(big.grad.norm()) == pytest.approx(1.0, rel=1e-5)


def test_overflowing_gradient_at_the_first_step_is_reported(monkeypatch):
    def overflow(parameters, max_norm):
        return math.inf

    monkeypatch.setattr(exploding, "clip_gradients_", overflow)
    config = ExplodingConfig(**{**SMALL, "steps": 5, "seq_lens": (5,)})
    runs = exploding_case(config)["results"]
    assert [run["diverged_at_step"] for run in runs] == [1, 1]
    assert runs[0]["reason"] == "gradient norm is inf" and runs[0]["max_grad_norm"] is None


def run_command(*argv):
    parser = argparse.ArgumentParser(prog="rnnkit experiment exploding")
    experiment_exploding.add_arguments(parser, ExplodingConfig())
    return experiment_exploding.exploding_command(parser.parse_args(list(argv)))


def test_command_prints_json_and_writes_the_plot(tmp_path, capsys):
    argv = ["--seq-lens", "5,10", "--train-seq-len", "50", "--steps", "30"]
    assert run_command(*argv, "--out", str(tmp_path), "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["plot"] == str(tmp_path / "exploding.png")
    assert (tmp_path / "exploding.png").is_file()
    assert run_command(*argv, "--out", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "sigma_max(W_hh) = 2" in out and "no clipping  diverged at step" in out


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="--seq-lens takes integers >= 2"):
        run_command("--seq-lens", "10,x")
    with pytest.raises(ValueError, match="--sigma must be positive"):
        run_command("--sigma", "0")


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--lr", "1e39", "--lr must be positive and fit float32, at most 3.4e\\+38; got 1e\\+39"),
        ("--lr", "inf", "--lr must be positive"),
        ("--lr", "nan", "--lr must be positive"),
        ("--sigma", "inf", "--sigma must be positive and fit float32, from 1.2e-38 to 3.4e\\+38"),
        ("--sigma", "1e300", "--sigma must be positive and fit float32"),
        ("--sigma", "nan", "--sigma must be positive"),
        ("--sigma", "1e-50", "--sigma must be positive and fit float32"),
    ],
)
def test_lr_and_sigma_outside_float32_are_refused_with_exit_2(capsys, flag, value, message):
    """They become float32 (SGD's step, W_hh's entries): 1e39 used to end in a traceback, inf
    in oneMKL errors, sigma_max nan and "diverged at step 1" with exit 0."""
    from rnnkit.cli.main import main

    argv = ["experiment", "exploding", "--steps", "1", "--hidden-size", "4", "--seq-lens", "3"]
    assert main([*argv, "--train-seq-len", "3", flag, value]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_largest_float32_sigma_still_runs():
    config = ExplodingConfig(sigma=3.4e38, seq_lens=(3,), hidden_size=4, steps=1)
    assert exploding_case(config)["sigma_max"] == pytest.approx(3.4e38, rel=1e-6)


@pytest.mark.parametrize("seed", ["-1", "4294967296", "x"])
@pytest.mark.parametrize("experiment", ["exploding", "adding"])
def test_a_seed_outside_0_to_2_32_is_refused_with_exit_2(capsys, seed, experiment):
    from rnnkit.cli.main import main

    with pytest.raises(SystemExit) as exit_info:  # argparse's exit, as every other --seed
        main(["experiment", experiment, "--seed", seed])
    assert exit_info.value.code == 2
    assert "expected a seed, an integer from 0 to 4294967295" in capsys.readouterr().err
