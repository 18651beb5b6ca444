"""Flags built from config fields read their values as the field holds them: a field with
integer (or float) choices gets an integer (float) flag, so ``--grid 2`` is the choice 2; a
seed (``seed``, ``..._seed``) is an integer in [0, 2**32 - 1], refused at parse time, before
a run directory is made, with a message naming the range."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

import pytest

from rnnkit.cli import flags
from rnnkit.cli.main import build_parser
from rnnkit.options import SEED_MAX, option
from tests.tasks.vqa_fixtures import write_digits_file

TINY_VQA = ["--train-scenes", "4", "--eval-scenes", "2", "--batch-size", "4", "--hidden-size", "4"]
TINY_VQA += ["--embedding-size", "2", "--base-channels", "2", "--attention-size", "2"]
TINY_VQA += ["--max-steps", "1", "--heatmaps", "0", "--no-baselines"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return write_digits_file(tmp_path_factory.mktemp("digits") / "digits.csv.gz")


def parse_error(rnnkit, capsys, *argv) -> str:
    """The error line of a command argparse refuses (exit code 2)."""
    with pytest.raises(SystemExit) as exit:
        rnnkit(*argv)
    err = capsys.readouterr().err.strip()
    assert exit.value.code == 2, err
    return err.splitlines()[-1]


@dataclass
class Shape:
    grid: int = option(3, "cells a side", choices=(2, 3))
    ratio: float = option(0.5, "a fraction", choices=(0.5, 1.0))
    mode: str = option("a", "a mode", choices=("a", "b"))


@dataclass
class Chosen:
    shape: Shape = field(default_factory=Shape)


def test_choices_that_are_numbers_are_read_as_numbers():
    parser = argparse.ArgumentParser()
    flags.add_config_flags(parser, Chosen())
    args = parser.parse_args(["--grid", "2", "--ratio", "1.0", "--mode", "b"])
    assert (getattr(args, "shape.grid"), getattr(args, "shape.ratio")) == (2, 1.0)
    assert getattr(args, "shape.mode") == "b"
    with pytest.raises(SystemExit):
        parser.parse_args(["--grid", "4"])


@pytest.mark.parametrize("grid", [2, 3])
def test_vqa_trains_on_either_documented_grid(rnnkit, digits, tmp_path, grid):
    out = tmp_path / "run"
    code, _, err = rnnkit("train", "vqa", "--images", digits, "--grid", grid, *TINY_VQA,
                          "--out", out)  # fmt: skip
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["config"]["data"]["grid"] == grid


def test_vqa_refuses_a_grid_it_has_no_layout_for(rnnkit, capsys, digits, tmp_path):
    out = tmp_path / "run"
    err = parse_error(
        rnnkit, capsys, "train", "vqa", "--images", digits, "--grid", "4", "--out", out
    )
    assert "argument --grid: invalid choice: 4 (choose from 2, 3)" in err and not out.exists()


def train_parsers() -> dict[str, argparse.ArgumentParser]:
    """The parser of each ``rnnkit train TASK``."""
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    train = commands.choices["train"]
    return next(a for a in train._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_seed_flag_of_every_task_takes_a_seed():
    """Every flag whose config key is a seed (``trainer.seed``, ``data.split_seed``, ...)."""
    found = {}
    for task, parser in train_parsers().items():
        for action in parser._actions:
            if action.dest.endswith((".seed", "_seed")):
                found[task, action.option_strings[0]] = action.type
    assert {("vqa", "--data-seed"), ("parity", "--data-seed"), ("classify", "--split-seed"),
            ("forecast", "--seed"), ("charlm", "--seed")} <= set(found)  # fmt: skip
    assert {kind for kind in found.values()} == {flags.seed}


@pytest.mark.parametrize(
    "argv",
    [
        ["forecast", "--dataset", "SERIES", "--seed", "-1"],
        ["forecast", "--dataset", "SERIES", "--seed", "99999999999999999999999"],
        ["vqa", "--images", "DIGITS", "--data-seed", "-1"],
        ["vqa", "--images", "DIGITS", "--seed", str(SEED_MAX + 1)],
        ["classify", "--dataset", "SERIES", "--split-seed", "-3"],
        ["tag", "--dataset", "SERIES", "--seed", "-1"],
        ["parity", "--data-seed", "-1"],
        ["charlm", "--seed", "1.5"],
    ],
)
def test_a_seed_out_of_range_is_refused_before_a_run_is_made(
    rnnkit, capsys, digits, tmp_path, argv
):
    series = tmp_path / "s.csv"
    series.write_text("".join(f"{v}\n" for v in range(1, 101)))
    argv = [{"SERIES": series, "DIGITS": digits}.get(a, a) for a in argv]
    out = tmp_path / "run"
    err = parse_error(rnnkit, capsys, "train", *argv, "--max-steps", "1", "--out", out)
    assert f"expected a seed, an integer from 0 to {SEED_MAX} (2**32 - 1), got {argv[-1]!r}" in err
    assert not out.exists()


def test_the_largest_seed_trains(rnnkit, digits, tmp_path):
    series = tmp_path / "s.csv"
    series.write_text("".join(f"{v}\n" for v in range(1, 101)))
    code, _, err = rnnkit("train", "forecast", "--dataset", series, "--seed", SEED_MAX,
                          "--max-steps", "2", "--out", tmp_path / "forecast")  # fmt: skip
    assert code == 0, err
    code, _, err = rnnkit("train", "vqa", "--images", digits, "--seed", SEED_MAX, "--data-seed",
                          SEED_MAX, *TINY_VQA, "--out", tmp_path / "vqa")  # fmt: skip
    assert code == 0, err
    record = json.loads((tmp_path / "vqa" / "config.json").read_text())["config"]
    assert record["trainer"]["seed"] == record["data"]["seed"] == SEED_MAX


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "RUN", "a sentence", "--seed", "-1"],
        ["caption", "RUN", "IMAGE", "--seed", str(SEED_MAX + 1)],
        ["demo", "--seed", "-1"],
        ["gradcheck", "--seed", "1.5"],
    ],
)
def test_a_seed_flag_outside_a_run_config_takes_the_same_range(rnnkit, capsys, argv):
    """Sampling and demo seeds failed late (an overflow in torch's generator) or not at all."""
    err = parse_error(rnnkit, capsys, *argv)
    assert f"expected a seed, an integer from 0 to {SEED_MAX} (2**32 - 1), got {argv[-1]!r}" in err
