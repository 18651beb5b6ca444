"""``rnnkit train seq2seq``, ``translate``, ``evaluate`` and ``train --resume`` on a toy TSV."""

import json

import pytest

from rnnkit.cli.main import main
from tests.tasks.seq2seq_fixtures import write_pairs

TINY = [
    "--max-words", "12", "--min-count", "1", "--batch-size", "8", "--embedding-size", "8",
    "--hidden-size", "12", "--beam", "2", "--eval-every", "3", "--schedule", "constant",
    "--heatmaps", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seq2seq_cli")
    data = write_pairs(folder / "toy.tsv")
    run = folder / "run"
    args = ["train", "seq2seq", "--dataset", str(data), "--attention", "additive", *TINY]
    assert main([*args, "--max-steps", "3", "--out", str(run), "--json"]) == 0
    return run


def test_train_prints_the_summary(trained_run, capsys):
    summary = json.loads((trained_run / "config.json").read_text())
    assert summary["config"]["model"]["attention"] == "additive"
    assert (trained_run / "plots" / "attention-test-1.png").is_file()


def test_train_json_summary_keys(tmp_path, capsys):
    data = write_pairs(tmp_path / "toy.tsv")
    args = ["train", "seq2seq", "--dataset", str(data), "--attention", "none", "--reverse"]
    code = main([*args, *TINY, "--max-steps", "2", "--out", str(tmp_path / "r"), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    for key in (
        "test_bleu",
        "test_chrf",
        "test_bleu_greedy",
        "test_chrf_greedy",
        "val_loss",
        "steps",
        "tokens_per_s",
    ):
        assert key in summary, key
    record = json.loads((tmp_path / "r" / "config.json").read_text())
    assert record["data"]["direction"] == "tgt-src"
    assert not (tmp_path / "r" / "plots" / "attention-test-1.png").exists()  # no attention


def test_translate_beam_sampling_and_heatmap(trained_run, tmp_path, capsys):
    png = tmp_path / "attention.png"
    sentence = "The red dog sees the zebra."
    code = main(["translate", str(trained_run), sentence, "--attention-png", str(png), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)["translations"][0]
    assert result["source"] == sentence and result["unknown_words"] == ["zebra"]
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sample = ["--temperature", "0.8", "--seed", "1"]
    assert main(["translate", str(trained_run), sentence, *sample]) == 0
    captured = capsys.readouterr()
    assert "read as <unk>: zebra" in captured.err and captured.out.strip()


def test_evaluate_with_beam(trained_run, capsys):
    assert main(["evaluate", str(trained_run), "--beam", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "seq2seq" and result["beam_size"] == 2 and result["pairs"] == 4
    assert main(["evaluate", str(trained_run), "--split", "val", "--beam", "1"]) == 0
    assert "greedy BLEU" in capsys.readouterr().out


def test_resume(trained_run, capsys):
    assert main(["train", "--resume", str(trained_run), "--max-steps", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 4


def test_errors(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("one\tuno\ntwo dos\n", encoding="utf-8")
    assert main(["train", "seq2seq", "--dataset", str(bad), "--max-steps", "1"]) == 2
    assert "line 2: expected source<TAB>target" in capsys.readouterr().err
    data = write_pairs(tmp_path / "toy.tsv")
    args = ["train", "seq2seq", "--dataset", str(data), "--reverse", "--direction", "src-tgt"]
    assert main(args) == 2
    assert "--direction or --reverse" in capsys.readouterr().err
    assert main(["train", "seq2seq", "--resume", str(tmp_path), "--attention", "none"]) == 2
    assert "only --max-steps" in capsys.readouterr().err


def test_a_beam_and_a_temperature_together_are_refused(trained_run, capsys):
    """translate searches (--beam) or samples (--temperature), never both at once; and an
    evaluation's beam is at least 1 (0 used to mean the default 5, unsaid)."""
    args = ["translate", str(trained_run), "the cat", "--beam", "3", "--temperature", "0.5"]
    assert main(args) == 2
    assert "give one of them" in capsys.readouterr().err
    assert main(["translate", str(trained_run), "the cat", "--temperature", "0.5"]) == 0
    assert main(["translate", str(trained_run), "the cat", "--beam", "3"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main(["evaluate", str(trained_run), "--beam", "0"])
    assert exit.value.code == 2 and "expected a positive integer" in capsys.readouterr().err


def test_attention_png_never_replaces_a_file_that_is_not_a_figure(trained_run, tmp_path, capsys):
    corpus = tmp_path / "small.txt"
    corpus.write_bytes(b"hello world\n")
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"keep me\n")
    sentence = "The red dog sees the cat."
    for png, words in [
        (tmp_path, f"--attention-png {tmp_path} is a folder; give a file name in it"),
        (corpus, "allowed: .png, .svg, .pdf (got '.txt')"),
        (notes, f"--attention-png {notes} exists and is not a PNG figure"),
    ]:
        assert main(["translate", str(trained_run), sentence, "--attention-png", str(png)]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
    # with two sentences, both names are checked before anything is written
    (tmp_path / "map-2.png").write_bytes(b"keep me too\n")
    argv = ["translate", str(trained_run), sentence, sentence, "--attention-png"]
    assert main([*argv, str(tmp_path / "map.png")]) == 2
    assert "map-2.png exists and is not a PNG figure" in capsys.readouterr().err
    assert not (tmp_path / "map-1.png").exists()
    assert (tmp_path / "map-2.png").read_bytes() == b"keep me too\n"
    assert corpus.read_bytes() == b"hello world\n" and notes.read_bytes() == b"keep me\n"
    for name, magic in [("a.pdf", b"%PDF-"), ("a.pdf", b"%PDF-"), ("a.svg", b"<?xml")]:
        assert main([*argv[:3], "--attention-png", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes().startswith(magic)
    capsys.readouterr()
