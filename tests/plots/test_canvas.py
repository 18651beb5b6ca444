"""The Agg figure and its atomically written file: the format its suffix names, never over
a file that is not a figure of that format."""

import re

import pytest

from rnnkit.plots.canvas import new_figure, save_png


def test_save_png_creates_folders_and_writes_a_whole_png(tmp_path):
    figure = new_figure(3, 2)
    figure.add_subplot().plot([0, 1], [1, 0])
    path = save_png(figure, tmp_path / "a" / "b" / "plot.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    assert [p.name for p in path.parent.iterdir()] == ["plot.png"]  # no temporary left behind


def _figure():
    figure = new_figure(3, 2)
    figure.add_subplot().plot([0, 1], [1, 0])
    return figure


@pytest.mark.parametrize(
    ("name", "magic"),
    [("plot.png", b"\x89PNG\r\n\x1a\n"), ("plot.svg", b"<?xml"), ("plot.pdf", b"%PDF-")],
)
def test_the_suffix_names_the_format_written(tmp_path, name, magic):
    path = save_png(_figure(), tmp_path / name)
    assert path.read_bytes().startswith(magic)
    again = save_png(_figure(), path)  # drawing again to the same name: replaced
    assert again.read_bytes().startswith(magic) and [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.png", b"keep me\n", "exists and is not a PNG figure"),
        ("plot.svg", b"\x89PNG\r\n\x1a\n", "exists and is not an SVG figure"),
        ("small.txt", b"hello world\n", "allowed: .png, .svg, .pdf (got '.txt')"),
    ],
)
def test_a_file_that_is_not_such_a_figure_is_never_replaced(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(message)):
        save_png(_figure(), path)
    assert path.read_bytes() == content and [p.name for p in tmp_path.iterdir()] == [name]


def test_a_folder_is_never_replaced(tmp_path):
    (tmp_path / "plots").mkdir()
    with pytest.raises(ValueError, match="is a folder; give a file name in it"):
        save_png(_figure(), tmp_path / "plots")
    assert (tmp_path / "plots").is_dir()
