"""Opening an image file (PNG, JPEG, ...) with PIL: the one place every command does it.

    image = open_image(path.read_bytes(), str(path), "RGBA")   # decoded, in that mode

A file PIL cannot read, a damaged one, or one of more than ``MAX_PIXELS`` pixels is a
ValueError that names the file (``source``) and says what is allowed, so ``rnnkit caption``,
``rnnkit predict --image``, ``rnnkit train caption`` and the studio all refuse it alike.

``MAX_PIXELS`` is 8192x8192, below PIL's own decompression-bomb limits (a warning above
89,478,485 pixels, an error above twice that): every image here is shrunk to 64x64 or
smaller, and a larger one would take gigabytes to decode for nothing. The size is read from
the file's header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import re
import warnings

MAX_SIDE = 8192
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # 67,108,864


def open_image(data: bytes, source: str, mode: str):
    """The image file's bytes ``data``, decoded and converted to PIL ``mode`` ("RGBA", "L");
    ``source`` names the file in the errors (module docstring)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:  # over PIL's limit: its message has the size
        found = re.search(r"\((\d+) pixels\)", str(error))
        pixels = f"{int(found[1]):,}" if found else f"over {2 * Image.MAX_IMAGE_PIXELS:,}"
        raise ValueError(_too_large(source, f"{pixels} pixels")) from None
    except UnidentifiedImageError:
        raise ValueError(f"{source} is not an image PIL can read (PNG, JPEG, ...)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(_damaged(source, error)) from None
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError(_too_large(source, f"{width}x{height} pixels"))
        try:
            return image.convert(mode)
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(_damaged(source, error)) from None


def _damaged(source: str, error: Exception) -> str:
    detail = " ".join(str(error).split())
    return f"{source} is a damaged image PIL cannot decode ({detail})"


def _too_large(source: str, size: str) -> str:
    return (
        f"{source} is {size}; an image may have at most {MAX_PIXELS:,} pixels "
        f"({MAX_SIDE}x{MAX_SIDE}): shrink it first"
    )
