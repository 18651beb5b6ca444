"""A tiny folder of generated PNG images with a ``captions.tsv``, for the captioning tests:
coloured circles and squares (RGBA, transparent background) at a few positions."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

COLOURS = {"red": (220, 30, 30, 255), "blue": (30, 30, 220, 255), "green": (30, 160, 30, 255)}
SHAPES = ("circle", "square")
CORNERS = ((4, 4), (24, 20), (14, 28))


def write_shapes_folder(folder: Path, size: int = 64) -> Path:
    """``len(COLOURS) * len(SHAPES) * len(CORNERS)`` = 18 images, caption "<colour> <shape>"."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    lines = ["file\tcaption"]
    for colour, fill in COLOURS.items():
        for shape in SHAPES:
            for k, (x, y) in enumerate(CORNERS):
                image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
                draw = ImageDraw.Draw(image)
                box = [x, y, x + size // 2, y + size // 2]
                (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=fill)
                name = f"{colour}-{shape}-{k}.png"
                image.save(folder / name)
                lines.append(f"{name}\t{colour} {shape}")
    (folder / "captions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds none: all PIL reads
    before it decodes, so a 20000x20000 "image" costs a few bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
