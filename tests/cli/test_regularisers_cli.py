"""``--zoneout`` and ``--recurrent-dropout`` on every ``rnnkit train`` task: a few training
steps with each, the rates in config.json, the run resumed and evaluated from its directory;
a rate out of range, or recurrent dropout on a core that never reads ``h_(t-1)``, is one line.
(That the regularisers are the papers' and off or the expectation at evaluation is
tests/nn/test_regularise.py.)"""

from __future__ import annotations

import json

import pytest

from tests.cli.checks import assert_one_line_error, last_json
from tests.cli.test_cells_cli import _data

# task -> the core it trains with the regularisers (a fused one, a loop one, the LSTM route)
TASKS = {
    "charlm": "lnlstm",
    "classify": "gru",
    "tag": "lstm",
    "seq2seq": "peephole",
    "forecast": "mut2",
    "caption": "lstm",
    "parity": "lngru",
}


def _task_data(task, tmp_path):
    return ["--length", "4", "--examples", "40"] if task == "parity" else _data(task, tmp_path)


@pytest.mark.parametrize(("task", "cell"), TASKS.items())
def test_each_task_trains_with_zoneout_and_recurrent_dropout(rnnkit, task, cell, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = rnnkit(
        "train", task, *_task_data(task, tmp_path), "--cell", cell, "--zoneout", "0.1",
        "--recurrent-dropout", "0.25", "--max-steps", "2", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    assert last_json(stdout)["steps"] == 2
    model = json.loads((out / "config.json").read_text())["config"]["model"]
    assert (model["zoneout"], model["recurrent_dropout"]) == (0.1, 0.25)
    code, stdout, err = rnnkit("train", "--resume", out, "--max-steps", "3", "--json")
    assert code == 0, err
    assert last_json(stdout)["steps"] == 3


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--zoneout", "1.5"], "zoneout must be a probability in [0, 1), got 1.5"),
        (["--recurrent-dropout", "-0.1"], "recurrent_dropout must be a probability in [0, 1)"),
        (["--cell", "mingru", "--recurrent-dropout", "0.2"], "mingru's gates read x_t only"),
    ],
)
def test_a_bad_rate_is_one_line(rnnkit, flags, message, tmp_path):
    result = rnnkit("train", "charlm", *_data("charlm", tmp_path), *flags, "--max-steps", "1")
    assert_one_line_error(result, message)
