"""The parts of a training run's state besides the model, as tensors + JSON for a checkpoint.

- optimizer: ``optimizer.state_dict()`` splits into tensors (moments, step counts) named
  ``optimizer.<param index>.<key>``, and JSON (its hyperparameter groups and any non-tensor
  per-parameter values, e.g. an SGD momentum buffer that is still ``None``);
- random number generators: torch's state is a uint8 tensor (``rng.torch``); Python's
  ``random`` and NumPy's legacy generator are JSON lists.

Restoring them is what makes a resumed run continue exactly where the stopped one left off.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def optimizer_state(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """``(tensors, json)`` for ``optimizer``; see the module docstring for the names."""
    state_dict = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict] = {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], saved: dict
) -> None:
    """Inverse of ``optimizer_state``: put the saved moments and hyperparameters back."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, values in saved.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    live_groups = optimizer.state_dict()["param_groups"]
    groups = saved["param_groups"]
    if len(groups) != len(live_groups):
        raise ValueError("the checkpoint's optimizer has a different number of parameter groups")
    for group, live in zip(groups, live_groups, strict=True):
        for key, value in group.items():  # JSON turned tuples (betas) into lists
            if isinstance(live.get(key), tuple) and isinstance(value, list):
                group[key] = tuple(value)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_state() -> tuple[dict[str, torch.Tensor], dict]:
    """The random number generators' states: torch's as a tensor, Python's and NumPy's as JSON."""
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (the global one)
    saved = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(position), int(has_gauss), float(cached)],
    }
    return {"rng.torch": torch.get_rng_state()}, saved


def load_rng_state(tensors: dict[str, torch.Tensor], saved: dict) -> None:
    """Inverse of ``rng_state``."""
    torch.set_rng_state(tensors["rng.torch"])
    version, internal, gauss = saved["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached = saved["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), position, has_gauss, cached))  # noqa: NPY002


def seed_everything(seed: int) -> None:
    """Seed torch, Python's ``random`` and NumPy's legacy generator."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (code that uses np.random.*)
