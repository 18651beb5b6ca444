"""Tiny stand-ins for the image data sets, so the experiments run without a fetch."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest


def tiny_images(height: int, width: int, count: int = 40, num_classes: int = 10):
    """An object with ImageData's fields: ``count`` random images, labels cycling through the
    classes, 60% / 20% / 20% train / val / test."""
    rng = np.random.default_rng(0)
    train_end, val_end = int(0.6 * count), int(0.8 * count)
    return SimpleNamespace(
        name="tiny",
        images=rng.random((count, height, width), dtype=np.float32),
        labels=np.arange(count, dtype=np.int64) % num_classes,
        num_classes=num_classes,
        train_indices=np.arange(train_end),
        val_indices=np.arange(train_end, val_end),
        test_indices=np.arange(val_end, count),
    )


@pytest.fixture
def fake_image_data(monkeypatch):
    """``load_image_data`` serves tiny images of the right shape; returns the names it was
    asked for."""
    from rnnkit.experiments import image_sequences

    asked = []

    def load(name):
        asked.append(name)
        spec = next(s for s in image_sequences.IMAGE_TASKS.values() if s.data == name)
        return tiny_images(spec.height, spec.width)

    monkeypatch.setattr(image_sequences, "load_image_data", load)
    return asked
