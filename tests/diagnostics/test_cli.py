"""rnnkit diagnose gradients, run as a user runs it (in process), at tiny settings."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rnnkit.options import SEED_MAX
from rnnkit.training.checkpoint import load_checkpoint, save_checkpoint
from tests.cli.checks import assert_one_line_error

TINY = ["--seq-len", "12", "--hidden-size", "6", "--batch-size", "2"]
DIAGNOSE = "rnnkit diagnose: error:"  # how every diagnose error line starts
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run_dir(rnnkit, text_file, tmp_path):
    """A finished tiny charlm run (smoke preset, 6 steps)."""
    out = tmp_path / "run"
    flags = ["--preset", "smoke", "--hidden-size", "8", "--max-chars", "100000"]
    code, _, err = rnnkit("train", "charlm", *flags, "--data", text_file, "--out", out, "--json")
    assert code == 0, err
    return out


def test_fresh_cells_json_is_one_object_with_a_curve_per_cell(rnnkit, tmp_path):
    code, out, err = rnnkit(
        "diagnose", "gradients", "--cells", "rnn,lstm", *TINY, "--out", tmp_path, "--json"
    )
    assert code == 0, err
    report = json.loads(out)  # stdout holds exactly one JSON object
    assert set(report["cells"]) == {"rnn", "lstm"}
    for cell in report["cells"].values():
        assert len(cell["grad_norms"]) == 12 and cell["grad_norms"][0] == pytest.approx(1.0)
        assert isinstance(cell["memory_horizon"], int) and 0 <= cell["memory_horizon"] <= 11
        assert cell["sigma_max"] >= cell["spectral_radius"] > 0
    assert len(report["cells"]["lstm"]["cell_grad_norms"]) == 12
    assert "cell_grad_norms" not in report["cells"]["rnn"]
    assert report["plot"] == str(tmp_path / "gradients.png")
    assert (tmp_path / "gradients.png").read_bytes().startswith(PNG_SIGNATURE)
    assert json.loads((tmp_path / "gradients.json").read_text())["cells"] == report["cells"]


def test_fresh_cells_table_and_the_same_seed_gives_the_same_numbers(rnnkit, tmp_path):
    code, out, err = rnnkit("diagnose", "gradients", "--cells", "gru", *TINY, "--out", tmp_path)
    assert code == 0, err
    assert "gru" in out and "horizon" in out and str(tmp_path / "gradients.png") in out
    first = json.loads((tmp_path / "gradients.json").read_text())
    rnnkit("diagnose", "gradients", "--cells", "gru", *TINY, "--layers", "2", "--out", tmp_path)
    second = json.loads((tmp_path / "gradients.json").read_text())["cells"]["gru"]
    assert len(second["layers"]) == 2
    rnnkit("diagnose", "gradients", "--cells", "gru", *TINY, "--out", tmp_path)
    again = json.loads((tmp_path / "gradients.json").read_text())
    assert again["cells"] == first["cells"]


def test_a_trained_run_is_diagnosed_on_its_validation_text(rnnkit, run_dir):
    before = torch.get_rng_state()
    code, out, err = rnnkit(
        "diagnose", "gradients", run_dir, "--seq-len", "20", "--batch-size", "2", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert list(report["cells"]) == ["lstm"]
    lstm = report["cells"]["lstm"]
    assert len(lstm["grad_norms"]) == 20 and len(lstm["cell_grad_norms"]) == 20
    assert set(lstm["layers"][0]["saturation"]) == {"i", "f", "g", "o", "tanh_c"}
    assert report["settings"]["source"] == str(run_dir)
    assert (run_dir / "plots" / "gradients.png").read_bytes().startswith(PNG_SIGNATURE)
    assert torch.equal(before, torch.get_rng_state())  # building the model drew nothing


def test_train_charlm_takes_diagnose_every(rnnkit, text_file, tmp_path):
    flags = ["--preset", "smoke", "--hidden-size", "8", "--max-chars", "100000"]
    out = tmp_path / "run"
    code, _, err = rnnkit(
        "train", "charlm", *flags, "--data", text_file, "--out", out, "--diagnose-every", "3"
    )
    assert code == 0, err
    kinds = [json.loads(line)["kind"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert kinds.count("diagnostics") == 2  # steps 3 and 6
    assert json.loads((out / "config.json").read_text())["config"]["diagnostics"]["every"] == 3


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["--cells", "rnn,lstn"], ["unknown cell 'lstn'", "allowed: rnn, relu (alias rnn-relu)"]),
        (["--cells", "rnn", "--seq-len", "1"], ["seq_len must be an integer >= 2"]),
        (["--cells", "rnn", "--hidden-size", "0"], ["hidden_size"]),
        (["--cells", "rnn", "--loss", "mean"], ["unknown loss 'mean'"]),
        ([], ["give either a RUN_DIR", "neither"]),
        (["runs/x", "--cells", "rnn"], ["not both"]),
        (["--cells", "rnn", "--checkpoint", "last"], ["--checkpoint appl(ies) to a trained run"]),
        (["no/such/run"], ["no run directory no/such/run"]),
    ],
)
def test_mistakes_are_one_line_errors(rnnkit, tmp_path, argv, fragments):
    result = rnnkit("diagnose", "gradients", *argv, "--out", tmp_path)
    assert_one_line_error(result, *fragments, prefix=DIAGNOSE)


@pytest.mark.parametrize("seed", ["-1", str(2**32), "1.5"])
def test_a_seed_outside_0_to_2_to_the_32_is_refused_as_every_command_refuses_it(
    rnnkit, capsys, tmp_path, seed
):
    with pytest.raises(SystemExit) as exit:  # argparse's own error: usage, then one line
        rnnkit("diagnose", "gradients", "--cells", "rnn", *TINY, "--seed", seed, "--out", tmp_path)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == (
        "rnnkit diagnose gradients: error: argument --seed: expected a seed, an integer from "
        f"0 to {SEED_MAX} (2**32 - 1), got {seed!r}"
    )
    assert list(tmp_path.iterdir()) == []  # refused before anything is written


def test_run_mistakes_are_one_line_errors(rnnkit, run_dir):
    result = rnnkit("diagnose", "gradients", run_dir, "--hidden-size", "4")
    assert_one_line_error(result, "--hidden-size", "fresh cores", prefix=DIAGNOSE)
    result = rnnkit("diagnose", "gradients", run_dir, "--seq-len", "5000")
    assert_one_line_error(result, "validation text", "at most", prefix=DIAGNOSE)
    result = rnnkit("diagnose")
    assert_one_line_error(result, "rnnkit diagnose gradients", prefix=DIAGNOSE)


def test_out_that_is_a_file_or_under_one_is_refused_and_left_as_it_was(rnnkit, tmp_path):
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello world\n")
    fresh = ["diagnose", "gradients", "--cells", "rnn", *TINY]
    result = rnnkit(*fresh, "--out", corpus)
    words = f"--out {corpus} is a file; give a directory for gradients.png and gradients.json"
    assert_one_line_error(result, words, prefix=DIAGNOSE)
    result = rnnkit(*fresh, "--out", corpus / "sub")
    assert_one_line_error(
        result, f"--out {corpus / 'sub'} cannot be made: {corpus} is not a folder", prefix=DIAGNOSE
    )
    assert corpus.read_bytes() == b"hello world\n" and list(tmp_path.iterdir()) == [corpus]
    code, _, err = rnnkit(*fresh, "--out", tmp_path / "new" / "folder")
    assert code == 0 and (tmp_path / "new" / "folder" / "gradients.json").is_file(), err


def test_the_command_diagnoses_a_run_whose_checkpoint_holds_an_inf(rnnkit, run_dir):
    folder = run_dir / "checkpoints"
    checkpoint = load_checkpoint(folder, "best")
    tensors = dict(checkpoint.tensors)
    tensors["model.recurrent.weight_hh_l0"][0, 0] = math.inf
    save_checkpoint(folder, ["best"], tensors, checkpoint.meta)

    code, out, err = rnnkit("diagnose", "gradients", run_dir, "--seq-len", "12", "--json")
    assert code == 0, err
    summary = json.loads(out)["cells"]
    (cell,) = summary.values()
    assert cell["sigma_max"] is None and cell["layers"][0]["spectrum"]["i"]["sigma_max"] is None
    code, out, err = rnnkit("diagnose", "gradients", run_dir, "--seq-len", "12")
    assert code == 0, err
    assert out.splitlines()[1].split()[-4:-2] == ["-", "-"]
