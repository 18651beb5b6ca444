"""The emoji data set offline: emoji.json's captions, the split by emoji, a fake npm tarball
fetched and read back, the npm client's command, and a user's folder of captioned images."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import subprocess

import numpy as np
import pytest
from tests.data.conftest import tar_bytes

from rnnkit.data import fetch
from rnnkit.data.captions import (
    caption_from_name,
    emoji_files,
    load_captions,
    parse_captions_tsv,
    parse_emoji_json,
    read_rgb,
    split_by_group,
)
from rnnkit.data.fetch import fetch_dataset

EMOJI = [
    {"unified": "0023-FE0F-20E3", "image": "0023-fe0f-20e3.png", "name": "HASH KEY",
     "short_name": "hash", "has_img_google": True},
    {"unified": "1F385", "image": "1f385.png", "name": "FATHER CHRISTMAS", "short_name": "santa",
     "has_img_google": True, "skin_variations": {
         "1F3FB": {"unified": "1F385-1F3FB", "image": "1f385-1f3fb.png", "has_img_google": True},
         "1F3FF": {"unified": "1F385-1F3FF", "image": "1f385-1f3ff.png", "has_img_google": True},
         "1F3FC": {"unified": "1F385-1F3FC", "image": "1f385-1f3fc.png", "has_img_google": False},
     }},
    {"unified": "1F1E8-1F1EE", "image": "1f1e8-1f1ee.png", "name": "C\u00f4te d\u2019Ivoire Flag",
     "short_name": "flag-ci", "has_img_google": True},
    {"unified": "1F600", "image": "1f600.png", "name": "", "short_name": "grinning_face",
     "has_img_google": True},
    {"unified": "1F47E", "image": "1f47e.png", "name": "ALIEN MONSTER", "short_name": "space",
     "has_img_google": False},
]  # fmt: skip


def png_bytes(rgba) -> bytes:
    """A 64x64 PNG: the top half ``rgba``, the bottom half fully transparent."""
    from PIL import Image

    pixels = np.zeros((64, 64, 4), dtype=np.uint8)
    pixels[:32] = rgba
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "caption"),
    [
        ("FATHER CHRISTMAS", "father christmas"),
        ("C\u00f4te d\u2019Ivoire Flag", "cote divoire flag"),
        ("Antigua & Barbuda Flag", "antigua and barbuda flag"),
        ("KEYCAP: *", "keycap"),
        ("FAMILY: MAN, WOMAN, BOY", "family man woman boy"),
        ("CLOCK FACE NINE OCLOCK", "clock face nine oclock"),
        ("Guinea-Bissau Flag", "guinea bissau flag"),
    ],
)
def test_caption_from_name(name, caption):
    assert caption_from_name(name) == caption


def test_parse_emoji_json_shares_the_base_caption_with_skin_tones():
    images = parse_emoji_json(json.dumps(EMOJI))
    assert [(i.file, i.caption, i.group) for i in images] == [
        ("0023-fe0f-20e3.png", "hash key", "0023-FE0F-20E3"),
        ("1f385.png", "father christmas", "1F385"),
        ("1f385-1f3fb.png", "father christmas", "1F385"),
        ("1f385-1f3ff.png", "father christmas", "1F385"),
        ("1f1e8-1f1ee.png", "cote divoire flag", "1F1E8-1F1EE"),
        ("1f600.png", "grinning face", "1F600"),  # no name: the short name
    ]  # no Google image: the alien and one skin tone are left out
    with pytest.raises(ValueError, match="entry 0 is not an emoji"):
        parse_emoji_json(json.dumps([{"name": "X"}]))
    with pytest.raises(ValueError, match="cannot be parsed"):
        parse_emoji_json("[{")


def test_split_keeps_every_variant_of_an_emoji_in_one_split():
    groups = [f"g{k // 3}" for k in range(300)]  # 100 emoji with 3 images each
    splits = split_by_group(groups, seed=0)
    assert sorted(np.concatenate(list(splits.values())).tolist()) == list(range(300))
    assert [len(splits[p]) for p in ("train", "val", "test")] == [240, 30, 30]
    for part, rows in splits.items():
        others = set().union(*(splits[p] for p in splits if p != part))
        assert not {groups[i] for i in rows} & {groups[i] for i in others}, part
    assert all((split_by_group(groups, 0)[p] == splits[p]).all() for p in splits)  # fixed
    assert not (split_by_group(groups, seed=1)["test"] == splits["test"]).all()
    tiny = split_by_group(["a", "b", "c", "a"])  # at least one group in each split
    assert sorted(len(v) for v in tiny.values()) == [1, 1, 2]
    with pytest.raises(ValueError, match="the data set has 2 different caption"):
        split_by_group(["a", "b", "a"])


def test_read_rgb_composites_transparency_on_white():
    rgb = read_rgb(png_bytes((255, 0, 0, 128)), "x.png")
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert rgb[60, 5].tolist() == [255, 255, 255]  # transparent: white
    assert rgb[5, 5].tolist() == [255, 127, 127]  # half-transparent red over white
    assert read_rgb(png_bytes((0, 0, 255, 255)), "y.png", size=16).shape == (16, 16, 3)
    with pytest.raises(ValueError, match="not an image"):
        read_rgb(b"not a png", "z.png")


@pytest.fixture
def emoji_tgz(tmp_path):
    images = {e["image"]: png_bytes((40 * k, 200, 0, 255)) for k, e in enumerate(EMOJI)}
    images.update({"1f385-1f3fb.png": png_bytes((1, 2, 3, 255)), "1f385-1f3ff.png": png_bytes(0)})
    files = {f"package/img/google/64/{name}": data for name, data in images.items()}
    files["package/emoji.json"] = json.dumps(EMOJI).encode()
    files["package/img/google/sheets/64.png"] = b"a sprite sheet"
    files["package/package.json"] = b"{}"
    path = tmp_path / "emoji-datasource-google-16.0.0.tgz"
    path.write_bytes(tar_bytes(files, compression="gz"))
    return path


def test_emoji_files_keep_the_names_and_the_64px_images(emoji_tgz):
    kept = dict(emoji_files(emoji_tgz))
    assert "emoji.json" in kept and "img/google/sheets/64.png" not in kept
    assert "package.json" not in kept and "img/google/64/1f385.png" in kept
    assert len(kept) == 1 + 7


def test_fetch_from_an_npm_tarball_then_load(emoji_tgz, tmp_path, monkeypatch):
    pins = {"emoji.json": hashlib.sha256(json.dumps(EMOJI).encode()).hexdigest()}
    recipe = dataclasses.replace(fetch.RECIPES["emoji"], sha256=None, file_sha256=pins)
    monkeypatch.setitem(fetch.RECIPES, "emoji", recipe)
    cache = tmp_path / "cache"
    result = fetch_dataset("emoji", cache=cache, archive=emoji_tgz)
    assert result.marker["registry"] == "npm" and result.marker["files"] == 8
    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    data = load_captions("emoji")
    assert len(data.captions) == 6 and data.images.shape == (6, 64, 64, 3)
    assert data.card["package"] == "emoji-datasource-google" and data.card["counts"]["groups"] == 4
    santa = [i for i, g in enumerate(data.groups) if g == "1F385"]
    assert len({part for part, rows in data.splits.items() for i in rows if i in santa}) == 1
    assert data.images[santa[1], 5, 5].tolist() == [1, 2, 3]


def test_npm_download_runs_npm_pack(monkeypatch, tmp_path):
    calls = []

    def fake_run(command, cwd, capture_output, text):
        calls.append(command)
        (cwd / "emoji-datasource-google-16.0.0.tgz").write_bytes(b"x")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(fetch.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(fetch.subprocess, "run", fake_run)
    path = fetch.download_archive("emoji", fetch.RECIPES["emoji"], tmp_path / "download")
    assert calls == [["/usr/bin/npm", "pack", "emoji-datasource-google@16.0.0"]]
    assert path.name == "emoji-datasource-google-16.0.0.tgz"
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    with pytest.raises(fetch.FetchError, match="npm was not found.*--from FILE"):
        fetch.download_archive("emoji", fetch.RECIPES["emoji"], tmp_path / "again")


def test_a_user_folder_of_captioned_images(tmp_path):
    from tests.tasks.caption_fixtures import write_shapes_folder

    folder = write_shapes_folder(tmp_path / "shapes")
    data = load_captions(folder)
    assert len(data.captions) == 18 and data.captions[0] == "red circle"
    for part, rows in data.splits.items():  # one caption, one split
        assert len({data.captions[i] for i in rows}) * 3 == len(rows), part
    assert parse_captions_tsv("a.png\tA Cat!\n")[0].caption == "a cat"
    with pytest.raises(ValueError, match="line 2 has no tab"):
        parse_captions_tsv("file\tcaption\nb.png a dog\n")
    with pytest.raises(ValueError, match="has no captions.tsv"):
        load_captions(tmp_path)
    with pytest.raises(ValueError, match="folder of images"):
        load_captions(tmp_path / "missing")
    (folder / "captions.tsv").write_text("x.png\ta cat\ny.gif\ta dog\n")
    with pytest.raises(ValueError, match="not a .png/.jpg/.jpeg image"):
        load_captions(folder)
    (folder / "captions.tsv").write_text("x.png\ta cat\nred-circle-0.png\ta b\nz.png\tc\n")
    with pytest.raises(ValueError, match="no image .*x.png"):
        load_captions(folder)
    # too few captions to split: the error named no folder or file
    (folder / "captions.tsv").write_text("red-circle-0.png\ta cat\nred-circle-1.png\ta dog\n")
    with pytest.raises(ValueError) as error:
        load_captions(folder)
    assert str(error.value) == (
        f"{folder / 'captions.tsv'} has 2 different caption(s); the split by caption needs at "
        "least 3, one each for train, val and test (the images of one caption stay together): "
        "add images with other captions"
    )


def test_captions_tsv_with_a_bom_crlf_and_odd_line_breaks(tmp_path):
    from tests.tasks.caption_fixtures import write_shapes_folder

    folder = write_shapes_folder(tmp_path / "shapes")
    table = folder / "captions.tsv"
    table.write_bytes(b"\xef\xbb\xbf" + table.read_bytes().replace(b"\n", b"\r\n"))
    assert load_captions(folder).captions[0] == "red circle"
    with pytest.raises(ValueError, match="line 3 has no tab"):
        parse_captions_tsv("file\tcaption\na.png\ta\x0ccat\nb.png a dog\n")
    images = parse_captions_tsv("a.png\ta\x0ccat\u2028here\r\n")
    assert [(i.file, i.caption) for i in images] == [("a.png", "a cat here")]
    table.write_bytes(b"a.png\tcat\n\nb.png\tcaf\xe9\n")
    with pytest.raises(ValueError, match="captions.tsv is not UTF-8 text.*\\(line 3\\)"):
        load_captions(folder)
    table.write_bytes(b"a.png\tcat\x00\n")
    with pytest.raises(ValueError, match="NUL byte"):
        load_captions(folder)
