"""Image distortions for training: rotations, scalings and elastic warps checked against
exact hand results (a quarter turn, a magnified ramp, a constant field as a whole-pixel shift),
their draws, and how the image task uses them (training images only, resumable)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from rnnkit.experiments.augment import Distortion, Draws, gaussian_blur
from rnnkit.experiments.config import experiment_config
from rnnkit.experiments.image_sequences import ImageSequenceTask, shift_images

from .conftest import tiny_images


def one(angle=None, scale=None, field=None) -> Draws:
    tensor = lambda v: None if v is None else torch.tensor([v], dtype=torch.float32)  # noqa: E731
    return Draws(tensor(angle), tensor(scale), None if field is None else field[None])


def test_a_quarter_turn_moves_every_pixel_to_its_rotated_place():
    image = torch.arange(36, dtype=torch.float32).view(1, 6, 6)
    out = Distortion(rotate=90).apply(image, one(angle=math.pi / 2), fill=-1.0)[0]
    # output pixel (row i, column j) reads the input at (row j, column W-1-i)
    expected = torch.stack([torch.stack([image[0, j, 5 - i] for j in range(6)]) for i in range(6)])
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)


def test_no_rotation_and_unit_scale_leave_the_image_exactly():
    image = torch.rand(3, 5, 7)
    warp = Distortion(rotate=5, scale=0.1)
    draws = Draws(torch.zeros(3), torch.ones(3), None)
    torch.testing.assert_close(warp.apply(image, draws, fill=0.3), image, atol=1e-6, rtol=0)


def test_magnifying_a_ramp_halves_its_slope_about_the_centre():
    ramp = torch.arange(8, dtype=torch.float32).expand(8, 8).clone()[None]  # value = column
    out = Distortion(scale=0.5).apply(ramp, one(angle=0.0, scale=2.0), fill=0.0)[0]
    expected = (3.5 + (torch.arange(8.0) - 3.5) / 2).expand(8, 8)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_a_constant_elastic_field_of_whole_pixels_is_a_shift():
    image = torch.rand(1, 6, 9)
    field = torch.zeros(2, 6, 9)
    field[0], field[1] = 2.0, -1.0  # read from 2 pixels right and 1 up: content moves left, down
    out = Distortion(elastic=2).apply(image, one(field=field), fill=-0.5)
    expected = shift_images(image, torch.tensor([[1, -2]]), fill=-0.5)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_draws_stay_in_their_ranges_and_repeat_with_the_generator():
    warp = Distortion(rotate=10, scale=0.2, elastic=1.5)
    draws = warp.draw(500, 8, 8, torch.Generator().manual_seed(3))
    again = warp.draw(500, 8, 8, torch.Generator().manual_seed(3))
    assert draws.angles.abs().max() <= math.radians(10) and draws.angles.std() > 0.05
    assert ((draws.scales >= 0.8) & (draws.scales <= 1.2)).all()
    peaks = draws.fields.abs().amax(dim=(1, 2, 3))
    torch.testing.assert_close(peaks, torch.full((500,), 1.5))
    for a, b in zip(
        (draws.angles, draws.scales, draws.fields),
        (again.angles, again.scales, again.fields),
        strict=True,
    ):
        assert torch.equal(a, b)
    assert Distortion(rotate=10).draw(4, 8, 8, torch.Generator()).fields is None


def test_gaussian_blur_keeps_a_constant_inside_and_sums_to_one():
    field = torch.ones(1, 2, 30, 30)
    blurred = gaussian_blur(field, sigma=2.0)
    torch.testing.assert_close(blurred[..., 10:20, 10:20], field[..., 10:20, 10:20])
    spike = torch.zeros(1, 1, 31, 31)
    spike[0, 0, 15, 15] = 1.0
    spread = gaussian_blur(spike, sigma=2.0)
    assert math.isclose(float(spread.sum()), 1.0, rel_tol=1e-5)
    assert spread[0, 0, 15, 15] == spread.max() and spread[0, 0, 15, 17] < spread[0, 0, 15, 16]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"augment_rotate": -1.0}, "augment_rotate must be in"),
        ({"augment_rotate": 180.0}, "augment_rotate must be in"),
        ({"augment_scale": 1.0}, "augment_scale must be in"),
        ({"augment_elastic": float("nan")}, "augment_elastic must be >= 0"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"weight_decay": -0.1}, "weight_decay must be a number >= 0"),
        ({"precision": "fp8"}, "unknown precision 'fp8'"),
    ],
)
def test_bad_settings_say_what_is_allowed(settings, message):
    with pytest.raises(ValueError, match=message):
        experiment_config("digits", **settings)


def test_distortions_are_for_images_only():
    with pytest.raises(ValueError, match="apply to digits and seqmnist, not copy"):
        experiment_config("copy", augment_rotate=5.0)


def test_the_image_task_distorts_training_images_only_and_resumes_exactly():
    data = tiny_images(8, 8, count=40)
    settings = {"batch_size": 5, "augment_rotate": 15.0, "augment_scale": 0.1}
    task = ImageSequenceTask("digits", "lstm", 64, experiment_config("digits", **settings), data)
    plain = ImageSequenceTask("digits", "lstm", 64, experiment_config("digits", batch_size=5), data)
    warped = list(itertools.islice(task.train_batches(0), 8))
    unwarped = list(itertools.islice(plain.train_batches(0), 8))
    assert all(torch.equal(a[1], b[1]) for a, b in zip(warped, unwarped, strict=True))
    assert all(not torch.equal(a[0], b[0]) for a, b in zip(warped, unwarped, strict=True))
    assert all(a[0].shape == b[0].shape for a, b in zip(warped, unwarped, strict=True))
    resumed = list(itertools.islice(task.train_batches(6), 2))
    for a, b in zip(warped[6:], resumed, strict=True):
        assert torch.equal(a[0], b[0])
    assert torch.equal(task.sequences[task.test], plain.sequences[plain.test])


def test_shifts_are_the_same_with_or_without_the_other_distortions():
    """Runs that only shift keep their earlier draws: shifts are drawn first."""
    data = tiny_images(8, 8, count=40)
    shifted = experiment_config("digits", batch_size=5, augment_shift=2)
    both = experiment_config("digits", batch_size=5, augment_shift=2, augment_elastic=1e-9)
    a = next(ImageSequenceTask("digits", "lstm", 64, shifted, data).train_batches(0))[0]
    b = next(ImageSequenceTask("digits", "lstm", 64, both, data).train_batches(0))[0]
    torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
