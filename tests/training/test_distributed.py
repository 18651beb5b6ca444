"""torchrun with 2 gloo ranks on the CPU against one process: the same per-step losses, the
same evaluation, and resumes across world sizes (tiny models, a few seconds each)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.tasks import charlm, lifecycle
from rnnkit.tasks.charlm_config import resolve_config
from rnnkit.training.distributed import World, check_batch_size, shard

ROOT = Path(__file__).resolve().parents[2]
CHARLM = ["charlm", "--preset", "smoke", "--seq-len", "8", "--threads", "1", "--device", "cpu"]
PARITY = ["parity", "--device", "cpu", "--length", "6", "--examples", "200", "--batch-size", "8",
          "--eval-every", "3", "--log-every", "1", "--threads", "1"]  # fmt: skip


def rnnkit(args: list[str], ranks: int = 1, extra: tuple = ()) -> None:
    """``rnnkit ARGS`` in this process (one rank: the reference, with no process to start), or
    under ``torchrun --nproc-per-node RANKS``."""
    if ranks == 1:
        assert main(args) == 0
        return
    # faulthandler: a rank that aborts (twice in CI runs, SIGABRT "terminate called without
    # an active exception", not reproduced alone) prints every thread's Python stack
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    env["PYTHONFAULTHANDLER"] = "1"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*launcher, f"--nproc-per-node={ranks}", *extra, "-m", "rnnkit", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-12000:]


def records(run_dir: Path, kind: str) -> list[dict]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("kind") == kind]


def train(task: list[str], out: Path, steps: int, ranks: int) -> None:
    rnnkit(["train", *task, "--max-steps", str(steps), "--out", str(out)], ranks)


@pytest.fixture
def straight(tmp_path_factory) -> Path:
    """The char model trained 9 steps by one process (with this test's private cache)."""
    out = tmp_path_factory.mktemp("straight") / "run"
    train(CHARLM, out, 9, 1)
    return out


def same_losses(reference: list[dict], other: list[dict], key: str = "loss") -> None:
    assert [r["step"] for r in other] == [r["step"] for r in reference][: len(other)]
    for a, b in zip(reference, other, strict=False):
        assert b[key] == pytest.approx(a[key], abs=1e-5)


def test_two_ranks_take_the_single_process_steps_of_a_padded_batch_task(tmp_path):
    train(PARITY, tmp_path / "one", 6, 1)
    train(PARITY, tmp_path / "two", 6, 2)
    one, two = (records(tmp_path / name, "train") for name in ("one", "two"))
    assert len(two) == 6
    same_losses(one, two)
    same_losses(records(tmp_path / "one", "eval"), records(tmp_path / "two", "eval"), "val_loss")


def test_two_ranks_and_resumes_across_world_sizes_take_the_single_process_steps(tmp_path, straight):
    """Steps 1-3 on two ranks, 4-6 on one, 7-9 on two again: the steps and the evaluations
    (at 3, 6 and 9) of one process throughout."""
    train(CHARLM, tmp_path / "moved", 3, 2)
    rnnkit(["train", "--resume", str(tmp_path / "moved"), "--max-steps", "6"], 1)
    rnnkit(["train", "--resume", str(tmp_path / "moved"), "--max-steps", "9"], 2)
    moved = records(tmp_path / "moved", "train")
    assert [r["step"] for r in moved] == list(range(1, 10))
    same_losses(records(straight, "train"), moved)
    evaluations = records(tmp_path / "moved", "eval")
    assert [r["step"] for r in evaluations] == [3, 6, 9]
    same_losses(records(straight, "eval"), evaluations, "val_nats")


def test_two_ranks_take_the_single_process_steps_of_a_task_with_unequal_token_shares(tmp_path):
    """Sentences of different lengths: each rank's share of a batch holds another number of
    tokens, and the ranks' losses are weighted by them (the mean over the whole batch). 39
    training sentences in batches of 8: the epoch's last batch of 7 is shared 4 and 3."""
    words = ["I", "met", "Ann", "in", "Oslo", "today", "and", "then", "left", "."]
    sentences = [words[: 3 + (k * 7) % 8] for k in range(49)]
    tag = {"Ann": "B-PER", "Oslo": "B-LOC"}
    blocks = ["\n".join(f"{w} {tag.get(w, 'O')}" for w in s) for s in sentences]
    (tmp_path / "tiny.conll").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    task = ["tag", "--dataset", str(tmp_path / "tiny.conll"), "--no-baselines", "--device",
            "cpu", "--batch-size", "8", "--hidden-size", "8", "--embedding-size", "8",
            "--eval-every", "3", "--log-every", "1", "--threads", "1"]  # fmt: skip
    train(task, tmp_path / "one", 7, 1)
    train(task, tmp_path / "two", 7, 2)
    one, two = (records(tmp_path / name, "train") for name in ("one", "two"))
    assert len(two) == 7
    same_losses(one, two)
    same_losses(records(tmp_path / "one", "eval"), records(tmp_path / "two", "eval"), "val_loss")


def test_a_batch_shares_evenly_where_it_can_and_unevenly_only_where_allowed():
    batch = {"ids": torch.arange(14).view(7, 2), "lengths": torch.arange(7), "n": 7}
    shares = [shard(batch, World(2, rank), 0) for rank in (0, 1)]
    assert [len(s["lengths"]) for s in shares] == [4, 3]
    assert torch.equal(torch.cat([s["ids"] for s in shares]), batch["ids"])
    assert shares[1]["n"] == 7
    with pytest.raises(ValueError, match="a batch of 7 does not divide among 2 ranks"):
        shard(batch, World(2, 0), 0, even=True)  # a carried state needs equal shares
    with pytest.raises(ValueError, match="at least 4 for an epoch's last batch"):
        shard(torch.zeros(3, 5), World(4, 0), 0)  # a rank would get nothing


def test_a_batch_the_ranks_cannot_share_is_refused_before_the_run_directory(tmp_path, monkeypatch):
    """It failed at the first step, leaving a run directory that a new ``--out`` refused and
    ``--resume`` could only fail in again."""
    here = World(2, 0)
    check_batch_size(4, here, even=True)
    check_batch_size(3, here, even=False)  # the first rank takes 2 rows, the second 1
    for rows, even in ((3, True), (1, False)):
        with pytest.raises(ValueError, match=f"a batch of {rows} does not divide among 2 ranks"):
            check_batch_size(rows, here, even)
    monkeypatch.setattr(lifecycle, "joined", lambda config: here)  # rank 0 of 2
    config = resolve_config("smoke", {"data.batch_size": 3, "trainer.device": "cpu"})
    with pytest.raises(ValueError, match="a batch of 3 does not divide among 2 ranks"):
        charlm.train(config, tmp_path / "run")  # the char model's streams: even shares
    assert not (tmp_path / "run").exists()


def test_what_ranks_cannot_share_is_refused_before_the_run_directory(tmp_path, monkeypatch):
    """An epoch's shorter last batch of 1 row failed at that step on 2 ranks (after steps had
    been trained, the run directory made), though the batch size divided; caption trains in
    one process only, and was refused by the Trainer after its run directory was written."""
    from types import SimpleNamespace

    from rnnkit.data.buckets import LengthBuckets
    from rnnkit.tasks.classify import load_data
    from rnnkit.training.distributed import check_task
    from tests.tasks import labelled_fixtures
    from tests.tasks.caption_fixtures import write_shapes_folder

    def bucketed(examples, batch):  # a task as LengthBuckets batches it
        return SimpleNamespace(buckets=LengthBuckets([1] * examples, batch, 0))

    config = SimpleNamespace(data=SimpleNamespace(batch_size=8))
    for examples, ranks in ((16, 2), (18, 2), (20, 4), (8, 4), (14, 4)):
        check_task(bucketed(examples, 8), config, World(ranks, 0), "classify")  # 0 or >= ranks
    for examples, ranks in ((17, 2), (9, 2), (17, 4), (11, 4)):
        with pytest.raises(ValueError, match=f"{examples} training examples end each epoch"):
            check_task(bucketed(examples, 8), config, World(ranks, 0), "classify")
    monkeypatch.setattr(lifecycle, "joined", lambda config: World(2, 0))  # rank 0 of 2
    names = tmp_path / "names.csv"
    labelled_fixtures.write_csv(names, labelled_fixtures.names())
    batch = len(load_data(str(names)).splits["train"]) - 1  # an epoch ends with 1 row
    out = tmp_path / "classify"
    flags = ["--dataset", str(names), "--level", "char", "--max-steps", "2", "--device", "cpu"]
    assert main(["train", "classify", *flags, "--batch-size", str(batch), "--out", str(out)]) == 2
    assert not out.exists()
    shapes = write_shapes_folder(tmp_path / "shapes")
    out = tmp_path / "caption"
    assert (
        main(["train", "caption", "--dataset", str(shapes), "--max-steps", "1", "--out", str(out)])
        == 2
    )
    assert not out.exists()
