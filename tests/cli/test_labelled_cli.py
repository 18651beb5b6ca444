"""rnnkit train classify|tag, predict, evaluate and resume, end to end on tiny CSV and CoNLL
files (in process, through the real entry point)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.models.classifier import ClassifierConfig
from tests.cli.checks import assert_one_line_error, last_json
from tests.tasks import labelled_fixtures as fixtures

TINY = ["--hidden-size", "12", "--embedding-size", "8", "--batch-size", "8", "--lr", "0.03"]
VECTOR_TINY = ["--hidden-size", "12", "--batch-size", "8", "--lr", "0.03"]  # frames: no embedding


@pytest.mark.parametrize(
    "task, shown",
    [
        ("classify", ["--hidden-size H", "(default: 128)", "--no-baselines", "(default: loss)"]),
        ("tag", ["--char-hidden-size H", "(default: 25)", "--no-crf", "(default: error)"]),
    ],
)
def test_help_shows_the_defaults_of_the_config(rnnkit, capsys, task, shown):
    with pytest.raises(SystemExit) as exit:
        rnnkit("train", task, "--help")
    assert exit.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in shown:
        assert fragment in text, fragment


@pytest.fixture
def names_csv(tmp_path):
    path = tmp_path / "names.csv"
    fixtures.write_csv(path, fixtures.names())
    return path


@pytest.fixture
def classify_run(rnnkit, names_csv, tmp_path):
    out = tmp_path / "names-run"
    code, stdout, err = rnnkit(
        "train", "classify", "--dataset", names_csv, "--level", "char", *TINY,
        "--max-steps", "30", "--eval-every", "15", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    return out, last_json(stdout)


def test_train_classify_json_summary(classify_run):
    out, summary = classify_run
    assert summary["run_dir"] == str(out) and summary["steps"] == 30
    for key in ("test_accuracy", "test_macro_f1", "baseline_majority_accuracy"):
        assert 0 <= summary[key] <= 1, key
    assert summary["baseline_logreg_accuracy"] == 1.0
    assert (out / "plots" / "confusion-test.png").is_file()


def test_predict_classify(rnnkit, classify_run):
    out, _ = classify_run
    code, stdout, err = rnnkit("predict", out, "Yamamoto", "Kowalski", "--top", "2")
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0] == "Yamamoto" and lines[3] == "Kowalski" and len(lines) == 6
    probabilities = [float(line.split()[0]) for line in lines[1:3]]
    assert probabilities[0] >= probabilities[1] > 0
    code, stdout, _ = rnnkit("predict", out, "Nakamura", "--json")
    [prediction] = json.loads(stdout)["predictions"]
    assert len(prediction["labels"]) == 3
    assert sum(label["probability"] for label in prediction["labels"]) == pytest.approx(1, 1e-5)
    assert_one_line_error(rnnkit("predict", out, "Smith", "--top", "0"), "top must be")
    assert_one_line_error(rnnkit("predict", out, "Smith", " "), "nothing to classify")


def test_evaluate_classify(rnnkit, classify_run):
    out, summary = classify_run
    (out / "plots" / "confusion-test.png").unlink()
    code, stdout, err = rnnkit("evaluate", out)
    assert code == 0, err
    assert f"accuracy {summary['test_accuracy']:.4f}" in stdout and "macro-F1" in stdout
    versus = summary["test_vs_logreg"]
    assert (
        f"only the RNN right on {versus['rnn_only_right']}, only the baseline on "
        f"{versus['logreg_only_right']}; McNemar exact p = {versus['mcnemar_p']:.3g}"
    ) in stdout
    assert (out / "plots" / "confusion-test.png").is_file()
    code, stdout, _ = rnnkit("evaluate", out, "--split", "val", "--json")
    result = json.loads(stdout)
    assert result["split"] == "val" and set(result["per_class"]) == set(fixtures.ENDINGS)
    assert_one_line_error(rnnkit("evaluate", out, "--data", "x.txt"), "--data applies to")


def test_resume_classify(rnnkit, names_csv, tmp_path):
    out = tmp_path / "run"
    args = ["train", "classify", "--dataset", names_csv, *TINY, "--no-baselines"]
    args += ["--embedding-dropout", "0.2", "--random-crop", "0.3", "--label-smoothing", "0.1"]
    args += ["--conv-channels", "4", "--conv-width", "5", "--conv-layers", "2"]
    code, _, err = rnnkit(*args, "--max-steps", "6", "--out", out, "--json")
    assert code == 0, err
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))["config"]
    assert config["model"]["embedding_dropout"] == 0.2
    assert config["model"]["random_crop"] == 0.3
    assert config["model"]["label_smoothing"] == 0.1
    assert (config["model"]["conv_channels"], config["model"]["conv_width"]) == (4, 5)
    assert config["model"]["conv_layers"] == 2
    code, stdout, err = rnnkit("train", "--resume", out, "--max-steps", "10", "--json")
    assert code == 0, err
    assert last_json(stdout)["steps"] == 10
    code, stdout, err = rnnkit("train", "classify", "--resume", out, "--max-steps", "12")
    assert code == 0, err
    assert "max_steps: 12 steps" in stdout and "test accuracy" in stdout
    assert_one_line_error(
        rnnkit("train", "classify", "--resume", out, "--cell", "gru"), "only --max-steps"
    )
    assert_one_line_error(rnnkit("train", "tag", "--resume", out), "not a tag run")


def test_train_tag_predict_evaluate(rnnkit, tmp_path):
    conll = tmp_path / "tiny.conll"
    fixtures.write_conll(conll, fixtures.tagged())
    out = tmp_path / "ner"
    code, stdout, err = rnnkit(
        "train", "tag", "--dataset", conll, "--char-features", "--min-count", "1", *TINY,
        "--max-steps", "40", "--eval-every", "20", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = last_json(stdout)
    assert summary["steps"] == 40 and 0 <= summary["test_entity_f1"] <= 1
    assert summary["baseline_most_frequent_tag_accuracy"] == pytest.approx(1.0)
    code, stdout, err = rnnkit("predict", out, "I met Ann in Rome .", "--top", "2")
    assert code == 0, err
    onnx = rnnkit("predict", out, "I met Ann in Rome .", "--top", "2", "--backend", "onnxruntime")
    assert onnx[:2] == (0, stdout), onnx[2]  # the graph's character layer reads every word
    first, *tokens, last = stdout.splitlines()
    assert first.startswith("I/") and first.split()[2].startswith("Ann/")
    assert [line.split()[0] for line in tokens] == ["I", "met", "Ann", "in", "Rome", "."]
    for pair, line in zip(first.split(), tokens, strict=True):
        tag, probability, other, other_probability = line.split()[1:]
        assert pair.endswith("/" + tag) and other != tag
        assert 0 < float(other_probability) <= 1 and 0 < float(probability) <= 1
    assert last.startswith("  entities:")
    code, stdout, err = rnnkit("predict", out, "Ann", "--json")
    assert code == 0, err
    [token] = json.loads(stdout)["predictions"][0]["tokens"]
    assert token["tags"][0] == {"tag": token["tag"], "probability": token["probability"]}
    assert len(token["tags"]) == 3
    code, stdout, err = rnnkit("evaluate", out)
    assert code == 0, err
    assert "token accuracy" in stdout and "entities: precision" in stdout
    assert "PER" in stdout and "LOC" in stdout
    assert_one_line_error(rnnkit("evaluate", out, out), "an ensemble of classifiers", "tag run")


@pytest.mark.parametrize(
    "content, fragments",
    [
        ("words,label\nhello,a\nbye,b\n", ["no 'text'"]),
        ("text,label\nhello,a\nbye,\n", ["line 3"]),
        ("text,label\nhello,a\nbye,a\n", ["two"]),
        ("text,label\n", ["no rows"]),
    ],
)
def test_bad_csv_is_a_one_line_error(rnnkit, tmp_path, content, fragments):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "never"
    result = rnnkit("train", "classify", "--dataset", path, "--max-steps", "2", "--out", out)
    assert_one_line_error(result, str(path), *fragments)
    assert not out.exists()


def test_other_usage_errors(rnnkit, tmp_path):
    assert_one_line_error(rnnkit("train", "classify", "--max-steps", "2"), "--dataset")
    assert_one_line_error(
        rnnkit("train", "classify", "--dataset", "nonsense", "--max-steps", "2"),
        "neither a data set nor a file",
    )
    assert_one_line_error(rnnkit("predict", tmp_path, "x"), "not an rnnkit run directory")
    (tmp_path / "config.json").write_text('{"task": "charlm"}', encoding="utf-8")
    assert_one_line_error(rnnkit("predict", tmp_path, "x"), "rnnkit sample")


def test_even_conv_width_is_a_one_line_error(rnnkit, names_csv, tmp_path, capsys):
    args = ["train", "classify", "--dataset", names_csv, *TINY, "--no-baselines"]
    result = rnnkit(*args, "--conv-channels", "4", "--conv-width", "4", "--out", tmp_path / "r")
    assert_one_line_error(result, "conv_width must be odd")
    with pytest.raises(SystemExit) as refused:  # the flag's own bound, from the config field
        rnnkit(*args, "--conv-channels", "-2", "--out", tmp_path / "r")
    assert refused.value.code == 2
    capsys.readouterr()  # argparse's usage lines
    with pytest.raises(ValueError, match="conv_channels must be an integer >= 0, got -2"):
        ClassifierConfig(conv_channels=-2).validate()
    result = rnnkit(*args, "--pooling", "points", "--pool-points", "1", "--out", tmp_path / "r")
    assert_one_line_error(result, "pool_points must be an integer >= 2")
    result = rnnkit(*args, "--pool-points", "3", "--out", tmp_path / "r")
    assert_one_line_error(result, "pool_points applies to pooling 'points' only")
    assert not (tmp_path / "r").exists()


def test_input_noise_on_text_is_a_one_line_error(rnnkit, names_csv, tmp_path):
    out = tmp_path / "never"
    args = ["train", "classify", "--dataset", names_csv, *TINY, "--max-steps", "2"]
    result = rnnkit(*args, "--input-noise", "0.1", "--out", out)
    assert_one_line_error(result, "input_noise is for real-valued")
    assert not out.exists()
    result = rnnkit(*args, "--input-noise", "-1", "--out", out)
    assert_one_line_error(result, "input_noise must be >= 0")
    result = rnnkit(*args, "--input-shift", "0.1", "--out", out)
    assert_one_line_error(result, "input_shift is for real-valued")
    result = rnnkit(*args, "--time-warp", "0.2", "--out", out)
    assert_one_line_error(result, "time_warp is for real-valued")
    result = rnnkit(*args, "--time-warp", "1.5", "--out", out)
    assert_one_line_error(result, "time_warp must be in")


def test_vector_runs_refuse_text(rnnkit, tmp_path, monkeypatch):
    data = fixtures.vectors()
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    out = tmp_path / "vectors"
    code, _, err = rnnkit(
        "train", "classify", "--dataset", "vowels", *VECTOR_TINY, "--max-steps", "4", "--out", out,
        "--input-noise", "0.3", "--input-shift", "0.2", "--pooling", "concat",
        "--time-warp", "0.25",
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))["config"]
    assert config["model"]["input_noise"] == 0.3
    assert config["model"]["input_shift"] == 0.2 and config["model"]["pooling"] == "concat"
    assert config["model"]["time_warp"] == 0.25
    baselines = json.loads((out / "baselines.json").read_text(encoding="utf-8"))
    assert 0 <= baselines["baseline_logreg_points_accuracy"] <= 1
    assert baselines["logreg_points"]["feature_count"] == 5 * 3  # 5 frames of 3 features
    points = tmp_path / "points"
    code, _, err = rnnkit(
        "train", "classify", "--dataset", "vowels", *VECTOR_TINY, "--max-steps", "2",
        "--out", points,
        "--pooling", "points", "--pool-points", "4", "--no-baselines",
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((points / "config.json").read_text(encoding="utf-8"))["config"]
    assert (config["model"]["pooling"], config["model"]["pool_points"]) == ("points", 4)
    np.save(tmp_path / "frames.npy", np.ones((3, 3), dtype=np.float32))
    code, stdout, err = rnnkit("predict", out, tmp_path / "frames.npy", "--top", "1")
    assert code == 0, err
    assert stdout.splitlines()[1].split()[1] in ("down", "up")
    assert_one_line_error(rnnkit("predict", out, "Nakamura"), "a .npy or .csv file")


def test_evaluate_an_ensemble_of_classify_runs(rnnkit, classify_run, names_csv, tmp_path):
    first, _ = classify_run
    second = tmp_path / "names-run-2"
    code, _, err = rnnkit(
        "train", "classify", "--dataset", names_csv, "--level", "char", *TINY,
        "--max-steps", "10", "--seed", "3", "--no-baselines", "--out", second,
    )  # fmt: skip
    assert code == 0, err
    code, stdout, err = rnnkit("evaluate", first, second, "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["ensemble"] == 2
    assert [m["run_dir"] for m in result["members"]] == [str(first), str(second)]
    code, stdout, err = rnnkit("evaluate", first, second)
    assert code == 0, err
    assert f"accuracy {result['accuracy']:.4f}" in stdout
    assert "ensemble of 2 runs (mean probabilities)" in stdout and "each run alone:" in stdout


def test_train_tag_with_a_crf(rnnkit, tmp_path):
    conll = tmp_path / "tiny.conll"
    fixtures.write_conll(conll, fixtures.tagged())
    out = tmp_path / "crf"
    code, stdout, err = rnnkit(
        "train", "tag", "--dataset", conll, "--crf", "--min-count", "1", *TINY,
        "--max-steps", "4", "--no-baselines", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))["config"]
    assert config["model"]["crf"] is True
    assert 0 <= last_json(stdout)["test_entity_f1"] <= 1
    code, stdout, err = rnnkit("evaluate", out, "--json")
    assert code == 0, err
    assert (
        json.loads(stdout)["entity_f1"]
        == last_json(rnnkit("train", "tag", "--resume", out, "--max-steps", "4", "--json")[1])[
            "test_entity_f1"
        ]
    )
