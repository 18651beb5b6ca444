"""Images with captions, split so that no caption's image is seen in two splits.

    data = load_captions("emoji")               # after `rnnkit data fetch emoji`
    data.captions[0], data.images[0].shape      # 'hash key', (64, 64, 3) uint8, RGB
    train = data.splits["train"]                # int64 indices into images and captions

Two sources:

``emoji``: the 64x64 Google emoji PNGs of the npm package ``emoji-datasource-google@16.0.0``
(``img/google/64/*.png``), captioned with each emoji's Unicode name from ``emoji.json``
(``name``: ``"FATHER CHRISTMAS"`` -> ``"father christmas"``, see :func:`caption_from_name`).
Every base emoji is one image; each of its skin-tone variants (``skin_variations``, 1,875 of
the 3,786 images) is another image **with the base emoji's caption**: the names say what an
emoji is, not its colour, and appending ``"... medium skin tone"`` would hand a model five
easy words on a quarter of the captions that it could read off the colour alone.

``FOLDER``: a user's folder of PNG (or JPEG) images and ``captions.tsv`` with one
``file<TAB>caption`` line per image (file relative to the folder; a first line
``file<TAB>caption`` is a header and skipped). Captions are normalised the same way.

Images become RGB, 64x64, uint8: a transparent background is composited on white (the
emoji's PNGs are RGBA), other sizes are resized (Lanczos).

**Splits** are by *group*, never by image: the variants of one emoji share its group (its
base ``unified`` code point sequence), and in a user folder images with the same caption
share one, so a test caption is never a training caption. Groups are ordered by
``sha256(f"{seed}:{group}")`` (a hash, so NumPy versions do not move them) and cut there:
10 % of the groups test, the next 10 % validation, the rest train (each at least one group).
For ``emoji`` with seed 0: 1,911 emoji in 1,529 / 191 / 191 groups.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data.archives import iter_tar_files
from rnnkit.data.image_files import open_image
from rnnkit.data.text_files import decode_text, split_lines

SPLIT_SEED = 0
PARTS = ("train", "val", "test")
IMAGE_SIZE = 64
EMOJI_JSON = "emoji.json"
EMOJI_IMAGES = "img/google/64"
CAPTIONS_FILE = "captions.tsv"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
VAL_FRACTION = 0.1
TEST_FRACTION = 0.1


@dataclass(frozen=True)
class CaptionedImage:
    """One image file (relative to its folder), its caption and its split group."""

    file: str
    caption: str
    group: str


@dataclass(frozen=True)
class CaptionData:
    """Images ``(N, 64, 64, 3)`` uint8 RGB, their captions, groups and the fixed splits."""

    name: str
    files: list[str]
    captions: list[str]
    groups: list[str]
    images: np.ndarray
    splits: dict[str, np.ndarray]
    card: dict


# -- the npm package ---------------------------------------------------------------------------


def emoji_files(tgz: Path) -> Iterator[tuple[str, bytes]]:
    """A ``Recipe.files``: ``emoji.json`` and ``img/google/64/*.png`` of the npm tarball,
    paths without npm's top folder ``package/``."""
    import tarfile

    def keep(path: str) -> bool:
        inner = path.partition("/")[2]
        return inner == EMOJI_JSON or (
            inner.startswith(EMOJI_IMAGES + "/") and inner.endswith(".png")
        )

    with tarfile.open(tgz, mode="r|gz") as archive:
        for path, data in iter_tar_files(archive, keep):
            yield path.partition("/")[2], data


# -- captions ----------------------------------------------------------------------------------


def caption_from_name(name: str) -> str:
    """Lowercase words of a name: accents dropped, ``&`` -> ``and``, apostrophes removed,
    any other punctuation a space. ``"Côte d’Ivoire Flag"`` -> ``"cote divoire flag"``,
    ``"KEYCAP: *"`` -> ``"keycap"``."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ").replace("\u2019", "").replace("'", "")
    return " ".join(re.findall(r"[a-z0-9]+", text))


def parse_emoji_json(text: str) -> list[CaptionedImage]:
    """Every Google image of ``emoji.json`` (bases and skin-tone variants) with its caption
    (the base's ``name``, or its ``short_name`` when the name has no words) and group."""
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{EMOJI_JSON} cannot be parsed: {error}") from None
    if not isinstance(entries, list):
        raise ValueError(f"{EMOJI_JSON} must hold a list of emoji, got {type(entries).__name__}")
    images = []
    for number, entry in enumerate(entries):
        try:
            group, image = entry["unified"], entry["image"]
            caption = caption_from_name(entry.get("name") or "")
            caption = caption or caption_from_name(entry.get("short_name") or "")
            variants = (entry.get("skin_variations") or {}).values()
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{EMOJI_JSON}: entry {number} is not an emoji ({error})") from None
        if not caption:
            raise ValueError(f"{EMOJI_JSON}: emoji {group} has no name to caption it with")
        if entry.get("has_img_google", True):
            images.append(CaptionedImage(image, caption, group))
        for variant in variants:
            if variant.get("has_img_google", True):
                images.append(CaptionedImage(variant["image"], caption, group))
    return images


def parse_captions_tsv(text: str, source: str = CAPTIONS_FILE) -> list[CaptionedImage]:
    """``file<TAB>caption`` lines (optional header ``file<TAB>caption``); group = caption."""
    images = []
    for number, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        file, tab, caption = line.partition("\t")
        if number == 1 and (file.strip().lower(), caption.strip().lower()) == ("file", "caption"):
            continue
        if not tab:
            raise ValueError(f"{source}: line {number} has no tab; each line is file<TAB>caption")
        words = caption_from_name(caption)
        if not file.strip() or not words:
            raise ValueError(
                f"{source}: line {number} needs a file name and a caption with words, got {line!r}"
            )
        images.append(CaptionedImage(file.strip(), words, words))
    if not images:
        raise ValueError(f"{source} holds no captions; each line is file<TAB>caption")
    return images


# -- images ------------------------------------------------------------------------------------


def read_rgb(data: bytes, source: str, size: int = IMAGE_SIZE) -> np.ndarray:
    """An image file's bytes as ``(size, size, 3)`` uint8 RGB, transparency on white."""
    from PIL import Image

    rgba = open_image(data, source, "RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, rgba).convert("RGB")
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
    return np.array(rgb, dtype=np.uint8)  # (size, size, 3), a writable copy


def read_images(folder: Path, files: Sequence[str]) -> np.ndarray:
    """``(N, 64, 64, 3)`` uint8 of ``files`` in ``folder``; a missing file is an error."""
    images = np.empty((len(files), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for index, file in enumerate(files):
        path = folder / file
        if not path.is_file():
            raise ValueError(f"no image {path} (named in the captions)")
        images[index] = read_rgb(path.read_bytes(), str(path))
    return images


# -- splits and loading ------------------------------------------------------------------------


def split_by_group(
    groups: Sequence[str],
    seed: int = SPLIT_SEED,
    val_fraction: float = VAL_FRACTION,
    test_fraction: float = TEST_FRACTION,
    source: str = "the data set",
) -> dict[str, np.ndarray]:
    """Sorted index arrays ``{"train", "val", "test"}``; every group lies in one split
    (see the module docstring). Needs at least three groups; ``source`` (the file the groups
    come from) names them in the error."""
    distinct = sorted(set(groups), key=lambda group: _key(seed, group))
    if len(distinct) < 3:
        raise ValueError(
            f"{source} has {len(distinct)} different caption(s); the split by caption needs "
            "at least 3, one each for train, val and test (the images of one caption stay "
            "together): add images with other captions"
        )
    n_test = min(max(1, round(test_fraction * len(distinct))), len(distinct) - 2)
    n_val = min(max(1, round(val_fraction * len(distinct))), len(distinct) - 1 - n_test)
    part_of = {group: "test" for group in distinct[:n_test]}
    part_of.update({group: "val" for group in distinct[n_test : n_test + n_val]})
    splits = {part: [] for part in PARTS}
    for index, group in enumerate(groups):
        splits[part_of.get(group, "train")].append(index)
    return {part: np.array(rows, dtype=np.int64) for part, rows in splits.items()}


def load_captions(
    name_or_folder: str | Path, seed: int = SPLIT_SEED, cache: Path | None = None
) -> CaptionData:
    """``emoji`` (fetched) or a folder with ``captions.tsv``, read and split."""
    from rnnkit.data.corpora import DATASETS, dataset_path, read_marker

    if str(name_or_folder) == "emoji":
        folder = dataset_path("emoji", cache)  # says how to fetch it when it is not here
        entries = parse_emoji_json((folder / EMOJI_JSON).read_text(encoding="utf-8"))
        entries = [CaptionedImage(f"{EMOJI_IMAGES}/{e.file}", e.caption, e.group) for e in entries]
        marker = read_marker("emoji", cache) or {}
        card = {
            "name": "emoji",
            "source": DATASETS["emoji"].origin,
            "package": marker.get("package"),
            "version": marker.get("package_version"),
            "archive_sha256": marker.get("archive_sha256"),
            "licence": DATASETS["emoji"].licence,
        }
        name, table = "emoji", folder / EMOJI_JSON
    else:
        folder = Path(name_or_folder).expanduser()
        entries = _read_folder_captions(folder)
        card = {"source": "user folder", "folder": str(folder.resolve())}
        name, table = folder.name or "captions", folder / CAPTIONS_FILE
    files = [e.file for e in entries]
    images = read_images(folder, files)
    groups = [e.group for e in entries]
    splits = split_by_group(groups, seed, source=str(table))
    card["counts"] = {
        "images": len(files),
        "groups": len(set(groups)),
        **{part: int(len(splits[part])) for part in PARTS},
    }
    return CaptionData(name, files, [e.caption for e in entries], groups, images, splits, card)


def data_fingerprint(data: CaptionData) -> str:
    """sha256 over every image, caption and split: tells a reloaded data set from a changed one."""
    digest = hashlib.sha256(np.ascontiguousarray(data.images).tobytes())
    for file, caption in zip(data.files, data.captions, strict=True):
        digest.update(f"{file}\0{caption}\0".encode("utf-8", "surrogatepass"))
    for part in PARTS:
        digest.update(part.encode() + data.splits[part].tobytes())
    return digest.hexdigest()


def _read_folder_captions(folder: Path) -> list[CaptionedImage]:
    if not folder.is_dir():
        raise ValueError(
            f"no data set or folder {str(folder)!r}; --dataset takes emoji or a folder of "
            f"images with a {CAPTIONS_FILE} (file<TAB>caption a line)"
        )
    table = folder / CAPTIONS_FILE
    if not table.is_file():
        raise ValueError(
            f"{folder} has no {CAPTIONS_FILE}; write one line per image: file<TAB>caption"
        )
    text = decode_text(table.read_bytes(), str(table))  # an empty file: "holds no captions"
    entries = parse_captions_tsv(text, str(table))
    bad = [e.file for e in entries if not e.file.lower().endswith(IMAGE_SUFFIXES)]
    if bad:
        raise ValueError(
            f"{table} names {bad[0]!r}, which is not a {'/'.join(IMAGE_SUFFIXES)} image"
        )
    return entries


def _key(seed: int, group: str) -> bytes:
    return hashlib.sha256(f"{seed}:{group}".encode("utf-8", "surrogatepass")).digest()
