"""The optimizer a run's ``OptimizerConfig`` names (its schedule: ``schedules``)."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from rnnkit.training.config import OptimizerConfig


def build_optimizer(parameters: Iterable, config: OptimizerConfig) -> torch.optim.Optimizer:
    """The optimizer ``config.name`` names, with its hyperparameters."""
    config.validate()
    common = {"lr": config.lr, "weight_decay": config.weight_decay, "eps": config.eps}
    if config.name == "adam":
        return torch.optim.Adam(parameters, betas=config.betas, **common)
    if config.name == "adamw":
        return torch.optim.AdamW(parameters, betas=config.betas, **common)
    if config.name == "rmsprop":
        return torch.optim.RMSprop(
            parameters, alpha=config.alpha, momentum=config.momentum, **common
        )
    return torch.optim.SGD(
        parameters, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )
