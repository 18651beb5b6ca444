import pytest


def test_lr_takes_per_cell_values_and_names_bad_ones():
    from rnnkit.cli.experiment import parse_lr
    from rnnkit.experiments.config import experiment_config

    assert parse_lr("1e-2") == {"lr": 1e-2}
    assert parse_lr("1e-2, irnn=1e-4") == {"lr": 1e-2, "cell_lr": (("irnn", 1e-4),)}
    config = experiment_config("adding", **parse_lr("lstm=3e-3"))
    assert config.lr_for("lstm") == 3e-3 and config.lr_for("gru") == config.lr
    assert experiment_config("adding").lr_for("irnn") == 1e-4  # the task's per-cell default
    for bad in ("fast", "irnn=-1", "0", "irnn=", "1e-2,,"):
        with pytest.raises(ValueError, match="--lr takes positive numbers"):
            parse_lr(bad)
    with pytest.raises(ValueError, match="unknown cell 'bogus'"):
        experiment_config("adding", **parse_lr("bogus=1e-3"))
