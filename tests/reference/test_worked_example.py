"""The lectures' worked example ([h, e, l, o], three hidden units) with their own numbers,
run through the engine: the same code as ``python -m rnnkit.reference.worked_example`` and
docs/bptt.md."""

from __future__ import annotations

import numpy as np

from rnnkit.reference import worked_example


def test_the_lecture_numbers():
    result = worked_example.lecture_step()
    np.testing.assert_array_equal(result["x"], [1, 0, 0, 0])
    np.testing.assert_allclose(result["W_xh x"], [0.287027, 0.902874, 0.537524], atol=1e-5)
    np.testing.assert_allclose(
        result["y"], [1.90607732, 1.13779113, 0.95666016, 1.27422602], atol=1e-5
    )
    np.testing.assert_allclose(
        result["softmax"], [0.419748, 0.194682, 0.162429, 0.223141], atol=1e-5
    )
    assert result["prediction"] == "h"


def test_training_the_same_shapes_on_hello():
    result = worked_example.train_hello()
    assert result["predicted"] == "ello"
    assert result["loss"] < 0.1 * result["first_loss"]


def test_the_walk_through_runs(capsys):
    worked_example.main()
    out = capsys.readouterr().out
    assert "prediction: h" in out and "'hell' -> 'ello'" in out
