"""``--cell`` on every ``rnnkit train`` task: the names of the one registry of cores
(rnnkit.models.recurrent), an old name kept as an alias, and one error line that lists them."""

from __future__ import annotations

import json
import math

import pytest

from tests.cli.checks import assert_one_line_error, last_json
from tests.tasks import labelled_fixtures as fixtures
from tests.tasks.caption_fixtures import write_shapes_folder
from tests.tasks.forecast_fixtures import write_series_csv
from tests.tasks.seq2seq_fixtures import write_pairs
from tests.tasks.vqa_fixtures import write_digits_file

NEW_CORES = "peephole, lnlstm, lngru, mut1, mut2, mut3, mingru, minlstm, rglru"
WITHOUT_CLSTM = f"allowed: rnn, relu (alias rnn-relu), irnn, lstm, gru, gru-lectures, {NEW_CORES}"


def _data(task: str, tmp_path) -> list[str]:
    """The flags that name a tiny data set for ``task``."""
    if task == "charlm":
        return ["--max-chars", "3000", "--preset", "smoke"]
    if task == "classify":
        fixtures.write_csv(tmp_path / "names.csv", fixtures.names())
        return ["--dataset", str(tmp_path / "names.csv"), "--no-baselines"]
    if task == "tag":
        fixtures.write_conll(tmp_path / "tiny.conll", fixtures.tagged())
        return ["--dataset", str(tmp_path / "tiny.conll"), "--no-baselines"]
    if task == "seq2seq":
        return ["--dataset", str(write_pairs(tmp_path / "toy.tsv"))]
    if task == "forecast":
        return ["--dataset", str(write_series_csv(tmp_path / "series.csv"))]
    if task == "vqa":
        digits = str(write_digits_file(tmp_path / "digits.csv.gz"))
        sizes = ["--train-scenes", "20", "--eval-scenes", "4", "--base-channels", "2"]
        return ["--images", digits, *sizes, "--heatmaps", "0", "--beam", "1", "--no-baselines"]
    return ["--dataset", str(write_shapes_folder(tmp_path / "shapes")), "--hidden-size", "8"]


TASKS = ("charlm", "classify", "tag", "seq2seq", "forecast", "caption", "vqa")


@pytest.mark.parametrize("task", TASKS)
def test_an_unknown_cell_is_one_line_listing_the_names_and_alias(rnnkit, task, tmp_path):
    result = rnnkit("train", task, *_data(task, tmp_path), "--cell", "lsmt", "--max-steps", "1")
    allowed = "allowed: rnn, relu (alias rnn-relu), irnn, lstm, clstm" if task == "forecast" else ""
    assert_one_line_error(result, "unknown cell 'lsmt'", allowed or WITHOUT_CLSTM)


@pytest.mark.parametrize("task", [t for t in TASKS if t != "forecast"])
def test_clstm_without_a_horizon_is_refused_in_one_line(rnnkit, task, tmp_path):
    result = rnnkit("train", task, *_data(task, tmp_path), "--cell", "clstm", "--max-steps", "1")
    assert_one_line_error(result, "cell 'clstm' does not fit the", "horizon", WITHOUT_CLSTM)


@pytest.mark.parametrize(("task", "cell"), [("charlm", "rnn-relu"), ("seq2seq", "gru-lectures")])
def test_old_and_new_names_train_and_the_config_keeps_the_name_given(rnnkit, task, cell, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = rnnkit(
        "train", task, *_data(task, tmp_path), "--cell", cell, "--max-steps", "2",
        "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert last_json(stdout)["steps"] == 2
    assert json.loads((out / "config.json").read_text())["config"]["model"]["cell"] == cell


def test_a_gru_lectures_captioner_trains_captions_and_resumes(rnnkit, tmp_path):
    out, data = tmp_path / "run", _data("caption", tmp_path)
    code, stdout, err = rnnkit(
        "train", "caption", *data, "--cell", "gru-lectures", "--max-steps", "2",
        "--embedding-size", "4", "--base-channels", "2", "--conv-blocks", "2",
        "--attention-size", "4", "--batch-size", "4", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert last_json(stdout)["steps"] == 2
    image = tmp_path / "shapes" / "red-circle-0.png"
    code, stdout, err = rnnkit("caption", out, image, "--beam", "2", "--json")
    assert code == 0, err
    code, stdout, err = rnnkit("train", "--resume", out, "--max-steps", "3", "--json")
    assert code == 0, err
    assert last_json(stdout)["steps"] == 3


NO_KERNEL = NEW_CORES.split(", ")  # the cores Recurrent runs (a loop, or one scan)
TINY = [
    "--max-steps",
    "2",
    "--eval-every",
    "2",
    "--log-every",
    "1",
    "--hidden-size",
    "8",
    "--threads",
    "1",
]


@pytest.mark.slow
@pytest.mark.parametrize("task", [*TASKS, "parity"])
@pytest.mark.parametrize("cell", NO_KERNEL)
def test_every_core_trains_in_every_task(rnnkit, task, cell, tmp_path):
    out = tmp_path / "run"
    data = [] if task == "parity" else _data(task, tmp_path)
    code, stdout, err = rnnkit("train", task, *data, "--cell", cell, *TINY, "--out", out, "--json")
    assert code == 0, err
    assert last_json(stdout)["steps"] == 2
    records = [json.loads(line) for line in (out / "metrics.jsonl").open()]
    losses = [r["loss"] for r in records if r["kind"] == "train"]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert any(r["kind"] == "eval" for r in records)
    assert json.loads((out / "config.json").read_text())["config"]["model"]["cell"] == cell
