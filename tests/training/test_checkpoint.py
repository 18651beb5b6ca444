"""Checkpoint files: round trip, atomic writes, damage detection, recovery, no pickles."""

from __future__ import annotations

import json
import logging
import os
import pickle

import pytest
import torch

from rnnkit.training import checkpoint as ckpt


def _tensors():
    generator = torch.Generator().manual_seed(0)
    return {
        "model.weight": torch.randn(4, 3, generator=generator),
        "model.bias": torch.randn(4, generator=generator).to(torch.bfloat16),
        "optimizer.0.step": torch.tensor(7.0),
        "rng.torch": torch.get_rng_state(),
    }


def test_round_trip_keeps_tensors_bit_for_bit_and_the_metadata(tmp_path):
    tensors = _tensors()
    written = ckpt.save_checkpoint(tmp_path, ["last", "best"], tensors, {"step": 3, "a": [1, None]})
    for name in ("last", "best"):
        loaded = ckpt.load_checkpoint(tmp_path, name)
        assert loaded.meta == written and loaded.meta["step"] == 3
        assert loaded.tensors.keys() == tensors.keys()
        for key, value in tensors.items():
            assert loaded.tensors[key].dtype == value.dtype
            assert torch.equal(loaded.tensors[key], value)
        assert loaded.section("model").keys() == {"weight", "bias"}
    sidecar = json.loads((tmp_path / "last.json").read_text())
    assert sidecar["step"] == 3 and len(sidecar["tensors"]["sha256"]) == 64


def test_tied_or_non_contiguous_tensors_can_be_saved(tmp_path):
    shared = torch.randn(3, 4)
    tensors = {"model.a": shared, "model.b": shared, "model.t": shared.t()}
    ckpt.save_checkpoint(tmp_path, ["last"], tensors, {})
    loaded = ckpt.load_checkpoint(tmp_path, "last").tensors
    assert torch.equal(loaded["model.b"], shared) and torch.equal(loaded["model.t"], shared.t())


def test_loading_never_unpickles(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path, ["last"], _tensors(), {"step": 1})

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint load must not unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    assert ckpt.load_checkpoint(tmp_path, "last").meta["step"] == 1


def test_a_failed_save_keeps_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path, ["last"], _tensors(), {"step": 1})
    real_replace = os.replace

    def crash_on_tensors(src, dst):
        if str(dst).endswith(".safetensors"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_tensors)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, ["last"], _tensors(), {"step": 2})
    monkeypatch.setattr(os, "replace", real_replace)
    assert ckpt.load_checkpoint(tmp_path, "last").meta["step"] == 1


def test_crash_between_tensors_and_json_recovers_the_new_checkpoint(tmp_path, monkeypatch, caplog):
    ckpt.save_checkpoint(tmp_path, ["last"], _tensors(), {"step": 1})
    real_replace = os.replace

    def crash_on_json(src, dst):
        if str(dst).endswith(".json"):
            raise OSError("killed")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_json)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, ["last"], _tensors(), {"step": 2})
    monkeypatch.setattr(os, "replace", real_replace)
    assert json.loads((tmp_path / "last.json").read_text())["step"] == 1  # stale
    with caplog.at_level(logging.WARNING):
        loaded = ckpt.load_checkpoint(tmp_path, "last")
    assert loaded.meta["step"] == 2 and "interrupted" in caplog.text
    assert json.loads((tmp_path / "last.json").read_text())["step"] == 2  # repaired


def test_read_only_loading_leaves_an_older_json_as_it_is(tmp_path, monkeypatch):
    """A reader of a run in training (the studio) that came between the trainer's two writes
    rewrote the JSON; ``read_only`` uses the tensor file's own metadata and writes nothing."""
    ckpt.save_checkpoint(tmp_path, ["best"], _tensors(), {"step": 1})
    older = (tmp_path / "best.json").read_bytes()
    ckpt.save_checkpoint(tmp_path, ["best"], _tensors(), {"step": 2})
    (tmp_path / "best.json").write_bytes(older)  # the tensors written, the JSON not yet
    monkeypatch.setattr(ckpt, "atomic_write_text", None)  # any write would fail
    with ckpt.read_only():
        assert ckpt.load_checkpoint(tmp_path, "best").meta["step"] == 2
    assert (tmp_path / "best.json").read_bytes() == older


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage", "flip_data_byte", "header"])
def test_damaged_tensor_files_are_a_one_line_value_error(tmp_path, damage):
    ckpt.save_checkpoint(tmp_path, ["last"], _tensors(), {"step": 1})
    path = tmp_path / "last.safetensors"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 10]
    elif damage == "empty":
        data = bytearray()
    elif damage == "garbage":
        data = bytearray(b"\x00\x01not a checkpoint at all" * 3)
    elif damage == "flip_data_byte":
        data[-3] ^= 0xFF
    else:
        data[12] = ord("!")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt|truncated|damaged|not an rnnkit") as caught:
        ckpt.load_checkpoint(tmp_path, "last")
    assert "\n" not in str(caught.value)


def test_missing_checkpoint_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path, "best")


def test_flatten_state_round_trip():
    h, c = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    for state in (None, h, (h, c), [h, (c, h)]):
        tensors, spec = ckpt.flatten_state(state, "carry")
        json.dumps(spec)
        again = ckpt.unflatten_state(tensors, spec, "carry")
        assert _same(again, state)


def _same(a, b):
    if a is None or b is None:
        return a is b
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
