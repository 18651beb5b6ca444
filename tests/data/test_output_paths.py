"""The paths a user names for rnnkit to write: a figure goes over nothing, an empty file or a
figure of its own format (by magic bytes), never over anything else; folders are made, and a
file in their place is refused. Every refusal leaves the user's file byte for byte."""

import errno
from pathlib import Path

import pytest

from rnnkit.data.output_paths import (
    figure_format,
    figure_path,
    figure_paths,
    make_folder,
    why_unwritable,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
SVG = b'<?xml version="1.0" encoding="utf-8" standalone="no"?>\n<!DOCTYPE svg>\n<svg>'
PDF = b"%PDF-1.4\n%\xac\xdc"


@pytest.mark.parametrize(("name", "fmt"), [("a.png", "png"), ("b.SVG", "svg"), ("c.pdf", "pdf")])
def test_the_suffix_names_the_format(name, fmt):
    assert figure_format(name) == fmt


@pytest.mark.parametrize(("name", "got"), [("a.jpg", "'.jpg'"), ("plot", "no suffix")])
def test_another_suffix_is_refused_naming_the_allowed_ones(name, got):
    with pytest.raises(ValueError, match="--plot") as error:
        figure_path(name, "--plot")
    assert "allowed: .png, .svg, .pdf" in str(error.value) and f"(got {got})" in str(error.value)


@pytest.mark.parametrize(
    ("name", "content"),
    [("new.png", None), ("old.png", PNG), ("old.svg", SVG), ("old.pdf", PDF), ("empty.png", b"")],
)
def test_a_figure_goes_over_nothing_an_empty_file_or_a_figure_of_its_format(
    tmp_path, name, content
):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert figure_path(path, "--plot") == path


@pytest.mark.parametrize(
    ("name", "content", "article"),
    [
        ("notes.png", b"keep me\n", "a PNG"),
        ("fake.png", SVG, "a PNG"),  # a figure, but not of the format its name says
        ("pic.svg", PNG, "an SVG"),
        ("doc.pdf", b"<svg>", "a PDF"),
        ("text.svg", b"<?xml version='1.0'?><note>no svg here</note>", "an SVG"),
    ],
)
def test_any_other_file_is_refused_and_left_as_it_was(tmp_path, name, content, article):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"exists and is not {article} figure") as error:
        figure_path(path, "--attention-png")
    assert str(error.value).startswith(f"--attention-png {path} ")
    assert "choose another name" in str(error.value)
    assert path.read_bytes() == content


def test_a_folder_is_refused_with_a_file_name_to_give(tmp_path):
    with pytest.raises(ValueError, match="is a folder; give a file name in it") as error:
        figure_path(tmp_path, "--plot")
    assert str(error.value).startswith(f"--plot {tmp_path} ")


def test_a_missing_folder_or_a_file_on_the_way_is_named(tmp_path):
    with pytest.raises(ValueError, match=f"its folder {tmp_path / 'nowhere'} does not exist"):
        figure_path(tmp_path / "nowhere" / "plot.png", "--plot")
    corpus = tmp_path / "small.txt"
    corpus.write_text("hello\n")
    with pytest.raises(ValueError, match=f"cannot be written: {corpus} is not a folder"):
        figure_path(corpus / "plot.png", "--plot")
    assert corpus.read_text() == "hello\n"


def test_figure_paths_one_a_label_numbered_where_labels_repeat(tmp_path):
    given = tmp_path / "map.png"
    assert figure_paths(None, ["a", "b"], "--attention-png") == [None, None]
    assert figure_paths(given, ["x"], "--attention-png") == [given]
    distinct = figure_paths(given, ["cat", "dog"], "--attention-png")
    assert distinct == [tmp_path / "map-cat.png", tmp_path / "map-dog.png"]
    repeated = figure_paths(given, ["x", "y", "x", "X"], "--attention-png")
    assert [p.name for p in repeated] == [
        "map-1-x.png",
        "map-2-y.png",
        "map-3-x.png",
        "map-4-X.png",
    ]
    tricky = figure_paths(given, ["x", "x", "1-x"], "--attention-png")  # a stem like a number
    assert len(set(tricky)) == 3


def test_figure_paths_refuse_a_path_that_is_an_input(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(PNG)
    (tmp_path / "link.png").symlink_to(image)
    (tmp_path / "sub").mkdir()
    for given in (image, tmp_path / "sub" / ".." / "a.png", tmp_path / "link.png"):
        with pytest.raises(ValueError) as error:
            figure_paths(given, ["a"], "--attention-png", inputs=[str(image)])
        assert str(error.value) == (
            f"--attention-png {given} is {image}, an input of the command; rnnkit does not "
            "write over what it reads: choose another name"
        )
    other = tmp_path / "map-a.png"  # an input that another input's figure would go over
    other.write_bytes(PNG)
    with pytest.raises(ValueError, match=f"--plot {other} is {other}, an input"):
        figure_paths(tmp_path / "map.png", ["map-a", "a"], "--plot", inputs=[other, image])
    assert image.read_bytes() == PNG
    elsewhere = figure_paths(tmp_path / "b.png", ["a"], "--attention-png", inputs=[image])
    assert elsewhere == [tmp_path / "b.png"]


def test_make_folder_makes_parents_and_refuses_a_file(tmp_path):
    made = make_folder(tmp_path / "a" / "b", "--out", "the run")
    assert made.is_dir() and make_folder(made, "--out", "the run") == made  # again: fine
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello\n")
    with pytest.raises(ValueError) as error:
        make_folder(corpus, "--out", "the run")
    assert str(error.value) == f"--out {corpus} is a file; give a directory for the run"
    with pytest.raises(ValueError) as error:
        make_folder(corpus / "sub", "--runs-dir", "the runs")
    expected = f"--runs-dir {corpus / 'sub'} cannot be made: {corpus} is not a folder"
    assert str(error.value) == expected
    assert corpus.read_bytes() == b"hello\n"
    assert sorted(tmp_path.iterdir()) == [tmp_path / "a", corpus]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_takes_no_new_entries_is_named():
    with pytest.raises(ValueError, match=r"^--out /proc/rnnkit-x cannot be made: ") as error:
        make_folder("/proc/rnnkit-x", "--out", "the run")
    assert "/proc" in str(error.value) and "Errno" not in str(error.value)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EACCES, "no permission to write in {folder}"),
        (errno.ENOSPC, "no space left on the device"),
        (errno.EROFS, "{folder} is on a read-only file system"),
        (errno.EISDIR, "it is a folder"),
    ],
)
def test_why_unwritable_says_it_in_words(tmp_path, code, words):
    error = OSError(code, "raw text", str(tmp_path / ".plot.png.123.tmp"))
    assert why_unwritable(tmp_path / "plot.png", error) == words.format(folder=tmp_path)


def test_a_leading_tilde_is_the_home_folder(tmp_path, monkeypatch):
    """``--plot=~/x.png`` or a quoted "~/runs" reaches rnnkit unexpanded by the shell."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)
    assert figure_path("~/fc.png", "--plot") == tmp_path / "fc.png"
    assert figure_paths("~/map.png", ["a", "b"], "--attention-png") == [
        tmp_path / "map-a.png",
        tmp_path / "map-b.png",
    ]
    (tmp_path / "cat.png").write_bytes(PNG)  # an input, however named, is never drawn over
    with pytest.raises(ValueError, match="an input of the command"):
        figure_paths("~/cat.png", ["cat"], "--attention-png", inputs=[tmp_path / "cat.png"])
    assert make_folder("~/out/run", "--out", "the run") == tmp_path / "out" / "run"
    assert (tmp_path / "out" / "run").is_dir() and not (tmp_path.parent / "~").exists()
