"""What rnnkit train charlm / sample / evaluate refuse, and when: before anything is trained,
written or printed, with one line that says what was wrong and what is allowed."""

from __future__ import annotations

import json

import pytest

from rnnkit.options import SEED_MAX
from tests.cli.checks import assert_one_line_error
from tests.conftest import TEXT

TINY = ["--preset", "smoke", "--threads", "1", "--hidden-size", "8", "--seq-len", "10"]
LATIN1_LINE = "Fran\u00e7ais d\u00e9j\u00e0 vu, na\u00efve caf\u00e9\n"


@pytest.fixture
def run_dir(rnnkit, text_file, tmp_path):
    """A smoke run of 3 steps on the tiny text, evaluated at step 3."""
    out = tmp_path / "run"
    argv = [*TINY, "--max-steps", "3", "--data", text_file, "--out", out, "--json"]
    code, _, err = rnnkit("train", "charlm", *argv)
    assert code == 0, err
    return out


def _config(out):
    return json.loads((out / "config.json").read_text(encoding="utf-8"))


def test_a_text_too_short_to_validate_is_refused_before_training(rnnkit, tmp_path):
    """21 characters cut 90/5/5 leave 1 for validation: it trained 3 steps, then failed at the
    first evaluation and left config.json, vocab.json, metrics.jsonl and an empty checkpoints/.
    36 is the shortest text whose three parts hold 2 characters each (19 + 1 + 1 at 21)."""
    short = tmp_path / "t21.txt"
    short.write_text("abcdefghij" * 2 + "a", encoding="utf-8")
    out = tmp_path / "r"
    result = rnnkit("train", "charlm", *TINY, "--data", short, "--out", out)
    assert_one_line_error(
        result, "the validation part of the text is 1 character(s)", "at least 36 characters"
    )
    assert "step 1" not in result[2] and not out.exists()


def test_dry_run_keeps_the_stopping_point_given(rnnkit, text_file, tmp_path):
    """--dry-run's 6 steps stand in only for a stop the user did not give: --time-budget
    alone was "set a stopping point", and beside --max-steps it was dropped."""
    out = tmp_path / "budget"
    argv = ["train", "charlm", *TINY, "--data", text_file, "--dry-run", "--json"]
    code, _, err = rnnkit(*argv, "--time-budget", "1s", "--out", out)
    assert code == 0, err
    trainer = _config(out)["config"]["trainer"]
    assert trainer["time_budget"] == 1.0 and trainer["max_steps"] is None
    out = tmp_path / "both"
    code, stdout, err = rnnkit(*argv, "--max-steps", "2", "--time-budget", "1m", "--out", out)
    assert code == 0, err
    trainer = _config(out)["config"]["trainer"]
    assert trainer["time_budget"] == 60.0 and trainer["max_steps"] == 2
    assert json.loads(stdout)["steps"] == 2
    assert _config(out)["config"]["data"]["max_chars"] == 20_000  # the rest is the dry run's


def test_evaluate_refuses_a_split_beside_data(rnnkit, run_dir, text_file):
    """--data is scored whole: a --split beside it was silently ignored."""
    result = rnnkit("evaluate", run_dir, "--data", text_file, "--split", "val")
    assert_one_line_error(result, "--split val", f"--data {text_file}", "give one or the other")
    code, out, err = rnnkit("evaluate", run_dir, "--data", text_file, "--json")
    assert code == 0, err
    assert json.loads(out)["data"] == str(text_file)
    assert json.loads(out)["tokens"] == len(TEXT)
    code, out, _ = rnnkit("evaluate", run_dir, "--json")  # no flag: the run's test split
    assert code == 0 and json.loads(out)["data"].startswith("test split of ")


def test_evaluate_takes_the_flags_its_decoding_error_names(rnnkit, run_dir, tmp_path):
    """The error for a Latin-1 --data said "name its encoding with --encoding, keep going
    with --decode-errors replace or skip": flags evaluate did not have."""
    path = tmp_path / "latin1.txt"
    text = TEXT + LATIN1_LINE
    path.write_bytes(text.encode("latin-1"))
    assert_one_line_error(rnnkit("evaluate", run_dir, "--data", path), "with --encoding")
    for flags, tokens in (
        (("--encoding", "latin-1"), len(text)),
        (("--decode-errors", "skip"), len(text) - 5),
    ):
        code, out, err = rnnkit("evaluate", run_dir, "--data", path, *flags, "--json")
        assert code == 0, err
        assert json.loads(out)["tokens"] == tokens
        result = rnnkit("evaluate", run_dir, *flags)  # without --data they would say nothing
        assert_one_line_error(result, f"{flags[0]} says how the --data text is decoded")
    result = rnnkit("evaluate", run_dir, "--encoding", "latin-1", "--decode-errors", "skip")
    assert_one_line_error(result, "--encoding and --decode-errors say how the --data text")
    result = rnnkit("evaluate", run_dir, "--data", path, "--encoding", "hex")
    assert_one_line_error(result, "encoding 'hex' is not a text encoding")


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--length", "0"), "length must be an integer >= 1"),
        (("--temperature", "-2"), "temperature must be 0 (greedy) or a number"),
        (("--top-p", "2"), "top_p must be None or a number in (0, 1]"),
        (("--beam", "2", "--length", "0"), "length"),
    ],
)
def test_a_bad_sampling_option_prints_nothing_before_its_error(rnnkit, run_dir, option, words):
    """The prime went to stdout before the generator checked its options."""
    result = rnnkit("sample", run_dir, "--prime", "ROMEO", *option)
    assert_one_line_error(result, words)
    assert result[1] == ""


def test_sample_takes_the_seeds_train_takes(rnnkit, run_dir, capsys):
    """2**64 failed after the prime with torch's "Overflow when unpacking long long"; -1 was
    taken. A seed is an integer from 0 to 2**32 - 1, as train's --seed."""
    for bad in (str(2**64), "-1"):
        with pytest.raises(SystemExit) as exit:
            rnnkit("sample", run_dir, "--prime", "ROMEO", "--seed", bad)
        out, err = capsys.readouterr()
        assert exit.value.code == 2 and out == ""
        assert f"expected a seed, an integer from 0 to {SEED_MAX}" in err
    args = ("sample", run_dir, "--prime", "ROMEO", "--length", "8", "--seed", str(SEED_MAX))
    code, first, _ = rnnkit(*args)
    assert code == 0 and first.startswith("ROMEO") and rnnkit(*args)[1] == first


def test_a_prime_outside_the_text_names_no_run_directory(rnnkit, text_file, tmp_path):
    out = tmp_path / "r"
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--prime", "Zq€", "--out", out)
    assert_one_line_error(result, "'Z', 'q', '€'", "give a --prime made of them")
    assert "vocab.json" not in result[2] and not out.exists()


def test_an_empty_out_is_refused(rnnkit, text_file, tmp_path, monkeypatch):
    """--out "" fell back to a new runs/charlm-<cell>-<time>, with either engine."""
    monkeypatch.chdir(tmp_path)
    for engine in ("torch", "numpy"):
        result = rnnkit("train", "charlm", "--engine", engine, "--data", text_file, "--out", "")
        assert_one_line_error(result, "--out is empty")
    assert not (tmp_path / "runs").exists()


def test_the_numpy_engine_reads_a_latin1_text_with_encoding(rnnkit, tmp_path):
    """Its error for such a file says "name its encoding with --encoding", which it refused."""
    path = tmp_path / "latin1.txt"
    path.write_bytes(("plain ascii first\n" + LATIN1_LINE * 60).encode("latin-1"))
    out = tmp_path / "np"
    argv = ["train", "charlm", "--engine", "numpy", "--data", path, "--hidden-size", "8"]
    argv += ["--max-steps", "3", "--out", out]
    assert_one_line_error(rnnkit(*argv), "--encoding")
    assert not out.exists()
    code, _, err = rnnkit(*argv, "--encoding", "latin-1", "--decode-errors", "strict")
    assert code == 0, err
    record = _config(out)
    assert record["config"]["encoding"] == "latin-1" and record["data"]["encoding"] == "latin-1"
    assert record["data"]["chars"] == len("plain ascii first\n" + LATIN1_LINE * 60)
    symbols = json.loads((out / "vocab.json").read_text(encoding="utf-8"))["symbols"]
    assert {"\u00e7", "\u00e9", "\u00e0", "\u00ef"} <= set(symbols)


def test_the_numpy_engine_checks_out_before_it_trains(rnnkit, run_dir, text_file, monkeypatch):
    """It trained to the end (14 s in the report) before it found --out held a run."""
    from rnnkit.reference import charlm as reference

    def trained(*args, **kwargs):
        raise AssertionError("trained before --out was checked")

    monkeypatch.setattr(reference, "train", trained)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    argv = ["train", "charlm", "--engine", "numpy", "--data", text_file, "--out", run_dir]
    assert_one_line_error(rnnkit(*argv), f"{run_dir} already holds a run")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
