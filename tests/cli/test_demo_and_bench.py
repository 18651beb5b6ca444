"""The CLI's demo and bench commands, run as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from rnnkit.cli.main import main
from rnnkit.demo import chance_loss, train_toy_lstm


def test_demo_loss_falls_from_chance_level():
    result = train_toy_lstm(steps=80, report_every=20)
    vocab = 16
    assert abs(result.initial_loss - chance_loss(vocab)) < 0.3  # starts near guessing
    assert result.final_loss < 0.5 * result.initial_loss
    assert result.sample.startswith("hello")


def test_demo_command_prints_falling_losses(capsys):
    assert main(["demo", "--steps", "60"]) == 0
    losses = [float(m) for m in re.findall(r"loss (\d+\.\d+)", capsys.readouterr().out)]
    assert len(losses) >= 2 and losses[-1] < losses[0]


def test_bench_layers_json_records(capsys):
    code = main(
        ["bench", "layers", "--cells", "gru", "--shape", "6,2,3,4,1", "--repeats", "2", "--json"]
    )
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["impl"] for r in records] == ["torch", "fused", "loop", "stack"]
    for record in records:
        assert set(record) == {"cell", "shape", "impl", "ms", "ratio_vs_torch", "ratio_vs_gru"}
        assert record["ratio_vs_gru"] is None
        assert record["cell"] == "gru" and record["shape"] == [6, 2, 3, 4, 1] and record["ms"] > 0
    assert records[0]["ratio_vs_torch"] == 1.0
    assert abs(records[1]["ratio_vs_torch"] - records[1]["ms"] / records[0]["ms"]) < 1e-9


@pytest.mark.parametrize(
    ("cell", "last"), [("lnlstm", "loop"), ("peephole", "loop"), ("mingru", "sequential")]
)
def test_bench_layers_times_a_core_without_kernel_against_lstm_and_gru(capsys, cell, last):
    argv = ["bench", "layers", "--cells", cell, "--shape", "6,2,3,4,1", "--repeats", "1"]
    assert main([*argv, "--json"]) == 0
    records = {r["impl"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(records) == ["torch-lstm", "torch-gru", "rnnkit", last]
    lstm, gru = records["torch-lstm"]["ms"], records["torch-gru"]["ms"]
    for record in records.values():
        assert abs(record["ratio_vs_torch"] - record["ms"] / lstm) < 1e-9
        assert abs(record["ratio_vs_gru"] - record["ms"] / gru) < 1e-9


def test_bench_table_keeps_its_columns_for_long_cell_names(capsys):
    argv = ["bench", "layers", "--cells", "gru-lectures,gru", "--shape", "3,2,3,4,1"]
    assert main([*argv, "--repeats", "1"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()[1:]
    shape_ends = {line.index("T,N,in,hid,layers") + len("T,N,in,hid,layers") for line in [header]}
    shape_ends |= {row.index("3,2,3,4,1") + len("3,2,3,4,1") for row in rows}
    assert len(rows) == 8 and len(shape_ends) == 1, [header, *rows]


def test_bench_and_demo_help_and_errors_read_as_written(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "layers", "--help"])
    assert "\n    torch    torch.nn.LSTM/GRU/RNN " in capsys.readouterr().out  # the table, as is
    with pytest.raises(SystemExit):
        main(["demo", "--steps", "abc"])
    assert capsys.readouterr().err.strip().endswith("expected a positive integer, got 'abc'")


def test_bench_bad_shape_is_a_one_line_error(capsys):
    assert main(["bench", "layers", "--shape", "6,2,3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "five positive integers T,N,input,hidden,layers" in err and "'6,2,3'" in err


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "rnnkit.cli.main", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for command in ("demo", "bench", "gradcheck", "data"):
        assert command in result.stdout
