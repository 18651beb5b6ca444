"""``rnnkit translate`` refuses a flag its decoding would ignore, as ``rnnkit sample`` and
``rnnkit caption`` do: --seed without --temperature (beam search draws nothing), --beam with
--temperature (sampling searches nothing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli.checks import assert_one_line_error

OLD_RUN = Path(__file__).parents[1] / "fixtures" / "old_runs" / "seq2seq"  # BiLSTM, Luong


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "seq2seq"
    shutil.copytree(OLD_RUN, path)
    return path


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--seed", "7"], "--seed seeds the sampling, and without --temperature"),
        (["--beam", "3", "--seed", "7"], "add --temperature T, or leave --seed out"),
        (["--beam", "3", "--temperature", "0.5"], "--beam sets the beam search"),
        (["--beam", "3", "--temperature", "0.5", "--seed", "7"], "give one of them"),
    ],
)
def test_flags_the_decoding_would_ignore_are_refused(rnnkit, run, flags, words):
    assert_one_line_error(rnnkit("translate", run, "the cat", *flags), words)


def test_the_flags_of_one_decoding_are_taken(rnnkit, run):
    for flags in (["--temperature", "0.5", "--seed", "7"], ["--beam", "3"], []):
        code, stdout, err = rnnkit("translate", run, "the cat", *flags)
        assert code == 0 and stdout.strip(), err
    sampled = [rnnkit("translate", run, "the cat", "--temperature", "2", "--seed", "7")[1]]
    sampled.append(rnnkit("translate", run, "the cat", "--temperature", "2", "--seed", "7")[1])
    assert sampled[0] == sampled[1]  # the seed is used: the same sample twice
