"""rnnkit train charlm / sample / evaluate, run as a user runs them (in process)."""

from __future__ import annotations

import json

import pytest

from tests.cli.checks import assert_one_line_error

TINY = ["--preset", "smoke", "--hidden-size", "16", "--seq-len", "10", "--max-chars", "100000"]


@pytest.fixture
def run_dir(rnnkit, text_file, tmp_path):
    """A finished smoke run on the tiny text (6 steps, evaluated at 3 and 6)."""
    out = tmp_path / "run"
    code, _, err = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", out, "--json")
    assert code == 0, err
    return out


def test_train_json_ends_with_one_object_and_writes_the_run_dir(rnnkit, text_file, tmp_path):
    out = tmp_path / "r"
    code, stdout, stderr = rnnkit(
        "train", "charlm", *TINY, "--data", text_file, "--out", out, "--json"
    )
    assert code == 0, stderr
    summary = json.loads(stdout)  # stdout holds the JSON object only
    assert {"run_dir", "steps", "tokens_per_s", "val_nats", "val_bpc"} <= set(summary)
    assert summary["run_dir"] == str(out) and summary["steps"] == 6
    assert summary["val_bpc"] == pytest.approx(summary["val_nats"] / 0.6931471805599453)
    for name in ("config.json", "vocab.json", "metrics.jsonl", "samples.txt", "plots/loss.png"):
        assert (out / name).is_file(), name
    for name in ("last", "best"):
        assert (out / "checkpoints" / f"{name}.safetensors").is_file()
        assert (out / "checkpoints" / f"{name}.json").is_file()
    assert "step 3: val_nats" in stderr  # evaluations go to stderr under --json


def test_without_json_samples_and_a_summary_go_to_stdout(rnnkit, text_file, tmp_path):
    code, stdout, _ = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", tmp_path / "r")
    assert code == 0
    assert "sample" in stdout and "best val" in stdout and "rnnkit sample" in stdout


def test_explicit_flags_override_the_preset(rnnkit, text_file, tmp_path):
    out = tmp_path / "r"
    code, _, err = rnnkit(
        "train",
        "charlm",
        "--preset",
        "smoke",
        "--data",
        text_file,
        "--hidden-size",
        "20",
        "--max-steps",
        "2",
        "--clip",
        "0",
        "--out",
        out,
    )
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["preset"] == "smoke"
    resolved = config["config"]
    assert resolved["model"]["hidden_size"] == 20 and resolved["model"]["num_layers"] == 1
    assert resolved["trainer"]["max_steps"] == 2 and resolved["trainer"]["clip_norm"] is None
    assert resolved["optimizer"]["lr"] == 1e-2  # from the preset
    assert config["data"]["sha256"] and config["data"]["kind"] == "file"


def test_dry_run_is_a_handful_of_steps(rnnkit, text_file, tmp_path):
    code, stdout, err = rnnkit(
        "train",
        "charlm",
        "--dry-run",
        "--data",
        text_file,
        "--hidden-size",
        "16",
        "--layers",
        "1",
        "--out",
        tmp_path / "r",
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["steps"] == 6


def test_sample_streams_a_seeded_text(rnnkit, run_dir):
    args = ("sample", run_dir, "--prime", "ROMEO:", "--length", "30", "--seed", "7")
    code, first, _ = rnnkit(*args)
    assert code == 0 and first.startswith("ROMEO:") and len(first) == 6 + 30 + 1
    assert rnnkit(*args)[1] == first


def test_beam_one_equals_greedy(rnnkit, run_dir):
    code, greedy, _ = rnnkit(
        "sample", run_dir, "--prime", "JULIET", "--length", "25", "--temperature", "0"
    )
    assert code == 0
    assert (
        rnnkit("sample", run_dir, "--prime", "JULIET", "--length", "25", "--beam", "1")[1] == greedy
    )


def test_beam_search_takes_no_sampling_options(rnnkit, run_dir):
    result = rnnkit("sample", run_dir, "--beam", "3", "--top-k", "5")
    assert_one_line_error(result, "--beam", "--top-k")


def test_unknown_prime_characters_are_a_one_line_error(rnnkit, run_dir):
    result = rnnkit("sample", run_dir, "--prime", "ROMEO: ¿Qué?")
    assert_one_line_error(result, "'¿'", "'é'", "not in the run's vocabulary")
    assert result[1] == ""  # nothing on stdout


def test_evaluate_json_and_text(rnnkit, run_dir):
    code, out, _ = rnnkit("evaluate", run_dir, "--json")
    result = json.loads(out)
    assert code == 0
    assert {"run_dir", "steps", "tokens_per_s", "val_nats", "val_bpc", "nats", "bpc"} <= set(result)
    assert result["data"] == f"test split of {run_dir.parent / 'tiny.txt'}"
    code, out, _ = rnnkit("evaluate", run_dir, "--split", "val", "--checkpoint", "last")
    assert code == 0 and "nats/char" in out and "bits/char" in out


def _bad_data(tmp_path, case):
    if case == "missing":
        return tmp_path / "nope.txt"
    path = tmp_path / ("folder" if case == "no-text-dir" else "data.txt")
    if case == "empty":
        path.write_bytes(b"")
    elif case == "binary":
        path.write_bytes(b"\x7fELF\x00\x01\x02" * 50)
    elif case == "latin-1":
        path.write_bytes("Fran\u00e7ais d\u00e9j\u00e0 vu\n".encode("latin-1") * 50)
    else:
        path.mkdir()
        (path / "image.png").write_bytes(b"\x89PNG")
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "binary", "latin-1", "no-text-dir"])
def test_bad_training_data_is_a_one_line_error_and_leaves_no_run(rnnkit, tmp_path, case):
    out = tmp_path / "r"
    result = rnnkit("train", "charlm", *TINY, "--data", _bad_data(tmp_path, case), "--out", out)
    assert_one_line_error(result)
    assert not out.exists()


@pytest.mark.parametrize("budget", ["10minutes", "-5m", "1m1h", "soon"])
def test_bad_durations_are_a_one_line_error(rnnkit, text_file, budget):
    result = rnnkit("train", "charlm", "--data", text_file, f"--time-budget={budget}")
    assert_one_line_error(result, "90s, 10m, 1h30m")


@pytest.mark.parametrize("what", ["missing", "empty-dir", "file"])
def test_resuming_a_non_run_is_a_one_line_error(rnnkit, tmp_path, what):
    target = tmp_path / what
    if what == "empty-dir":
        target.mkdir()
    elif what == "file":
        target.write_text("hello")
    for argv in (("train", "--resume", target), ("train", "charlm", "--resume", target)):
        result = rnnkit(*argv)
        assert_one_line_error(result)


def test_sample_and_evaluate_of_a_non_run_are_one_line_errors(rnnkit, tmp_path):
    assert_one_line_error(rnnkit("sample", tmp_path), "not an rnnkit run directory")
    assert_one_line_error(rnnkit("evaluate", tmp_path / "nope"), "no run directory")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_checkpoint_is_a_one_line_error_and_nothing_else_is_lost(rnnkit, run_dir, damage):
    folder = run_dir / "checkpoints"
    last = folder / "last.safetensors"
    last.write_bytes(last.read_bytes()[:500] if damage == "truncate" else b"rubbish" * 99)
    before = {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    result = rnnkit("train", "--resume", run_dir)
    assert_one_line_error(result, "corrupt or truncated")
    result = rnnkit("sample", run_dir, "--checkpoint", "last")
    assert_one_line_error(result, "corrupt or truncated")
    result = rnnkit("evaluate", run_dir, "--checkpoint", "last")
    assert_one_line_error(result, "corrupt or truncated")
    after = {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert after == before
    assert rnnkit("sample", run_dir, "--length", "5")[0] == 0  # best still works


def test_training_into_an_existing_run_is_refused(rnnkit, run_dir, text_file):
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", run_dir)
    assert_one_line_error(result, "already holds a run", "--resume")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_training_into_a_folder_of_other_files_is_refused_without_resume_advice(
    rnnkit, text_file, tmp_path
):
    folder = tmp_path / "nonempty"
    folder.mkdir()
    (folder / "keep.txt").write_bytes(b"hi\n")
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", folder)
    assert_one_line_error(result, f"{folder} already holds files and is not an rnnkit run")
    assert "--resume" not in result[2] and "choose another --out" in result[2]
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert (folder / "keep.txt").read_bytes() == b"hi\n"


@pytest.mark.parametrize("config", ['{"lr": 0.1}\n', "[1, 2]", "not json", b"\xff\xfe"], ids=str)
def test_a_config_json_of_the_users_own_is_not_a_run(rnnkit, text_file, tmp_path, config):
    """A folder holding only the user's config.json was said to "already hold a run", with
    the advice to --resume it."""
    folder = tmp_path / "userdir"
    folder.mkdir()
    data = config if isinstance(config, bytes) else config.encode()
    (folder / "config.json").write_bytes(data)
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", folder)
    assert_one_line_error(result, f"{folder} already holds files and is not an rnnkit run")
    assert "--resume" not in result[2]
    assert [p.name for p in folder.iterdir()] == ["config.json"]
    assert (folder / "config.json").read_bytes() == data


def test_a_run_whose_config_json_is_lost_is_still_a_run(rnnkit, run_dir, text_file):
    (run_dir / "config.json").unlink()  # its checkpoints/ say what it is
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", run_dir)
    assert_one_line_error(result, f"{run_dir} already holds a run")


def test_out_that_is_a_file_or_under_one_is_refused_and_left_as_it_was(rnnkit, text_file):
    before = text_file.read_bytes()
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", text_file)
    assert_one_line_error(result, f"--out {text_file} is a file; give a directory for the run")
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", text_file / "sub")
    words = f"--out {text_file / 'sub'} cannot be made: {text_file} is not a folder"
    assert_one_line_error(result, words)
    assert "Errno" not in result[2] and text_file.read_bytes() == before
    empty = text_file.parent / "empty"
    empty.mkdir()  # an empty folder takes a run
    code, _, err = rnnkit("train", "charlm", *TINY, "--data", text_file, "--out", empty, "--json")
    assert code == 0 and (empty / "config.json").is_file(), err


def test_resume_continues_and_extends(rnnkit, run_dir):
    code, out, err = rnnkit("train", "--resume", run_dir, "--max-steps", "9", "--json")
    assert code == 0, err
    assert json.loads(out)["steps"] == 9
    code, out, _ = rnnkit("train", "charlm", "--resume", run_dir, "--max-steps", "10", "--json")
    assert code == 0 and json.loads(out)["steps"] == 10


def test_resume_to_a_stop_already_passed_is_refused_and_changes_nothing(rnnkit, run_dir):
    """Both stops count the whole run: the user who meant "5 more steps" or "a millisecond
    more" is told what the run has done and what to give instead. (The run's own stop, 6,
    given again, is no new stop: the run ends again, as test_train_tag_with_a_crf does.)"""
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    result = rnnkit("train", "--resume", run_dir, "--max-steps", "5")
    assert_one_line_error(result, "--max-steps 5 is already reached", "at step 6", "--max-steps 11")
    result = rnnkit("train", "charlm", "--resume", run_dir, "--time-budget", "0.001")
    assert_one_line_error(result, "--time-budget 0.001s is already spent", "for 0.001s more")
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_beam_for_a_char_models_evaluation_is_refused(rnnkit, run_dir):
    """Only a translation run's evaluation has a beam; before, --beam was silently ignored."""
    result = rnnkit("evaluate", run_dir, "--beam", "3")
    assert_one_line_error(result, "--beam sets the beam of a translation run", "charlm run")


def test_a_config_edited_to_another_size_is_named_on_resume(rnnkit, run_dir):
    """The model config.json describes no longer takes the run's weights: the first size
    mismatch is named, not torch's list of all of them."""
    record = json.loads((run_dir / "config.json").read_text())
    record["config"]["model"]["hidden_size"] = 24
    (run_dir / "config.json").write_text(json.dumps(record))
    result = rnnkit("train", "--resume", run_dir, "--max-steps", "9")
    assert_one_line_error(result, "16] there but [", "24] in the model", "was config.json edited?")


def test_a_setting_config_json_lacks_is_said_on_resume(rnnkit, run_dir):
    """A key removed by hand takes its default, as a field added after the run was written
    does: the run goes on, and says which settings it did not find (it was silent)."""
    record = json.loads((run_dir / "config.json").read_text())
    del record["config"]["optimizer"]["lr"]
    (run_dir / "config.json").write_text(json.dumps(record))
    code, out, err = rnnkit("train", "--resume", run_dir, "--max-steps", "7")
    assert code == 0, err
    assert "config.json records no optimizer.lr=" in out  # with the evaluations, on stdout


def test_resume_takes_no_other_configuration(rnnkit, run_dir):
    result = rnnkit("train", "charlm", "--resume", run_dir, "--hidden-size", "64")
    assert_one_line_error(result, "--hidden-size")


def test_train_without_a_task_is_a_one_line_error(rnnkit):
    assert_one_line_error(rnnkit("train"), "charlm")


def test_a_flag_beside_resume_that_argparse_reads_as_a_task_says_what_may_follow(
    rnnkit, run_dir, capsys
):
    with pytest.raises(SystemExit) as exit:
        rnnkit("train", "--resume", run_dir, "--out", "elsewhere")
    err = capsys.readouterr().err
    assert exit.value.code == 2 and "invalid choice: 'elsewhere'" in err
    assert "with --resume RUN_DIR, only --max-steps, --time-budget, --device and --json" in err


def test_numpy_engine(rnnkit, text_file, tmp_path):
    out = tmp_path / "np"
    code, stdout, err = rnnkit(
        "train",
        "charlm",
        "--engine",
        "numpy",
        "--data",
        text_file,
        "--hidden-size",
        "8",
        "--max-steps",
        "5",
        "--out",
        out,
        "--json",
    )
    assert code == 0, err
    summary = json.loads(stdout)
    assert {"run_dir", "steps", "tokens_per_s", "val_nats", "val_bpc"} <= set(summary)
    assert (out / "metrics.jsonl").exists() and (out / "samples.txt").exists()
    result = rnnkit("train", "charlm", "--engine", "numpy", "--precision", "bf16")
    assert_one_line_error(result, "--precision", "--engine numpy")
    assert_one_line_error(rnnkit("sample", out), "--engine numpy")


def test_an_impossible_model_is_a_one_line_error_and_leaves_no_run(rnnkit, text_file, tmp_path):
    out = tmp_path / "r"
    result = rnnkit(
        "train",
        "charlm",
        *TINY,
        "--data",
        text_file,
        "--embedding",
        "onehot",
        "--tie-weights",
        "--out",
        out,
    )
    assert_one_line_error(result, "tie_weights")
    assert not out.exists()


def test_threads_option(rnnkit, text_file, tmp_path):
    out = tmp_path / "r"
    code, _, err = rnnkit(
        "train",
        "charlm",
        *TINY,
        "--data",
        text_file,
        "--threads",
        "auto",
        "--max-steps",
        "2",
        "--out",
        out,
    )
    assert code == 0, err
    trainer = json.loads((out / "config.json").read_text())["config"]["trainer"]
    assert trainer["adapt_threads"] is True and trainer["threads"] is None
    result = rnnkit("train", "charlm", *TINY, "--data", text_file, "--threads", "many")
    assert_one_line_error(result, "--threads takes a positive integer or auto")
