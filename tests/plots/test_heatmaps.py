"""Heatmaps: confusion matrix, translation attention, caption attention over an image."""

import numpy as np
import pytest

from rnnkit.plots.heatmaps import (
    plot_attention,
    plot_attention_map,
    plot_confusion_matrix,
    upsample_weights,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_matrix_png(tmp_path):
    path = plot_confusion_matrix([[5, 1], [0, 3]], ["cat", "dog"], tmp_path / "plots" / "cm.png")
    assert path.read_bytes()[:8] == PNG


def test_attention_png_checks_the_shape(tmp_path):
    weights = np.full((3, 2), 0.5)
    path = plot_attention(weights, ["a", "b"], ["x", "y", "<eos>"], tmp_path / "attention.png")
    assert path.read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match=r"weights \(3, 2\) do not match 2 output and 2 source"):
        plot_attention(weights, ["a", "b"], ["x", "y"], tmp_path / "wrong.png")


def test_caption_attention_is_upsampled_over_the_image(tmp_path):
    weights = np.zeros((2, 4))
    weights[0, 0] = weights[1, 3] = 1.0  # top-left, then bottom-right cell of a 2 x 2 grid
    maps = upsample_weights(weights, (8, 8))
    assert maps.shape == (2, 8, 8)
    assert maps[0, 0, 0] > maps[0, 7, 7] and maps[1, 7, 7] > maps[1, 0, 0]
    with pytest.raises(ValueError, match="square grid"):
        upsample_weights(np.zeros((1, 3)), (8, 8))
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    path = plot_attention_map(image, ["a", "b"], weights, tmp_path / "map.png", "title")
    assert path.read_bytes()[:8] == PNG
