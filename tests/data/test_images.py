"""Image sets: parsing, scaling, the fixed splits and the errors, on small CSV files made here."""

import gzip
import hashlib

import numpy as np
import pytest

from rnnkit.data.images import (
    IMAGE_FORMATS,
    load_images,
    read_image_csv,
    stratified_split,
    to_sequences,
)


def image_csv(path, pixels, labels, compress=True):
    """Write ``pixels`` (N, H*W) and ``labels`` (N,) as the data sets store them."""
    lines = [",".join(map(str, [*row, label])) for row, label in zip(pixels, labels, strict=True)]
    data = ("\n".join(lines) + "\n").encode("ascii")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def digits_file(tmp_path):
    """100 8x8 "digits", 10 of each class; pixel values 0..16 with 16 and 0 in every image."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 17, size=(100, 64))
    pixels[:, 0], pixels[:, 1] = 16, 0
    labels = np.arange(100) % 10
    return image_csv(tmp_path / "digits.csv.gz", pixels, labels), pixels, labels


def test_pixels_are_scaled_to_0_1_row_by_row(digits_file):
    path, pixels, labels = digits_file
    data = load_images("digits", path)
    assert data.images.shape == (100, 8, 8) and data.images.dtype == np.float32
    assert data.labels.dtype == np.int64 and data.labels.tolist() == labels.tolist()
    assert data.num_classes == 10 and data.name == "digits" and data.source == path
    np.testing.assert_allclose(data.images[3, 1, 2], pixels[3, 8 + 2] / 16)  # row 1, column 2
    assert data.images.max() == 1.0 and data.images.min() == 0.0


def test_plain_csv_reads_the_same_as_gzip(digits_file, tmp_path):
    path, pixels, labels = digits_file
    plain = image_csv(tmp_path / "digits.csv", pixels, labels, compress=False)
    np.testing.assert_array_equal(
        load_images("digits", plain).images, load_images("digits", path).images
    )


def test_splits_are_stratified_disjoint_and_complete(digits_file):
    data = load_images("digits", digits_file[0])
    train, val, test = data.train_indices, data.val_indices, data.test_indices
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    everything = np.concatenate([train, val, test])
    assert sorted(everything.tolist()) == list(range(100))
    assert np.bincount(data.labels[test], minlength=10).tolist() == [2] * 10
    assert np.bincount(data.labels[val], minlength=10).tolist() == [1] * 10
    x, y = data.part("val")
    np.testing.assert_array_equal(x, data.images[val])
    np.testing.assert_array_equal(y, data.labels[val])
    with pytest.raises(ValueError, match="unknown part 'dev'; choose from train, val, test"):
        data.part("dev")


def test_split_sizes_of_the_real_formats():
    labels = np.repeat(np.arange(10), 500)  # mnist5k: sorted by label, 500 of each
    fmt = IMAGE_FORMATS["mnist5k"]
    train, val, test = stratified_split(labels, fmt.val_fraction, fmt.test_fraction)
    assert (len(train), len(val), len(test)) == (3600, 400, 1000)
    for part, per_class in ((train, 360), (val, 40), (test, 100)):
        assert np.bincount(labels[part]).tolist() == [per_class] * 10
    assert len(np.intersect1d(train, test)) == len(np.intersect1d(val, test)) == 0


def test_split_is_fixed_by_the_seed():
    labels = np.arange(200) % 4
    first = stratified_split(labels, 0.1, 0.2, seed=0)
    again = stratified_split(labels, 0.1, 0.2, seed=0)
    other = stratified_split(labels, 0.1, 0.2, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[2], other[2])
    # the documented definition, written out: class 1's rows in the order of sha256("0:row")
    rows = sorted(range(1, 200, 4), key=lambda row: hashlib.sha256(f"0:{row}".encode()).digest())
    assert sorted(rows[:10]) == [row for row in first[2].tolist() if row % 4 == 1]
    assert sorted(rows[10:15]) == [row for row in first[1].tolist() if row % 4 == 1]


def test_to_sequences():
    images = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    assert to_sequences(images, "row").shape == (2, 3, 4)
    pixels = to_sequences(images, "pixel")
    assert pixels.shape == (2, 12, 1) and pixels[1, 5, 0] == images[1, 1, 1]
    with pytest.raises(ValueError, match="'row' or 'pixel'"):
        to_sequences(images, "column")


def test_not_fetched_names_the_fetch_command(tmp_path):
    with pytest.raises(ValueError, match="not fetched yet.*`rnnkit data fetch mnist5k`"):
        load_images("mnist5k", cache=tmp_path)
    with pytest.raises(ValueError, match="unknown image data set 'mnist'; choose from digits"):
        load_images("mnist")
    with pytest.raises(FileNotFoundError, match="expected digits.csv.gz"):
        load_images("digits", tmp_path / "missing.csv.gz")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,2,3\n", "line 1 has 3 values; expected 65"),
        (",".join(["0"] * 64 + ["x"]) + "\n", "not a whole number"),
        (",".join(["17"] * 64 + ["3"]) + "\n", "pixel values span 17..17; expected 0..16"),
        (",".join(["0"] * 64 + ["10"]) + "\n", "label values span 10..10; expected 0..9"),
        ("", "holds no images"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, line, message):
    path = tmp_path / "bad.csv"
    path.write_text(line)
    with pytest.raises(ValueError, match=message):
        read_image_csv(path, IMAGE_FORMATS["digits"])


EXPECTED = (
    "expected digits.csv.gz: CSV text, gzipped or not, one image a line (8x8 pixels, then the "
    "label)"
)


def test_a_truncated_gzip_file_says_what_is_expected(digits_file, tmp_path):
    whole = digits_file[0].read_bytes()
    assert read_image_csv(digits_file[0], IMAGE_FORMATS["digits"])[0].shape == (100, 64)
    cut = tmp_path / "trunc.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError) as error:
        read_image_csv(cut, IMAGE_FORMATS["digits"])
    message = str(error.value)
    assert message.startswith(f"{cut} is a damaged gzip file (") and message.endswith(EXPECTED)


def test_a_binary_file_says_what_is_expected(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes([0x85, 0x00, 0xFF]) * 100)
    with pytest.raises(ValueError) as error:
        read_image_csv(garbage, IMAGE_FORMATS["digits"])
    assert str(error.value) == f"{garbage} is not CSV text (byte 0x85 at offset 0); {EXPECTED}"
