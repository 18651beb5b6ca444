"""rnnkit train caption, caption, evaluate and train --resume, end to end on a tiny folder of
generated PNGs (in process, through the real entry point)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.checks import assert_one_line_error, last_json
from tests.tasks.caption_fixtures import png_header, write_shapes_folder

OLD_RUN = Path(__file__).parents[1] / "fixtures" / "old_runs" / "caption"  # an attention run
TINY = ["--hidden-size", "8", "--embedding-size", "4", "--base-channels", "2",
        "--conv-blocks", "2", "--attention-size", "4", "--batch-size", "4"]  # fmt: skip


@pytest.fixture
def shapes(tmp_path):
    return write_shapes_folder(tmp_path / "shapes")


def test_train_caption_then_caption_evaluate_and_resume(rnnkit, shapes, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = rnnkit(
        "train", "caption", "--dataset", shapes, *TINY, "--max-steps", "2",
        "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = last_json(stdout)
    assert summary["steps"] == 2 and summary["conditioning"] == "attention"
    for key in ("test_bleu", "test_bleu_greedy", "test_chrf"):
        assert 0 <= summary[key] <= 100, key
    assert (out / "plots" / "attention-test-0.png").is_file()
    assert 0 <= summary["test_attention_on_emoji"] <= 1 and 0 < summary["test_emoji_area"] < 1
    assert len(json.loads((out / "test-captions.json").read_text())["examples"]) == 3

    image = shapes / "red-circle-0.png"
    code, stdout, err = rnnkit("caption", out, image, "--beam", "3", "--json",
                               "--attention-png", tmp_path / "map.png")  # fmt: skip
    assert code == 0, err
    result = json.loads(stdout)
    assert result["method"] == "beam 3" and (tmp_path / "map.png").is_file()
    code, stdout, err = rnnkit("caption", out, image, "--temperature", "0.8", "--seed", "1")
    assert code == 0 and stdout.startswith(f"{image}: "), err

    code, stdout, err = rnnkit("evaluate", out, "--json")
    assert code == 0, err
    scores = json.loads(stdout)
    assert scores["bleu_beam"] == pytest.approx(summary["test_bleu"])
    assert scores["split"] == "test" and scores["images"] == 3

    code, stdout, err = rnnkit("train", "--resume", out, "--max-steps", "3", "--json")
    assert code == 0, err
    assert last_json(stdout)["steps"] == 3
    assert_one_line_error(
        rnnkit("train", "caption", "--resume", out, "--hidden-size", "9"), "only --max-steps"
    )


def test_caption_errors_are_one_line(rnnkit, shapes, tmp_path):
    assert_one_line_error(rnnkit("train", "caption", "--max-steps", "1"), "--dataset emoji")
    assert_one_line_error(
        rnnkit("train", "caption", "--dataset", tmp_path, "--max-steps", "1"), "captions.tsv"
    )
    out = tmp_path / "init"
    code, stdout, err = rnnkit("train", "caption", "--dataset", shapes, *TINY, "--conditioning",
                               "init", "--select", "bleu", "--max-steps", "1", "--out", out,
                               "--json")  # fmt: skip
    assert code == 0, err
    assert last_json(stdout)["selected_by"] == "val_bleu_gap"
    image = shapes / "blue-square-1.png"
    code, stdout, err = rnnkit("caption", out, image, "--beam", "1")
    assert code == 0, err
    assert_one_line_error(
        rnnkit("caption", out, image, "--attention-png", tmp_path / "x.png"), "attention run"
    )
    assert_one_line_error(rnnkit("caption", out, tmp_path / "none.png"), "no image file")
    assert_one_line_error(rnnkit("caption", tmp_path, image), "not an rnnkit run directory")


def test_files_that_are_not_sane_images_are_one_line(rnnkit, shapes, tmp_path):
    text = tmp_path / "some.txt"
    text.write_text("hello world, this is some small text.\n", encoding="utf-8")
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header(20000, 20000))
    out = tmp_path / "run"
    training = ["train", "caption", "--dataset", shapes, *TINY, "--conditioning", "init"]
    code, _, err = rnnkit(*training, "--max-steps", "1", "--out", out)
    assert code == 0, err
    assert rnnkit("caption", out, shapes / "red-circle-0.png")[0] == 0
    not_image = f"{text} is not an image PIL can read (PNG, JPEG, ...)"
    assert_one_line_error(rnnkit("caption", out, text), not_image)
    too_large = f"{huge} is 400,000,000 pixels; an image may have at most 67,108,864 pixels"
    assert_one_line_error(rnnkit("caption", out, huge), too_large)
    # a data set listing such an image stops before any run directory is made
    (shapes / "huge.png").write_bytes(huge.read_bytes())
    with open(shapes / "captions.tsv", "a", encoding="utf-8") as table:
        table.write("huge.png\tred square\n")
    again = tmp_path / "again"
    result = rnnkit(*training, "--max-steps", "1", "--out", again)
    assert_one_line_error(result, f"{shapes / 'huge.png'} is 400,000,000 pixels")
    assert not again.exists()


def test_attention_png_never_replaces_a_file_that_is_not_a_figure(rnnkit, shapes, tmp_path):
    out = tmp_path / "run"
    code, _, err = rnnkit("train", "caption", "--dataset", shapes, *TINY, "--max-steps", "1",
                          "--heatmaps", "0", "--out", out)  # fmt: skip
    assert code == 0, err
    images = [shapes / "red-circle-0.png", shapes / "blue-square-1.png"]
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello world\n")
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"keep me\n")
    for png, words in [
        (tmp_path, f"--attention-png {tmp_path} is a folder; give a file name in it"),
        (corpus, "allowed: .png, .svg, .pdf (got '.txt')"),
        (notes, f"--attention-png {notes} exists and is not a PNG figure"),
    ]:
        assert_one_line_error(rnnkit("caption", out, images[0], "--attention-png", png), words)
    (tmp_path / "map-blue-square-1.svg").write_bytes(b"keep me too\n")
    assert_one_line_error(  # each image's name is checked before any is captioned
        rnnkit("caption", out, *images, "--attention-png", tmp_path / "map.svg"),
        "map-blue-square-1.svg exists and is not an SVG figure",
    )
    assert not (tmp_path / "map-red-circle-0.svg").exists()
    assert (tmp_path / "map-blue-square-1.svg").read_bytes() == b"keep me too\n"
    assert corpus.read_bytes() == b"hello world\n" and notes.read_bytes() == b"keep me\n"
    for _ in range(2):  # drawn, then drawn again over its own SVG
        code, _, err = rnnkit("caption", out, images[0], "--attention-png", tmp_path / "a.svg")
        assert code == 0 and (tmp_path / "a.svg").read_bytes().startswith(b"<?xml"), err


@pytest.fixture
def attention_run(tmp_path):
    shutil.copytree(OLD_RUN, tmp_path / "run")
    return tmp_path / "run"


def test_attention_maps_of_two_images_of_one_name_both_stay(
    rnnkit, shapes, attention_run, tmp_path
):
    """i1/x.png and i2/x.png both drew to map-x.png, the second over the first."""
    images = []
    for folder, source in [("i1", "red-circle-0.png"), ("i2", "blue-square-1.png")]:
        (tmp_path / folder).mkdir()
        images.append(shutil.copy(shapes / source, tmp_path / folder / "x.png"))
    code, stdout, err = rnnkit("caption", attention_run, *images, "--attention-png",
                               tmp_path / "map.png", "--json")  # fmt: skip
    assert code == 0, err
    drawn = [json.loads(line)["attention_png"] for line in stdout.splitlines()]
    assert drawn == [str(tmp_path / "map-1-x.png"), str(tmp_path / "map-2-x.png")]
    assert (tmp_path / "map-1-x.png").read_bytes() != (tmp_path / "map-2-x.png").read_bytes()
    assert not (tmp_path / "map-x.png").exists()
    code, stdout, err = rnnkit("caption", attention_run, *images[:1], shapes / "red-circle-1.png",
                               "--attention-png", tmp_path / "two.svg", "--json")  # fmt: skip
    assert code == 0, err  # names that differ stay as they were: map-IMAGE
    assert (tmp_path / "two-x.svg").is_file() and (tmp_path / "two-red-circle-1.svg").is_file()


def test_attention_png_never_replaces_an_input_image(rnnkit, shapes, attention_run, tmp_path):
    image = shutil.copy(shapes / "red-circle-0.png", tmp_path / "a.png")
    other = shutil.copy(shapes / "blue-square-1.png", tmp_path / "map-b.png")
    before = {path: path.read_bytes() for path in (image, other)}
    (tmp_path / "i").mkdir()
    (tmp_path / "b.png").write_bytes(before[image])
    spelled = tmp_path / "." / "i" / ".." / "a.png"  # the same file by another path
    for argv, path in [
        ([image, "--attention-png", image], image),
        ([image, "--attention-png", spelled], spelled),
        ([other, tmp_path / "b.png", "--attention-png", tmp_path / "map.png"], other),
    ]:
        result = rnnkit("caption", attention_run, *argv)
        assert_one_line_error(result, f"--attention-png {path} is", "an input of the command")
    assert {path: path.read_bytes() for path in before} == before
    assert not (tmp_path / "map-map-b.png").exists()  # b.png's map would go over map-b.png


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--temperature", "1", "--seed", "4", "--beam", "7"], "--beam sets the beam search"),
        (["--temperature", "1", "--length-penalty", "2"], "--length-penalty sets"),
        (["--temperature", "1", "--beam", "7", "--length-penalty", "2"], "--beam and --length"),
        (["--seed", "4"], "--seed seeds the sampling"),
        (["--beam", "2", "--seed", "4"], "add --temperature T"),
    ],
)
def test_flags_the_decoding_would_ignore_are_refused(rnnkit, shapes, attention_run, flags, words):
    """Sampling ignored --beam and --length-penalty, and beam search --seed, unsaid."""
    image = shapes / "red-circle-0.png"
    assert_one_line_error(rnnkit("caption", attention_run, image, *flags), words)
    for allowed in (
        ["--temperature", "1", "--seed", "4"],
        ["--beam", "2", "--length-penalty", "1"],
    ):
        code, stdout, err = rnnkit("caption", attention_run, image, *allowed)
        assert code == 0 and stdout.startswith(f"{image}: "), err


@pytest.mark.parametrize("bad, words", [("fake.png", "is not an image PIL can read"),
                                        ("none.png", "no image file")])  # fmt: skip
def test_a_bad_image_among_several_prints_nothing(
    rnnkit, shapes, attention_run, tmp_path, bad, words
):
    """The first image's caption was printed, then the second failed: a partial result."""
    (tmp_path / "fake.png").write_text("not an image at all\n", encoding="utf-8")
    good = shapes / "red-circle-0.png"
    for extra in (["--json"], [], ["--attention-png", tmp_path / "map.png"]):
        result = rnnkit("caption", attention_run, good, tmp_path / bad, *extra)
        assert_one_line_error(result, str(tmp_path / bad), words)
        assert result[1] == ""
    assert not (tmp_path / "map-red-circle-0.png").exists()
