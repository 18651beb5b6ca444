import pytest


def test_lr_takes_per_cell_values_and_names_bad_ones():
    from rnnkit.cli.experiment import parse_lr
    from rnnkit.experiments.config import experiment_config

    assert parse_lr("1e-2") == {"lr": 1e-2, "cell_lr": ()}  # the task's irnn=1e-4 dropped
    assert experiment_config("adding", **parse_lr("1e-2")).lr_for("irnn") == 1e-2
    assert parse_lr("1e-2, irnn=1e-4") == {"lr": 1e-2, "cell_lr": (("irnn", 1e-4),)}
    config = experiment_config("adding", **parse_lr("lstm=3e-3"))
    assert config.lr_for("lstm") == 3e-3 and config.lr_for("gru") == config.lr
    assert experiment_config("adding").lr_for("irnn") == 1e-4  # the task's per-cell default
    for bad in ("fast", "irnn=-1", "0", "irnn=", "1e-2,,"):
        with pytest.raises(ValueError, match="--lr takes positive numbers"):
            parse_lr(bad)
    with pytest.raises(ValueError, match="unknown cell 'bogus'"):
        experiment_config("adding", **parse_lr("bogus=1e-3"))


@pytest.mark.parametrize("task", ["adding", "copy"])
def test_diagnose_every_logs_gradient_flow_and_reports_the_horizon(tmp_path, capsys, task):
    import json

    from rnnkit.cli.main import main
    from rnnkit.training.metrics import read_metrics

    argv = [task, "--cells", "rnn", "--seq-len", "6", "--hidden-size", "8", "--max-steps", "4"]
    argv += ["--batch-size", "4", "--diagnose-every", "2", "--out", str(tmp_path), "--json"]
    assert main(["experiment", *argv]) == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    records = read_metrics(tmp_path / task / "rnn-T6" / "metrics.jsonl")
    diagnostics = [r for r in records if r["kind"] == "diagnostics"]
    assert [r["step"] for r in diagnostics] == [2, 4]
    assert result["memory_horizon"] == diagnostics[-1]["memory_horizon"]
    assert 0 <= result["memory_horizon"] <= 5 + (task == "copy") * 20
    assert diagnostics[-1]["sigma_max/l0/h"] > 0
