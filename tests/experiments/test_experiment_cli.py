"""``rnnkit experiment``: every benchmark end to end at tiny settings, the JSON report, plots,
errors as one line, a diverged run reported and not raised."""

from __future__ import annotations

import json
import math
import re
import sys
import types
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.experiments.adding import AddingTask
from rnnkit.experiments.copy_memory import baseline_nats
from rnnkit.experiments.runner import ExperimentReport, RunResult, format_table
from rnnkit.training.metrics import read_metrics
from tests.conftest import needs_bf16_kernels

RESULT_KEYS = {
    "cell",
    "seq_len",
    "metric",
    "value",
    "solved",
    "steps_to_solve",
    "steps",
    "seconds",
    "baseline",
    "diverged",
}


def run_json(capsys, *argv) -> dict:
    assert main(["experiment", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)  # stdout is exactly one JSON object


def tiny(tmp_path, *extra, steps=2) -> list[str]:
    sizes = ["--hidden-size", "4", "--batch-size", "3"]
    return ["--max-steps", str(steps), "--eval-every", "1", *sizes, "--out", str(tmp_path), *extra]


@pytest.mark.parametrize(
    ("task", "seq_lens", "metric"),
    [
        ("adding", (5, 7), "test_mse"),
        ("copy", (3,), "test_nats"),
        ("digits", (8, 64), "test_accuracy"),
        ("seqmnist", (784,), "test_accuracy"),
    ],
)
def test_every_experiment_runs_end_to_end(
    task, seq_lens, metric, tmp_path, capsys, fake_image_data
):
    lengths = ",".join(map(str, seq_lens))
    report = run_json(capsys, task, "--cells", "rnn,gru", "--seq-len", lengths, *tiny(tmp_path))
    assert report["task"] == task
    results = report["results"]
    assert [(r["cell"], r["seq_len"]) for r in results] == [
        (cell, n) for n in seq_lens for cell in ("rnn", "gru")
    ]
    for result in results:
        assert RESULT_KEYS <= set(result)
        assert result["metric"] == metric and result["steps"] == 2
        assert isinstance(result["value"], float) and math.isfinite(result["value"])
        assert result["diverged"] is False and isinstance(result["solved"], bool)
        run_dir = Path(result["run_dir"])
        assert run_dir == tmp_path / task / f"{result['cell']}-T{result['seq_len']}"
        evaluations = [r for r in read_metrics(run_dir / "metrics.jsonl") if r["kind"] == "eval"]
        assert [r["step"] for r in evaluations] == [1, 2]
        assert evaluations[-1][metric] == result["value"]  # the final model's evaluation
        assert (run_dir / "checkpoints" / "last.safetensors").is_file()
    assert [Path(p).name for p in report["plots"]] == [f"{task}-T{n}.png" for n in seq_lens]
    for plot in report["plots"]:
        assert Path(plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if task in ("digits", "seqmnist"):
        assert fake_image_data == [{"digits": "digits", "seqmnist": "mnist5k"}[task]]


def test_copy_reports_recall_accuracy_and_its_baseline(tmp_path, capsys):
    report = run_json(capsys, "copy", "--cells", "lstm", "--seq-len", "4", *tiny(tmp_path))
    (result,) = report["results"]
    assert result["baseline"] == pytest.approx(baseline_nats(4))
    assert 0.0 <= result["final"]["recall_accuracy"] <= 1.0


def test_the_table_names_every_run(tmp_path, capsys):
    code = main(["experiment", "adding", "--cells", "rnn,lstm", "--seq-len", "4", *tiny(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["rnn"], ["lstm"])]
    assert [(row[0], row[1]) for row in rows] == [("rnn", "4"), ("lstm", "4")]
    assert "0.1667" in out  # the adding baseline


def test_the_table_keeps_its_columns_for_long_cell_names():
    def result(cell: str) -> RunResult:
        return RunResult(
            cell, 64, "test_accuracy", 0.9, False, None, 100, 1.0, 0.1, False, "time_budget", "run"
        )

    results = [result("rnn"), result("gru-lectures")]
    report = ExperimentReport("digits", None, Path("out"), results, [])
    header, *rows = format_table(report).splitlines()[1:]
    # the cell names are left-aligned; every other column ends where the header's does
    ends = [m.end() for m in re.finditer(r"\S+(?: to solve)?", header)][1:]
    for row in rows:
        assert [m.end() for m in re.finditer(r"\S+", row)][1:] == ends, (header, row)


def test_a_diverging_run_is_reported_and_the_next_one_runs(tmp_path, capsys, monkeypatch):
    step = AddingTask.training_step

    def blows_up_in_rnn(self, model, batch, carry):
        output = step(self, model, batch, carry)
        if self.cell == "rnn":
            output.loss = output.loss * math.inf
        return output

    monkeypatch.setattr(AddingTask, "training_step", blows_up_in_rnn)
    report = run_json(capsys, "adding", "--cells", "rnn,lstm", "--seq-len", "4", *tiny(tmp_path))
    rnn, lstm = report["results"]
    assert rnn["diverged"] is True and rnn["value"] is None and rnn["solved"] is False
    assert rnn["steps"] == 1
    assert lstm["diverged"] is False and lstm["steps"] == 2


def test_steps_to_solve_is_the_first_solving_evaluation_and_solved_the_last(
    tmp_path, capsys, monkeypatch
):
    scripted = iter([0.2, 0.005, 0.02, 0.5])
    monkeypatch.setattr(AddingTask, "evaluate", lambda self, model: {"test_mse": next(scripted)})
    argv = tiny(tmp_path, steps=3)
    (result,) = run_json(capsys, "adding", "--cells", "lstm", "--seq-len", "4", *argv)["results"]
    assert result["steps_to_solve"] == 2
    assert result["value"] == 0.02 and result["solved"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["adding", "--cells", "rnn,lstmx"], "unknown cell 'lstmx'; allowed: rnn, relu (alias"),
        (["adding", "--seq-len", "2"], "--seq-len >= 3"),
        (["adding", "--seq-len", "50,x"], "positive integers"),
        (["copy", "--seq-len", "0"], "positive integers"),
        (["digits", "--seq-len", "10"], "8 (row by row) or 64 (pixel by pixel)"),
        (["seqmnist", "--seq-len", "64"], "28 (row by row) or 784 (pixel by pixel)"),
        (["adding", "--lr", "-1"], "--lr takes positive numbers"),
        (["adding", "--cells", "rnn", "--lr", "gru=0.1"], "--lr names gru, which this"),
        (["adding", "--cells", "rnn-relu", "--lr", "irnn=1e-4"], "names irnn"),
        (["adding", "--threads", "many"], "--threads"),
        (["adding", "--time-budget", "soon"], "duration"),
        ([], "name an experiment"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, message, tmp_path, capsys):
    assert main(["experiment", *argv, "--out", str(tmp_path)] if argv else ["experiment"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rnnkit experiment: error:") and "\n" not in err
    assert message in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_an_unknown_experiment_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["experiment", "parity"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_data_set_not_fetched_says_how_to_fetch_it(tmp_path, capsys, monkeypatch):
    pytest.importorskip("rnnkit.data.images")
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "empty-cache"))
    assert main(["experiment", "digits", "--max-steps", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "rnnkit data fetch digits" in err
    assert not (tmp_path / "o").exists()


def test_bf16_on_a_cpu_without_bf16_kernels_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    argv = ["adding", "--cells", "lstm", "--seq-len", "4", *tiny(tmp_path / "o")]
    assert main(["experiment", *argv, "--precision", "bf16"]) == 2
    err = capsys.readouterr().err
    assert "precision bf16 needs a CPU" in err and "Use fp32, or auto" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_existing_run_is_never_overwritten(tmp_path, capsys):
    argv = ["adding", "--cells", "lstm", "--seq-len", "4", *tiny(tmp_path)]
    run_json(capsys, *argv)
    assert main(["experiment", *argv]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_out_that_is_a_file_or_under_one_is_refused_before_any_run(tmp_path, capsys):
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello world\n")
    adding = ["adding", "--cells", "rnn", "--seq-len", "4", *tiny(corpus)]
    for argv in (adding, ["exploding", "--steps", "2", "--out", str(corpus)]):
        assert main(["experiment", *argv]) == 2
        err = capsys.readouterr().err
        assert f"--out {corpus} is a file; give a directory for " in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (
        main(["experiment", "adding", "--cells", "rnn", "--seq-len", "4", *tiny(corpus / "x")]) == 2
    )
    err = capsys.readouterr().err
    assert f"--out {corpus / 'x'} cannot be made: {corpus} is not a folder" in err
    assert "run 1/1" not in err  # refused before the run, not after it
    assert corpus.read_bytes() == b"hello world\n" and list(tmp_path.iterdir()) == [corpus]


def test_a_run_is_determined_by_its_seed(tmp_path, capsys):
    def final_value(name, seed):
        argv = ["adding", "--cells", "gru", "--seq-len", "4", *tiny(tmp_path / name)]
        return run_json(capsys, *argv, "--seed", str(seed))["results"][0]["value"]

    torch.manual_seed(123)  # the global state must not matter: each run seeds itself
    first = final_value("a", 1)
    torch.manual_seed(456)
    assert final_value("b", 1) == first
    assert final_value("c", 2) != first


def test_a_broken_exploding_module_leaves_the_other_experiments_working(
    tmp_path, capsys, monkeypatch
):
    import rnnkit.experiments

    broken = types.ModuleType("rnnkit.experiments.exploding")  # no ExplodingConfig
    monkeypatch.setitem(sys.modules, "rnnkit.experiments.exploding", broken)
    monkeypatch.setattr(rnnkit.experiments, "exploding", broken, raising=False)
    assert main(["experiment", "exploding"]) == 2
    assert "experiment exploding is unavailable" in capsys.readouterr().err
    run_json(capsys, "adding", "--cells", "lstm", "--seq-len", "4", *tiny(tmp_path))


@needs_bf16_kernels
def test_regularisation_and_precision_flags_reach_the_run(
    tmp_path, capsys, monkeypatch, fake_image_data
):
    from rnnkit.experiments import runner

    optimizers = []
    build = runner.optimizer_config

    def spy(config, cell):
        optimizers.append(build(config, cell))
        return optimizers[-1]

    monkeypatch.setattr(runner, "optimizer_config", spy)
    flags = ["--weight-decay", "0.05", "--dropout", "0.2", "--precision", "bf16"]
    warps = ["--augment-rotate", "8", "--augment-scale", "0.1", "--augment-elastic", "1.5"]
    argv = ["--cells", "lstm", "--seq-len", "784", *tiny(tmp_path), *flags, *warps]
    report = run_json(capsys, "seqmnist", *argv)
    (result,) = report["results"]
    saved = json.loads((Path(result["run_dir"]) / "config.json").read_text())["config"]
    assert saved["weight_decay"] == 0.05 and saved["dropout"] == 0.2
    assert saved["precision"] == "bf16"
    assert (saved["augment_rotate"], saved["augment_scale"], saved["augment_elastic"]) == (
        8.0,
        0.1,
        1.5,
    )
    assert [(o.name, o.weight_decay) for o in optimizers] == [("adamw", 0.05)]
    assert result["precision"] == "bf16"


def test_without_weight_decay_the_optimizer_is_plain_adam():
    from rnnkit.experiments.config import experiment_config
    from rnnkit.experiments.runner import optimizer_config

    config = experiment_config("adding", lr=3e-3, cell_lr={"irnn": 1e-4}.items())
    assert optimizer_config(config, "lstm").name == "adam"
    assert optimizer_config(config, "irnn").lr == 1e-4
