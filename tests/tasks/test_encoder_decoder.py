"""What seq2seq and caption share (``rnnkit.tasks.encoder_decoder``): one name for the
figure ``--select bleu`` minimises, ``val_bleu_gap``, and old runs that selected by BLEU under
seq2seq's old name (``val_bleu_deficit``) resume, select and evaluate as before."""

from __future__ import annotations

import json

import pytest

from rnnkit.tasks.encoder_decoder import BLEU_GAP, LEGACY_BLEU_GAP, BleuSelection, eval_metric
from rnnkit.training.checkpoint import load_checkpoint, save_checkpoint
from tests.compat import harness


def test_one_name_for_the_bleu_figure():
    assert eval_metric(BleuSelection("bleu")) == BLEU_GAP == "val_bleu_gap"
    assert eval_metric(BleuSelection("loss")) == "val_loss"
    with pytest.raises(ValueError, match="selection metric"):
        BleuSelection("chrf").validate()


def _select_by_bleu(run, old_name: str) -> float:
    """The copy ``run`` as if it had been trained with ``--select bleu``: its config says so
    and its last checkpoint's best figure is the BLEU gap under ``old_name``."""
    config = run / "config.json"
    record = json.loads(config.read_text(encoding="utf-8"))
    record["config"]["selection"]["metric"] = "bleu"
    config.write_text(json.dumps(record), encoding="utf-8")
    folder = run / "checkpoints"
    last = load_checkpoint(folder, "last")
    meta = {k: v for k, v in last.meta.items() if k not in ("format", "version", "save_id")}
    best = meta["trainer"]["last_metrics"][old_name]
    meta["trainer"]["best_metric"] = best
    save_checkpoint(folder, ["last"], last.tensors, meta)
    return best


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "old_name"), [("seq2seq", LEGACY_BLEU_GAP), ("caption", BLEU_GAP)]
)
def test_an_old_run_selecting_by_bleu_resumes_and_evaluates(task, old_name, tmp_path):
    data = harness.copy_data(tmp_path)
    run = harness.copy_run(task, tmp_path, data)
    best = _select_by_bleu(run, old_name)
    code, stdout, stderr = harness.run_cli(
        ["train", "--resume", run, "--max-steps", "64", "--json"]
    )
    assert code == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["selected_by"] == BLEU_GAP
    last = harness.read_metrics(run)[-1]
    assert last["kind"] == "eval" and last["step"] == 64
    assert last["best"] == (last[BLEU_GAP] < best)
    assert summary["best_val"] == (last[BLEU_GAP] if last["best"] else best)
    if task == "seq2seq":  # the old name is still written beside the new one
        assert last[LEGACY_BLEU_GAP] == last[BLEU_GAP]
    code, stdout, stderr = harness.run_cli(["evaluate", run, "--json"])
    assert code == 0, stderr
    assert json.loads(stdout)["split"] == "test"
