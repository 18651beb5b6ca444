"""The worked example of docs/adding-a-task.md, through the command line only: a task that is
one module and one registry line trains, resumes exactly, evaluates and predicts."""

import json

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.parity import ParityConfig, make_bits


def _train(capsys, *flags) -> dict:
    assert main(["train", "parity", *flags, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The documented command, run with its defaults (3,000 steps, a few seconds)."""
    out = tmp_path_factory.mktemp("parity") / "run"
    assert main(["train", "parity", "--length", "8", "--out", str(out)]) == 0
    return out


def test_the_strings_and_their_labels():
    config = ParityConfig()
    bits = make_bits(config.data)
    assert bits.shape == (2000, 8) and set(np.unique(bits)) == {0, 1}
    assert np.array_equal(bits, make_bits(config.data))  # the same on every call
    from rnnkit.tasks.parity import ParityTask

    task = ParityTask(config, bits)
    labels = [sum(int(b) for b in row) % 2 for row in bits.tolist()]
    assert task.labels.tolist() == labels
    assert [len(task.splits[s]) for s in ("train", "val", "test")] == [1600, 200, 200]


def test_the_documented_run_solves_parity(trained, capsys):
    assert main(["evaluate", str(trained), "--json"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["task"] == "parity" and test["split"] == "test" and test["steps"] == 3000
    assert test["accuracy"] == 1.0 and test["examples"] == 200


def test_predict_says_the_parity_of_any_string_up_to_the_trained_length(trained, capsys):
    strings = ["1", "0", "1011", "0110100", "01101001", "11111111", "00000000"]
    assert main(["predict", str(trained), *strings, "--json"]) == 0
    said = json.loads(capsys.readouterr().out)["predictions"]
    assert [row["parity"] for row in said] == [s.count("1") % 2 for s in strings]
    assert all(row["parity"] == row["true_parity"] and "note" not in row for row in said)
    assert main(["predict", str(trained), "110011001"]) == 0
    assert "longer than the 8 bits trained on" in capsys.readouterr().out


def test_a_resumed_run_continues_exactly(tmp_path, capsys):
    # a constant schedule: a cosine one depends on --max-steps, which the resume changes
    flags = ["--length", "4", "--examples", "200", "--eval-every", "20", "--log-every", "5"]
    flags += ["--schedule", "constant"]
    whole = _train(capsys, *flags, "--max-steps", "40", "--out", str(tmp_path / "whole"))
    _train(capsys, *flags, "--max-steps", "20", "--out", str(tmp_path / "split"))
    resumed = _train(capsys, "--resume", str(tmp_path / "split"), "--max-steps", "40")
    assert resumed["steps"] == whole["steps"] == 40
    assert resumed["test_loss"] == pytest.approx(whole["test_loss"], rel=1e-6)

    def losses(run):
        rows = (json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines())
        return {r["step"]: r["loss"] for r in rows if r.get("kind") == "train"}

    split, straight = losses(tmp_path / "split"), losses(tmp_path / "whole")
    assert list(split) == list(straight) == list(range(5, 45, 5))
    assert list(split.values()) == pytest.approx(list(straight.values()), rel=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "parity", "--cell", "clstm"], "does not fit the parity model"),
        (["train", "parity", "--cell", "tcn"], "unknown cell 'tcn'; allowed: rnn, "),
        (["train", "parity", "--examples", "5"], "examples must be at least 10"),
        (["train", "parity", "--length", "0"], "--length: expected a positive integer, got '0'"),
    ],
)
def test_bad_flags_are_one_line_naming_what_is_allowed(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own checks
        code = exit_.code
    assert code == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()[-1]) > len(message)


def test_predict_refuses_what_is_not_a_bit_string(trained, capsys):
    assert main(["predict", str(trained), "1021"]) == 2
    assert "parity reads strings of 0s and 1s, got '1021'" in capsys.readouterr().err
