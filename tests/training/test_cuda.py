"""On a CUDA device (skipped without one; ``benchmarks/gpu_check.sh`` runs it): rnnkit's layers
on the GPU against torch.nn on the CPU, a run trained on the GPU against the same run on the
CPU, its checkpoint sampled and scored with ``--device cuda`` and resumed on the CPU, and
fp16 / bf16 autocast with the gradient scaler's state in the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.training.checkpoint import load_checkpoint
from tests.nn.helpers import MODES, flat, rel_error, rnnkit_layer, torch_layer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
SMOKE = ["train", "charlm", "--preset", "smoke", "--max-steps", "6"]


@pytest.fixture(autouse=True)
def exact_fp32():
    """fp32 matrix products on the GPU (no TF32), so that a 1e-4 comparison means something."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def losses(run_dir: Path, kind: str = "train", key: str = "loss") -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r[key] for r in map(json.loads, lines) if r.get("kind") == kind]


@pytest.mark.parametrize("impl", ["auto", "loop"])
@pytest.mark.parametrize("mode", MODES)
def test_layers_on_the_gpu_match_torch_on_the_cpu(mode, impl):
    torch.manual_seed(0)
    reference = torch_layer(mode, 3, 5, num_layers=2, bidirectional=True)
    candidate = rnnkit_layer(mode, 3, 5, num_layers=2, bidirectional=True, impl=impl)
    candidate.load_state_dict(reference.state_dict())
    candidate.cuda()
    x = torch.randn(7, 4, 3)
    want, want_final = reference(x)
    got, got_final = candidate(x.cuda())
    assert rel_error(got.cpu(), want) <= 1e-4
    for a, b in zip(flat(got_final), flat(want_final), strict=True):
        assert rel_error(a.cpu(), b) <= 1e-4
    want.square().sum().backward()
    got.square().sum().backward()
    for (name, p), q in zip(reference.named_parameters(), candidate.parameters(), strict=True):
        assert rel_error(q.grad.cpu(), p.grad) <= 1e-4, name


def test_a_run_on_the_gpu_follows_the_cpu_run_and_opens_anywhere(tmp_path, capsys):
    gpu, cpu = tmp_path / "gpu", tmp_path / "cpu"
    assert main([*SMOKE, "--device", "cuda", "--out", str(gpu)]) == 0
    assert main([*SMOKE, "--device", "cpu", "--out", str(cpu)]) == 0
    assert losses(gpu) == pytest.approx(losses(cpu), abs=1e-4)
    assert load_checkpoint(gpu / "checkpoints", "last").meta["device"] == "cuda:0"
    capsys.readouterr()
    scores, samples = {}, {}
    for device in ("cuda", "cpu"):
        assert main(["evaluate", str(gpu), "--split", "val", "--json", "--device", device]) == 0
        scores[device] = json.loads(capsys.readouterr().out)["val_nats"]
        assert main(["sample", str(gpu), "--length", "20", "--seed", "1", "--device", device]) == 0
        samples[device] = capsys.readouterr().out
    assert scores["cuda"] == pytest.approx(scores["cpu"], abs=1e-4)
    assert samples["cuda"] == samples["cpu"]
    assert main(["train", "--resume", str(gpu), "--max-steps", "9"]) == 0  # recorded: cuda
    assert len(losses(gpu)) == 9


def test_a_padded_batch_task_trains_on_the_gpu(tmp_path):
    args = ["train", "parity", "--examples", "200", "--max-steps", "6", "--eval-every", "3"]
    assert main([*args, "--device", "cuda", "--out", str(tmp_path / "gpu")]) == 0
    assert main([*args, "--device", "cpu", "--out", str(tmp_path / "cpu")]) == 0
    assert losses(tmp_path / "gpu") == pytest.approx(losses(tmp_path / "cpu"), abs=1e-4)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_autocast_on_the_gpu_trains_and_resumes(tmp_path, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    run = tmp_path / precision
    args = [*SMOKE, "--device", "cuda", "--precision", precision, "--out", str(run)]
    assert main(args) == 0
    meta = load_checkpoint(run / "checkpoints", "last").meta
    assert bool(meta["scaler"]) == (precision == "fp16")  # the scaler's scale, growth tracker
    assert main(["train", "--resume", str(run), "--max-steps", "9"]) == 0
    assert all(v == v and v < 10 for v in losses(run))
