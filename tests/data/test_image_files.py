"""Opening image files: one clear error, naming the file, for what PIL cannot or should not read."""

import io
import warnings

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
