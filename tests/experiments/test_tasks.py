"""The experiments' Trainer hooks: seeded batches that resume exactly, image sequences in
reading order, epochs that visit every training image once, the image baseline."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnkit.experiments.adding import AddingTask
from rnnkit.experiments.config import experiment_config
from rnnkit.experiments.copy_memory import CopyTask
from rnnkit.experiments.image_sequences import (
    ImageSequenceTask,
    as_sequences,
    check_seq_len,
    majority_accuracy,
    shift_images,
)
from rnnkit.experiments.synthetic import TEST, stream_seed, train_seed

from .conftest import tiny_images


def first_batches(task, start, count):
    return list(itertools.islice(task.train_batches(start), count))


@pytest.mark.parametrize("task_class", [AddingTask, CopyTask])
def test_generated_batches_resume_at_any_step_and_differ_between_steps(task_class):
    config = experiment_config(task_class.name, batch_size=4, test_size=8)
    task = task_class("lstm", 6, config)
    from_zero = first_batches(task, 0, 5)
    from_three = first_batches(task, 3, 2)
    for a, b in zip(from_zero[3:], from_three, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(from_zero[0][0], from_zero[1][0])


def test_the_test_batch_depends_on_the_length_not_the_training_seed():
    a = AddingTask("lstm", 6, experiment_config("adding", seed=1, test_size=8))
    b = AddingTask("lstm", 6, experiment_config("adding", seed=2, test_size=8))
    assert torch.equal(a.test[0], b.test[0])
    assert not torch.equal(first_batches(a, 0, 1)[0][0], first_batches(b, 0, 1)[0][0])


def test_pixel_sequences_read_the_image_row_by_row():
    images = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    pixels = as_sequences(images, 12)
    assert pixels.shape == (2, 12, 1)
    for t in range(12):
        assert torch.equal(pixels[:, t, 0], images[:, t // 4, t % 4])
    assert torch.equal(as_sequences(images, 3), images)


@pytest.mark.parametrize(
    ("task", "good", "bad"), [("digits", (8, 64), 10), ("seqmnist", (28, 784), 64)]
)
def test_image_lengths_are_rows_or_pixels(task, good, bad):
    for seq_len in good:
        check_seq_len(task, seq_len)
    with pytest.raises(ValueError, match="row by row"):
        check_seq_len(task, bad)


def test_an_epoch_visits_every_training_image_once_and_resumes_mid_epoch():
    data = tiny_images(8, 8, count=40)  # 24 training images
    config = experiment_config("digits", batch_size=5)
    task = ImageSequenceTask("digits", "lstm", 8, config, data=data)
    assert task.steps_per_epoch == 5
    epoch = first_batches(task, 0, 5)
    seen = torch.cat([inputs for inputs, _ in epoch])  # (24, 8, 8)
    train_images = torch.as_tensor(data.images[data.train_indices])
    train_images = (train_images - train_images.mean()) / train_images.std()  # standardised
    assert task.pixel_mean == pytest.approx(
        float(torch.as_tensor(data.images[data.train_indices]).mean())
    )
    assert len(seen) == 24
    torch.testing.assert_close(
        torch.stack(sorted(seen.flatten(1), key=lambda row: row.tolist())),
        torch.stack(sorted(train_images.flatten(1), key=lambda row: row.tolist())),
    )
    later = first_batches(task, 0, 8)
    resumed = first_batches(task, 6, 2)
    for a, b in zip(later[6:], resumed, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(later[0][0], later[5][0][:5])  # a new permutation each epoch


def test_image_baseline_is_the_majority_class_share_of_the_test_labels():
    train = torch.tensor([0, 1, 1, 2, 1])
    test = torch.tensor([1, 0, 1, 2])
    assert majority_accuracy(train, test) == pytest.approx(0.5)


def test_images_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="expected"):
        ImageSequenceTask("digits", "lstm", 8, experiment_config("digits"), tiny_images(28, 28))


def test_training_and_test_seeds_are_all_different():
    """torch keeps only 32 bits of a seed; the seeds must differ within those bits."""
    train = {train_seed(seed, step) for seed in range(4) for step in range(2000)}
    test = {stream_seed(TEST, seq_len) for seq_len in range(1, 2001)}
    assert all(0 <= s < 2**32 for s in train | test)
    assert len(train) == 8000 and len(test) == 2000 and not train & test


def test_shift_images_moves_every_pixel_by_hand():
    images = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 3, 4)
    moves = torch.tensor([[1, -2], [0, 0]])  # image 0: one down, two left
    out = shift_images(images, moves, fill=-1.0)
    for y in range(3):
        for x in range(4):
            source_y, source_x = y - 1, x + 2
            inside = 0 <= source_y < 3 and 0 <= source_x < 4
            expected = images[0, source_y, source_x] if inside else -1.0
            assert out[0, y, x] == expected
    assert torch.equal(out[1], images[1])


def test_augmented_batches_move_training_images_only_and_resume_exactly():
    data = tiny_images(8, 8, count=40)
    config = experiment_config("digits", batch_size=5, augment_shift=2)
    task = ImageSequenceTask("digits", "lstm", 64, config, data=data)
    plain = ImageSequenceTask("digits", "lstm", 64, experiment_config("digits", batch_size=5), data)
    moved = first_batches(task, 0, 8)
    unmoved = first_batches(plain, 0, 8)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(moved, unmoved, strict=True))  # same order
    assert sum(not torch.equal(a[0], b[0]) for a, b in zip(moved, unmoved, strict=True)) >= 6
    # every moved image is its original shifted by at most 2 pixels, background filled in
    inputs, labels = moved[0]
    originals = unmoved[0][0].view(5, 8, 8)
    for image, original in zip(inputs.view(5, 8, 8), originals, strict=True):
        candidates = [
            shift_images(original[None], torch.tensor([[dy, dx]]), task.background)[0]
            for dy in range(-2, 3)
            for dx in range(-2, 3)
        ]
        assert any(torch.equal(image, candidate) for candidate in candidates)
    resumed = first_batches(task, 6, 2)
    for a, b in zip(moved[6:], resumed, strict=True):
        assert torch.equal(a[0], b[0])
    torch.testing.assert_close(task.sequences[task.test], plain.sequences[plain.test])


def test_augment_shift_is_for_images_only():
    with pytest.raises(ValueError, match="applies to digits and seqmnist, not adding"):
        experiment_config("adding", augment_shift=2)
    with pytest.raises(ValueError, match="augment_shift must be an integer >= 0"):
        experiment_config("digits", augment_shift=-1)
