"""The frames ``predict`` reads for a run on vectors: a UTF-8 ``.csv`` with a byte-order mark
reads as one without; an empty file, NaN or an infinity is refused with one line naming the
file, no NumPy warning; and ``rnnkit train classify --help`` names the selection it uses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rnnkit.tasks.classify import train
from rnnkit.tasks.classify_config import ClassifyConfig, resolve_config
from rnnkit.tasks.classify_runs import predict_run, read_frames
from tests.cli.checks import assert_one_line_error
from tests.tasks import labelled_fixtures as fixtures

FRAMES = np.array([[1.5, -0.25, 2.0], [0.5, 1.0, -3.0]], dtype=np.float32)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = resolve_config(
        {
            "model.hidden_size": 8,
            "trainer.max_steps": 2,
            "trainer.time_budget": None,
            "trainer.tensorboard": False,
            "baselines.enabled": False,
        }  # fmt: skip
    )
    out = tmp_path_factory.mktemp("classify") / "run"
    train(config, out, data=fixtures.vectors())
    return out


def test_a_csv_with_a_byte_order_mark_reads_as_one_without(tmp_path):
    text = "\n".join(",".join(f"{v:g}" for v in row) for row in FRAMES) + "\n"
    (tmp_path / "plain.csv").write_text(text, encoding="utf-8")
    (tmp_path / "marked.csv").write_text(text, encoding="utf-8-sig")
    np.testing.assert_array_equal(read_frames(tmp_path / "marked.csv"), FRAMES)
    np.testing.assert_array_equal(read_frames(tmp_path / "plain.csv"), FRAMES)


@pytest.mark.parametrize("text", ["", "\n", "# no numbers\n"])
def test_an_empty_csv_is_refused_in_words_without_a_warning(tmp_path, text):
    (tmp_path / "empty.csv").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="empty.csv holds no numbers; give T >= 1 rows"):
            read_frames(tmp_path / "empty.csv")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_frames_that_are_not_finite_are_refused_naming_the_file(tmp_path, bad, suffix):
    frames = FRAMES.copy()
    frames[1, 2] = bad
    path = tmp_path / f"frames{suffix}"
    if suffix == ".npy":
        np.save(path, frames)
    else:
        np.savetxt(path, frames, delimiter=",")
    with pytest.raises(ValueError) as error:
        read_frames(path)
    assert str(error.value).startswith(f"{path}: 1 of its 6 values are not finite")


def test_a_value_too_large_for_float32_is_not_finite(tmp_path):
    np.save(tmp_path / "huge.npy", np.full((2, 3), 1e300))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered in cast" either
        with pytest.raises(ValueError, match="6 of its 6 values are not finite"):
            read_frames(tmp_path / "huge.npy")
        with pytest.raises(ValueError, match="an input array: 2 of its 3 values are not finite"):
            read_frames([[np.nan, 1e300, 1.0]])


def test_predict_refuses_nan_frames_in_one_line(rnnkit, run, tmp_path):
    frames = FRAMES.copy()
    frames[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", frames)
    result = rnnkit("predict", run, tmp_path / "nan.npy")
    assert_one_line_error(result, f"{tmp_path / 'nan.npy'}: 1 of its 6 values are not finite")
    np.save(tmp_path / "ok.npy", FRAMES)
    assert len(predict_run(run, [tmp_path / "ok.npy"], top=2)[0]) == 2


def test_train_help_names_the_selection_it_uses(capsys):
    from rnnkit.cli.main import main

    with pytest.raises(SystemExit):
        main(["train", "classify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert ClassifyConfig().selection.metric == "loss"  # the default the help describes
    assert "by validation error" not in out
    assert "the best checkpoint (by the validation figure --select names: loss unless" in out
