"""A VQA run's inputs from outside: the ``--images`` file it was trained on, found from any
directory (its absolute path recorded; an old run's relative one read as before), and a
scene ``.npy`` given to ``predict``, refused in one line unless its pixels are finite and in
[0, 1]."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.cli.checks import assert_one_line_error
from tests.tasks.vqa_fixtures import write_digits_file

TINY = ["--train-scenes", "20", "--eval-scenes", "4", "--batch-size", "8", "--hidden-size", "4"]
TINY += ["--embedding-size", "2", "--base-channels", "2", "--attention-size", "2"]
TINY += ["--max-steps", "2", "--eval-every", "2", "--heatmaps", "0", "--no-baselines"]
QUESTION = "where is the two ?"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained from ``work/`` on ``--images dg/digits.csv.gz``, a relative path."""
    from rnnkit.cli.main import main

    work = tmp_path_factory.mktemp("work")
    (work / "dg").mkdir()
    write_digits_file(work / "dg" / "digits.csv.gz")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        argv = ["train", "vqa", "--images", "dg/digits.csv.gz", *TINY, "--out", "run"]
        assert main(argv) == 0
    return work


def test_a_relative_images_path_is_recorded_absolute(trained):
    record = json.loads((trained / "run" / "config.json").read_text())
    assert record["data"]["images"] == str(trained / "dg" / "digits.csv.gz")


def test_a_run_on_a_relative_images_path_works_from_any_directory(
    rnnkit, trained, tmp_path, monkeypatch
):
    run = trained / "run"
    monkeypatch.chdir(tmp_path)
    code, out, err = rnnkit("predict", run, QUESTION, "--image", "0", "--json")
    assert code == 0, err
    assert json.loads(out)["predictions"][0]["question"] == QUESTION
    code, out, err = rnnkit("evaluate", run, "--json")
    assert code == 0, err
    assert json.loads(out)["split"] == "test"
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    code, _, err = rnnkit("train", "--resume", copy, "--max-steps", "3")
    assert code == 0, err


def test_an_old_run_with_a_relative_path_reads_it_from_the_working_directory(
    rnnkit, trained, tmp_path, monkeypatch
):
    old = tmp_path / "old"
    shutil.copytree(trained / "run", old)
    record = json.loads((old / "config.json").read_text())
    record["data"]["images"] = "dg/digits.csv.gz"  # as runs before recorded it
    (old / "config.json").write_text(json.dumps(record))
    monkeypatch.chdir(trained)
    code, _, err = rnnkit("predict", old, QUESTION, "--image", "0")
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(rnnkit("predict", old, QUESTION, "--image", "0"), "no such file")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, "2 of its 576 pixels are not finite (NaN or infinite)"),
        (np.inf, "2 of its 576 pixels are not finite (NaN or infinite)"),
        (1e300, "2 of its 576 pixels are not finite (NaN or infinite)"),  # float32: infinite
        (200.0, "its pixels run from 0 to 200; a scene's pixels are numbers in [0, 1]"),
        (-0.5, "its pixels run from -0.5 to 0; a scene's pixels are numbers in [0, 1]"),
    ],
)
@pytest.mark.filterwarnings("error")  # no NumPy warning either ("overflow encountered in cast")
def test_a_scene_file_not_in_0_1_is_one_line(rnnkit, trained, tmp_path, value, message):
    pixels = np.zeros((24, 24))
    pixels[3, 4:6] = value
    np.save(tmp_path / "scene.npy", pixels)
    result = rnnkit("predict", trained / "run", QUESTION, "--image", tmp_path / "scene.npy")
    assert_one_line_error(result, f"{tmp_path / 'scene.npy'}: {message}")


def test_a_scene_file_in_0_1_is_answered(rnnkit, trained, tmp_path):
    np.save(tmp_path / "scene.npy", np.linspace(0, 1, 24 * 24).reshape(24, 24))
    code, _, err = rnnkit("predict", trained / "run", QUESTION, "--image", tmp_path / "scene.npy")
    assert code == 0, err


def test_a_scene_file_of_objects_is_one_line_naming_it(rnnkit, trained, tmp_path):
    np.save(tmp_path / "scene.npy", np.array([[None] * 24] * 24), allow_pickle=True)
    result = rnnkit("predict", trained / "run", QUESTION, "--image", tmp_path / "scene.npy")
    assert_one_line_error(result, f"{tmp_path / 'scene.npy'} is not an array of numbers")
