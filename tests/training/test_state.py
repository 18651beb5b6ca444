"""Optimizer and random-generator state survive the trip through tensors + JSON exactly."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from rnnkit.training.config import OptimizerConfig
from rnnkit.training.optimizers import build_optimizer
from rnnkit.training.state import load_optimizer_state, load_rng_state, optimizer_state, rng_state


def _model_and_optimizer(config):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    return model, build_optimizer(model.parameters(), config)


def _step(model, optimizer, seed):
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(seed))
    optimizer.zero_grad()
    model(x).pow(2).sum().backward()
    optimizer.step()


@pytest.mark.parametrize(
    "config",
    [
        OptimizerConfig("adam", lr=0.1),
        OptimizerConfig("adamw", lr=0.1, weight_decay=0.1),
        OptimizerConfig("rmsprop", lr=0.01, momentum=0.9),
        OptimizerConfig("sgd", lr=0.1, momentum=0.9),
        OptimizerConfig("sgd", lr=0.1),  # momentum 0: a None buffer, kept in JSON
    ],
    ids=["adam", "adamw", "rmsprop-momentum", "sgd-momentum", "sgd"],
)
def test_optimizer_state_round_trip_gives_the_same_next_steps(config):
    model, optimizer = _model_and_optimizer(config)
    for seed in range(3):
        _step(model, optimizer, seed)
    tensors, saved = optimizer_state(optimizer)
    saved = json.loads(json.dumps(saved))  # as it comes back from a JSON file
    copy, copy_optimizer = _model_and_optimizer(config)
    copy.load_state_dict(model.state_dict())
    tensors = {k.split(".", 1)[1]: v.clone() for k, v in tensors.items()}  # as read from a file
    load_optimizer_state(copy_optimizer, tensors, saved)
    for seed in range(3, 6):
        _step(model, optimizer, seed)
        _step(copy, copy_optimizer, seed)
    for a, b in zip(model.parameters(), copy.parameters(), strict=True):
        assert torch.equal(a, b)


def test_rng_state_round_trip_replays_every_generator():
    tensors, saved = rng_state()
    saved = json.loads(json.dumps(saved))
    first = (torch.rand(3), random.random(), np.random.rand(2))  # noqa: NPY002
    load_rng_state(tensors, saved)
    again = (torch.rand(3), random.random(), np.random.rand(2))  # noqa: NPY002
    assert torch.equal(first[0], again[0]) and first[1] == again[1]
    assert np.array_equal(first[2], again[2])
