"""``rnnkit gradcheck``: table, JSON, exit codes."""

from __future__ import annotations

import argparse
import json

import pytest

from rnnkit.cli import gradcheck as gradcheck_cli
from rnnkit.reference import gradcheck


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rnnkit")
    gradcheck_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_json(cell, capsys):
    assert _run(["gradcheck", "--cell", cell, "--seed", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"cell", "max_rel_error", "params"}
    assert result["cell"] == cell
    assert result["max_rel_error"] < 1e-6
    assert set(result["params"]) >= {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hy"}


def test_table(capsys):
    assert _run(["gradcheck", "--cell", "gru", "--no-reset-after", "--loss", "mse"]) == 0
    out = capsys.readouterr().out
    assert "weight_hh" in out and "gru: max" in out and "ok" in out


def test_exit_code_1_when_an_error_is_too_large(monkeypatch, capsys):
    def wrong(*args, **kwargs):
        return {"cell": "rnn", "max_rel_error": 3e-4, "params": {"weight_hh": 3e-4}}

    monkeypatch.setattr(gradcheck, "check_gradients", wrong)
    assert _run(["gradcheck", "--cell", "rnn"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_through_the_main_entry_point(capsys):
    from rnnkit.cli.main import main

    assert main(["gradcheck", "--cell", "lstm", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cell"] == "lstm"
    with pytest.raises(SystemExit) as error:
        main(["gradcheck", "--cell", "transformer"])
    assert error.value.code == 2
    assert "invalid choice: 'transformer'" in capsys.readouterr().err


def test_an_option_of_another_cell_is_a_one_line_error(capsys):
    """It passed before, checking a relu LSTM that does not exist."""
    from rnnkit.cli.main import main

    assert main(["gradcheck", "--cell", "lstm", "--nonlinearity", "relu"]) == 2
    err = capsys.readouterr().err
    assert "nonlinearity is the rnn cell's option; the lstm has none" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_negative_seed_is_a_one_line_error_naming_the_flag(capsys):
    from rnnkit.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["gradcheck", "--seed", "-1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(
        "error: argument --seed: expected a seed, an integer from 0 to 4294967295 (2**32 - 1), "
        "got '-1'"
    )
