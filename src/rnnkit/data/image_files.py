"""Opening an image file (PNG, JPEG, ...) with PIL: the one place every command does it.

    image = open_image(path.read_bytes(), str(path), "RGBA")   # decoded, in that mode

A file PIL cannot read, a damaged one, or one of more than ``MAX_PIXELS`` pixels is a
ValueError that names the file (``source``) and says what is allowed, so ``rnnkit caption``,
``rnnkit predict --image``, ``rnnkit train caption`` and the studio all refuse it alike.

``MAX_PIXELS`` is 8192x8192, below PIL's own decompression-bomb limits (a warning above
89,478,485 pixels, an error above twice that): every image here is shrunk to 64x64 or
smaller, and a larger one would take gigabytes to decode for nothing. The size is read from
the file's header, before any pixel is decoded.

A greyscale image of more than 8 bits (a 16-bit PNG, which PIL opens in mode ``I;16``; mode
``I``, 32-bit integers, from older PILs and 16-bit PGM/TIFF files) is scaled to 8 bits as an
8-bit version of it would be, ``v * 255 / 65535`` rounded: PIL's own ``convert`` would clip
every value above 255 to white. Mode ``I`` is read as 16-bit values; one holding a value
below 0 or above 65535 has no known range, and is refused.
"""

from __future__ import annotations

import io
import re
import warnings

MAX_SIDE = 8192
MAX_PIXELS = MAX_SIDE * MAX_SIDE  # 67,108,864


def open_image(data: bytes, source: str, mode: str):
    """The image file's bytes ``data``, decoded and converted to PIL ``mode`` ("RGBA", "L");
    ``source`` names the file in the errors. A 16-bit greyscale image (PIL mode ``I;16``, or
    ``I`` with values 0-65535) is scaled to 0-255 first; ``I`` outside that range is refused
    (module docstring)."""
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
        decoded = _to_8_bits(image, source)
        try:
            return decoded.convert(mode)
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(_damaged(source, error)) from None


def _to_8_bits(image, source: str):
    """``image`` unchanged, or, when it is greyscale of 16 or 32 bits (PIL ``I;16*``, ``I``),
    scaled to 8 bits (``L``, or ``LA`` for a transparent value): ``round(v * 255 / 65535)``."""
    import numpy as np
    from PIL import Image

    if image.mode != "I" and not image.mode.startswith("I;16"):
        return image
    try:
        values = np.asarray(image)  # (H, W) uint16 or int32; decodes the pixels
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(_damaged(source, error)) from None
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if low < 0 or high > 65535:
        raise ValueError(
            f"{source} is a 32-bit integer image with values from {low} to {high}; rnnkit "
            "reads 8- and 16-bit images (values 0-65535): save it as an 8- or 16-bit PNG"
        )
    scaled = (values.astype(np.uint32) * 255 + 32767) // 65535  # at most 255
    grey = Image.fromarray(scaled.astype(np.uint8))  # (H, W): mode L
    transparent = image.info.get("transparency")  # a PNG's tRNS: one grey value
    if isinstance(transparent, int):
        alpha = np.where(values == transparent, 0, 255).astype(np.uint8)
        return Image.merge("LA", (grey, Image.fromarray(alpha)))
    return grey


def _damaged(source: str, error: Exception) -> str:
    detail = " ".join(str(error).split())
    return f"{source} is a damaged image PIL cannot decode ({detail})"


def _too_large(source: str, size: str) -> str:
    return (
        f"{source} is {size}; an image may have at most {MAX_PIXELS:,} pixels "
        f"({MAX_SIDE}x{MAX_SIDE}): shrink it first"
    )
