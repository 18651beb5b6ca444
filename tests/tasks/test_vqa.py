"""``rnnkit train vqa`` end to end through the command line for a few steps on a small digits
file: the baselines in the same run, accuracy per question type, evaluate, predict with a test
scene or a PNG and the attention PNG, resuming the batches, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.cli.main import main as cli_main
from rnnkit.data.vqa_scenes import QUESTION_TYPES
from tests.tasks.vqa_fixtures import write_digits_file

TINY = ["--train-scenes", "60", "--eval-scenes", "12", "--batch-size", "8", "--hidden-size", "8"]
TINY += ["--embedding-size", "4", "--base-channels", "2", "--attention-size", "4"]
TINY += ["--max-steps", "4", "--eval-every", "2", "--log-every", "1", "--heatmaps", "1"]


def main(argv) -> int:
    return cli_main([str(a) for a in argv])


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return write_digits_file(tmp_path_factory.mktemp("digits") / "digits.csv.gz")


@pytest.fixture(scope="module")
def run(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("vqa") / "run"
    assert main(["train", "vqa", "--images", str(digits), *TINY, "--out", str(out), "--json"]) == 0
    return out


def test_a_run_reports_each_question_type_beside_the_baselines(run, capsys):
    baselines = json.loads((run / "baselines.json").read_text())
    answers = json.loads((run / "test-answers.json").read_text())
    assert set(answers["by_type"]) == set(QUESTION_TYPES) == set(answers["novel"]["by_type"])
    for name in ("majority", "question", "image"):
        for split in ("val", "test", "novel"):
            assert set(baselines[name][split]["by_type"]) == set(QUESTION_TYPES)
    assert answers["pointing_chance"] == pytest.approx(1 / 9)
    assert (run / "plots" / "attention-test-0.png").stat().st_size > 0
    # the majority baseline by hand: each type's most frequent training answer
    record = json.loads((run / "config.json").read_text())
    counts = record["data"]["card"]["train"]["answers"]
    for kind, answer in baselines["majority_answers"].items():
        assert counts[kind][answer] == max(counts[kind].values())


def test_evaluate_scores_test_and_novel(run, capsys):
    assert main(["evaluate", str(run), "--json"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["split"] == "test" and test["steps"] == 4
    assert 0 <= test["accuracy"] <= 1 and "novel" in test and test["beam_size"] == 3
    answers = json.loads((run / "test-answers.json").read_text())
    assert test["accuracy"] == answers["accuracy"]  # the best checkpoint, as at the end


def test_predict_answers_about_a_test_scene_or_a_png(run, tmp_path, capsys):
    png = tmp_path / "attention.png"
    question = "how many sevens are there ?"
    assert (
        main(["predict", str(run), question, "--image", "0", "--attention-map", png, "--json"]) == 0
    )
    said = json.loads(capsys.readouterr().out)["predictions"][0]
    assert said["question"] == question and png.stat().st_size > 0
    assert len(said["scene_digits"]) == 3 and said["pointed_region"]
    from PIL import Image

    from rnnkit.tasks import lifecycle
    from rnnkit.tasks.vqa_task import load_scenes

    config = lifecycle.read_run(run).config
    data = load_scenes(config)
    first = data.scene_split.index("test")
    scene = Image.fromarray((data.scenes[first] * 255).round().astype(np.uint8))
    scene.save(tmp_path / "scene.png")
    assert main(["predict", str(run), question, "--image", tmp_path / "scene.png", "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)["predictions"][0]
    assert from_file["answer"] == said["answer"]  # the same scene, read from a PNG


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["what is at the banana ?", "--image", "0"], "the question has unknown words 'banana'"),
        (["is there a seven ?", "--image", "999"], "the test split has scenes 0..11"),
        (["is there a seven ?"], "give --image FILE_OR_TEST_INDEX"),
        (
            ["is there a seven ?", "--image", "SMALL"],
            "a scene is 24x24 pixels for this run, got 8x8",
        ),
        (
            ["where is the seven ?", "--image", "TEXT"],
            "some.txt is not an image PIL can read (PNG, JPEG, ...)",
        ),
        (
            ["where is the seven ?", "--image", "HUGE"],
            "huge.png is 400,000,000 pixels; an image may have at most 67,108,864 pixels",
        ),
        (  # it answered with torch, as if the flag were not there
            ["is there a seven ?", "--image", "0", "--backend", "onnxruntime"],
            "--backend onnxruntime runs exported graphs; a vqa run has none",
        ),
    ],
)
def test_bad_inputs_end_with_one_line(run, tmp_path, capsys, argv, message):
    from PIL import Image

    from tests.tasks.caption_fixtures import png_header

    Image.new("L", (8, 8)).save(tmp_path / "small.png")
    (tmp_path / "some.txt").write_text("hello world, this is some small text.\n")
    (tmp_path / "huge.png").write_bytes(png_header(20000, 20000))
    files = {"SMALL": "small.png", "TEXT": "some.txt", "HUGE": "huge.png"}
    argv = [str(tmp_path / files[a]) if a in files else a for a in argv]
    assert main(["predict", str(run), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_image_flags_are_refused_for_other_tasks(tmp_path, capsys):
    out = tmp_path / "parity"
    assert main(["train", "parity", "--max-steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", str(out), "101", "--image", "0"]) == 2
    assert "--image and --attention-map apply to vqa runs, not parity" in capsys.readouterr().err


def test_a_missing_digits_file_is_one_line_and_makes_no_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "vqa", "--images", tmp_path / "none.csv.gz", "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such file" in err and len(err.splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("damage", ["truncated", "binary"])
def test_a_damaged_images_file_is_one_line_and_makes_no_run(digits, tmp_path, capsys, damage):
    whole = digits.read_bytes()
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else bytes(range(128, 256)))
    out = tmp_path / "run"
    assert main(["train", "vqa", "--images", bad, "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and not out.exists()
    assert err.startswith(f"rnnkit train: error: {bad} is ")
    assert err.endswith("expected digits.csv.gz: CSV text, gzipped or not, one image a line "
                        "(8x8 pixels, then the label)")  # fmt: skip


def test_batches_resume_at_any_step(digits):
    from rnnkit.tasks.vqa_config import resolve_config
    from rnnkit.tasks.vqa_task import prepare

    config = resolve_config({"data.images": str(digits), "data.train_scenes": 30})
    task = prepare(config, None)
    batches = task.train_batches(0)
    first = [next(batches) for _ in range(4)]
    resumed = next(task.train_batches(3))
    for a, b in zip(first[3][0] + first[3][1], resumed[0] + resumed[1], strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


def test_a_resumed_run_ends_with_the_weights_of_one_that_never_stopped(digits, tmp_path):
    from rnnkit.training.checkpoint import load_checkpoint

    flags = ["train", "vqa", "--images", digits, *TINY, "--no-baselines", "--heatmaps", "0"]
    flags += ["--schedule", "constant"]  # a cosine schedule depends on --max-steps
    assert main([*flags, "--out", tmp_path / "whole"]) == 0
    assert main([*flags, "--max-steps", "2", "--out", tmp_path / "half"]) == 0
    assert main(["train", "--resume", tmp_path / "half", "--max-steps", "4"]) == 0
    whole, half = (load_checkpoint(tmp_path / r / "checkpoints", "last") for r in ("whole", "half"))
    assert whole.meta["step"] == half.meta["step"] == 4
    for name, tensor in whole.section("model").items():
        assert np.array_equal(tensor.numpy(), half.section("model")[name].numpy()), name


def test_attention_map_never_replaces_a_file_that_is_not_a_figure(run, tmp_path, capsys):
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"keep me\n")
    ask = ["predict", str(run), "is there a seven ?", "--image", "0", "--attention-map"]
    for png, words in [
        (tmp_path, f"--attention-map {tmp_path} is a folder; give a file name in it"),
        (notes, f"--attention-map {notes} exists and is not a PNG figure"),
        (tmp_path / "map.gif", "allowed: .png, .svg, .pdf (got '.gif')"),
    ]:
        assert main([*ask, png]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1, err
    assert notes.read_bytes() == b"keep me\n" and sorted(tmp_path.iterdir()) == [notes]
    for _ in range(2):  # drawn, then drawn again over its own PDF
        assert main([*ask, tmp_path / "map.pdf"]) == 0
        assert (tmp_path / "map.pdf").read_bytes().startswith(b"%PDF-")
    capsys.readouterr()


def test_the_evaluation_loss_is_the_training_loss_over_the_split_whatever_the_chunks(
    digits, monkeypatch
):
    """The training loss of one batch holding the whole split (answer words' mean
    cross-entropy plus the pointing questions' mean), for any chunk size and order. Each
    chunk's loss was weighted by its questions: 6.44 in one chunk, 4.67 one question at a
    time (a pointing question counted in full alone, diluted in a chunk)."""
    import torch

    from rnnkit.tasks import vqa_task
    from rnnkit.tasks.vqa_config import resolve_config

    config = resolve_config({"data.images": str(digits), "data.train_scenes": 10,
                             "data.eval_scenes": 6, "model.hidden_size": 8})  # fmt: skip
    task = vqa_task.prepare(config, None)
    torch.manual_seed(0)
    model = task.build_model().eval()
    val = task.splits["val"]
    assert 0 < int((task.regions[val] >= 0).sum()) < len(val)  # some point, some do not
    with torch.no_grad():
        _, whole = model(*task.batch(val))
    for chunk, order in [(7, val), (1, val), (5, val[::-1])]:
        monkeypatch.setattr(vqa_task, "EVAL_BATCH", chunk)
        assert task.answers(model, order)[0] == pytest.approx(float(whole), rel=1e-5), chunk
