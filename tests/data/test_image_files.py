"""Opening image files: one clear error, naming the file, for what PIL cannot or should not read."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image
from tests.tasks.caption_fixtures import png_header

from rnnkit.data.image_files import MAX_PIXELS, open_image


def encoded(image, format="PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format)
    return buffer.getvalue()


def test_a_large_but_sane_image_is_read_in_the_mode_asked():
    photo = encoded(Image.new("RGB", (3000, 2000), (200, 10, 10)), "JPEG")
    rgba = open_image(photo, "photo.jpg", "RGBA")
    assert rgba.mode == "RGBA" and rgba.size == (3000, 2000)
    assert abs(rgba.getpixel((1500, 1000))[0] - 200) <= 2
    grey = open_image(encoded(Image.new("L", (8, 4), 77)), "small.png", "L")
    assert grey.mode == "L" and grey.size == (8, 4) and grey.getpixel((0, 0)) == 77


def test_not_an_image_names_the_file_and_the_formats():
    with pytest.raises(ValueError) as error:
        open_image(b"hello world, this is some small text.\n", "some.txt", "RGBA")
    assert str(error.value) == "some.txt is not an image PIL can read (PNG, JPEG, ...)"


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (20000, 20000, "400,000,000 pixels"),  # over PIL's own limit: its error, made ours
        (10000, 9000, "10000x9000 pixels"),  # between PIL's warning and its error
        (8193, 8192, "8193x8192 pixels"),  # just over ours
    ],
)
def test_too_many_pixels_names_the_file_the_size_and_the_limit(width, height, size):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not even PIL's DecompressionBombWarning
        with pytest.raises(ValueError) as error:
            open_image(png_header(width, height), "huge.png", "RGBA")
    assert str(error.value) == (
        f"huge.png is {size}; an image may have at most {MAX_PIXELS:,} pixels (8192x8192): "
        "shrink it first"
    )


def test_a_truncated_image_is_damaged():
    photo = encoded(Image.effect_noise((64, 64), 50).convert("RGB"), "JPEG")
    with pytest.raises(ValueError, match=r"^cut.jpg is a damaged image PIL cannot decode \("):
        open_image(photo[: len(photo) // 2], "cut.jpg", "RGB")
    # at the limit the size is allowed: PIL goes on, and finds no pixels
    with pytest.raises(ValueError, match=r"^edge.png is a damaged image"):
        open_image(png_header(8192, 8192), "edge.png", "RGB")


def test_a_16_bit_grey_png_reads_as_its_8_bit_version():
    """PIL's convert clipped every value above 255, so such an image came out nearly white."""
    grey = np.arange(256, dtype=np.uint16).reshape(16, 16)  # every 8-bit level once
    data = encoded(Image.fromarray(grey * 257))  # the same image in 16 bits: 255 -> 65535
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    np.testing.assert_array_equal(open_image(data, "deep.png", "L"), grey)
    rgba = np.asarray(open_image(data, "deep.png", "RGBA"))
    np.testing.assert_array_equal(rgba[..., :3], np.repeat(grey[..., None], 3, axis=2))
    assert (rgba[..., 3] == 255).all()
    # between the levels: the nearest, as v * 255 / 65535 rounded
    values = np.array([[0, 128, 129, 32767, 32768, 65407, 65408, 65535]], dtype=np.uint16)
    read = open_image(encoded(Image.fromarray(values)), "deep.png", "L")
    np.testing.assert_array_equal(read, np.round(values.astype(np.float64) * 255 / 65535))
    # a transparent grey value (tRNS) stays transparent
    buffer = io.BytesIO()
    Image.fromarray(grey * 257).save(buffer, format="PNG", transparency=5 * 257)
    rgba = np.asarray(open_image(buffer.getvalue(), "deep.png", "RGBA"))
    assert rgba.reshape(-1, 4)[5].tolist() == [5, 5, 5, 0] and (rgba[..., 3] == 0).sum() == 1


def test_a_32_bit_integer_image_is_read_as_16_bits_or_refused():
    grey = np.arange(256, dtype=np.int32).reshape(16, 16)
    tiff = encoded(Image.fromarray(grey * 257), "TIFF")
    assert Image.open(io.BytesIO(tiff)).mode == "I"
    np.testing.assert_array_equal(open_image(tiff, "deep.tif", "L"), grey)
    tiff = encoded(Image.fromarray(np.array([[0, 70000], [-1, 5]], dtype=np.int32)), "TIFF")
    with pytest.raises(ValueError) as error:
        open_image(tiff, "wide.tif", "RGBA")
    assert str(error.value) == (
        "wide.tif is a 32-bit integer image with values from -1 to 70000; rnnkit reads 8- and "
        "16-bit images (values 0-65535): save it as an 8- or 16-bit PNG"
    )


def test_a_truncated_16_bit_png_is_damaged():
    data = encoded(Image.fromarray(np.arange(4096, dtype=np.uint16).reshape(64, 64) * 16))
    with pytest.raises(ValueError, match=r"^cut.png is a damaged image PIL cannot decode \("):
        open_image(data[: len(data) // 2], "cut.png", "L")
