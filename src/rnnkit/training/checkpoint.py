"""Checkpoints as data: tensors in safetensors, everything else in JSON. Nothing is pickled.

A checkpoint named ``last`` in ``checkpoints/`` is two files::

    last.safetensors   the tensors (model, optimizer moments, carried recurrent state, torch RNG)
                       and, in the safetensors header, the metadata as one JSON string
    last.json          the same metadata, indented for people and tools, plus the tensor
                       file's size and sha256

Writing (``save_checkpoint``): serialise once, then for each name write the tensor file, then
the JSON, each atomically (``rnnkit.data.atomic``: a temp file in the same folder, fsync,
``os.replace``, fsync of the folder). A crash at any moment leaves every file either whole and
old or whole and new; nothing already saved is lost.

Reading (``load_checkpoint``): the tensor file is the source of truth. Its metadata carries a
``save_id``; when ``last.json`` has the same ``save_id``, its sha256 must match the tensor file
byte for byte (otherwise the file was damaged after it was written: an error). When the JSON
is older, missing or unreadable (a crash between the two writes), the header's metadata is
used and the JSON is rewritten, except inside ``read_only()``: a reader of a run that another
process may be training (the studio) writes nothing, and uses the header's metadata as it
is. A truncated or corrupt tensor file is a ``ValueError`` that
says so; loading only ever parses safetensors and JSON.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import re
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from rnnkit.data.atomic import atomic_write_bytes, atomic_write_text

logger = logging.getLogger(__name__)

FORMAT = "rnnkit.checkpoint"
VERSION = 1
HEADER_KEY = "rnnkit"  # the safetensors header's __metadata__ entry that holds the JSON
_READ_ONLY = contextvars.ContextVar("rnnkit_checkpoint_read_only", default=False)


@dataclass
class Checkpoint:
    """A loaded checkpoint: its metadata (JSON) and tensors, and where it came from."""

    meta: dict
    tensors: dict[str, torch.Tensor]
    path: Path

    def section(self, prefix: str) -> dict[str, torch.Tensor]:
        """The tensors whose names start with ``prefix + "."``, with the prefix removed."""
        start = len(prefix) + 1
        return {k[start:]: v for k, v in self.tensors.items() if k.startswith(prefix + ".")}


def save_checkpoint(
    directory: str | Path, names: list[str], tensors: dict[str, torch.Tensor], meta: dict
) -> dict:
    """Write one checkpoint under each of ``names`` (e.g. ``["last", "best"]``); returns the
    metadata as written (with ``format``, ``version`` and ``save_id`` added)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, "save_id": uuid.uuid4().hex, **meta}
    header_json = json.dumps(meta, ensure_ascii=False)
    prepared = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    data = safetensors.torch.save(prepared, metadata={HEADER_KEY: header_json})
    for name in names:
        tensor_path = directory / f"{name}.safetensors"
        atomic_write_bytes(tensor_path, data)
        atomic_write_text(directory / f"{name}.json", _sidecar_json(meta, tensor_path, data))
    return meta


def load_checkpoint(directory: str | Path, name: str) -> Checkpoint:
    """Read and verify checkpoint ``name`` from ``directory`` (see the module docstring)."""
    tensor_path = Path(directory) / f"{name}.safetensors"
    if not tensor_path.is_file():
        raise ValueError(f"no checkpoint {tensor_path}")
    data = tensor_path.read_bytes()
    meta = _header_metadata(data, tensor_path)
    try:
        tensors = safetensors.torch.load(data)
    except Exception as error:  # safetensors raises its own error types
        raise ValueError(
            f"checkpoint {tensor_path} is corrupt or truncated ({_one_line(error)})"
        ) from None
    _check_sidecar(tensor_path, data, meta)
    return Checkpoint(meta, tensors, tensor_path)


@contextlib.contextmanager
def read_only():
    """Within it, loading a checkpoint never writes: a JSON beside the tensors that is
    missing, unreadable or older than them is left as it is. For a reader of a run that may
    be training (the trainer writes the tensors, then the JSON: a reader can come between)."""
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


def read_metadata(directory: str | Path, name: str) -> dict:
    """The metadata of checkpoint ``name`` without loading its tensors."""
    return load_checkpoint(directory, name).meta


def _sidecar_json(meta: dict, tensor_path: Path, data: bytes) -> str:
    sidecar = {
        **meta,
        "tensors": {
            "file": tensor_path.name,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    }
    return json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n"


def _header_metadata(data: bytes, path: Path) -> dict:
    """The JSON metadata stored in a safetensors file's header."""
    problem = f"checkpoint {path} is corrupt or truncated"
    if len(data) < 8:
        raise ValueError(f"{problem} ({len(data)} bytes)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise ValueError(f"{problem} (its header needs {size} bytes, {len(data) - 8} remain)")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
        meta = json.loads(header["__metadata__"][HEADER_KEY])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{problem} (unreadable header: {_one_line(error)})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an rnnkit checkpoint")
    if meta.get("version") != VERSION:
        raise ValueError(
            f"checkpoint {path} has version {meta.get('version')!r}; this rnnkit reads "
            f"version {VERSION}"
        )
    return meta


def _check_sidecar(tensor_path: Path, data: bytes, meta: dict) -> None:
    """Verify the JSON beside the tensors; repair it when a crash left it behind (unless
    loading ``read_only``)."""
    json_path = tensor_path.with_suffix(".json")
    try:
        sidecar = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        sidecar = None
    if isinstance(sidecar, dict) and sidecar.get("save_id") == meta["save_id"]:
        expected = (sidecar.get("tensors") or {}).get("sha256")
        if expected != hashlib.sha256(data).hexdigest():
            raise ValueError(
                f"checkpoint {tensor_path} is damaged: its sha256 differs from the one "
                f"{json_path.name} recorded when it was written"
            )
        return
    if _READ_ONLY.get():  # the trainer may be between its two writes: its JSON comes next
        logger.debug("%s is older than %s; left as it is (read only)", json_path, tensor_path)
        return
    logger.warning(
        "%s is missing, unreadable or older than %s (a save was interrupted); rewriting it "
        "from the checkpoint's own metadata",
        json_path,
        tensor_path.name,
    )
    atomic_write_text(json_path, _sidecar_json(meta, tensor_path, data))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def flatten_state(state: Any, prefix: str) -> tuple[dict[str, torch.Tensor], Any]:
    """A recurrent state (None, a tensor, nested tuples/lists of them) as named tensors plus
    a JSON description of its structure: ``None``, ``"tensor"`` or a list of descriptions."""
    if state is None:
        return {}, None
    if isinstance(state, torch.Tensor):
        return {prefix: state}, "tensor"
    if isinstance(state, (tuple, list)):
        tensors, spec = {}, []
        for index, part in enumerate(state):
            part_tensors, part_spec = flatten_state(part, f"{prefix}.{index}")
            tensors.update(part_tensors)
            spec.append(part_spec)
        return tensors, spec
    raise TypeError(f"cannot save a recurrent state of type {type(state).__name__}")


def unflatten_state(tensors: dict[str, torch.Tensor], spec: Any, prefix: str) -> Any:
    """Inverse of ``flatten_state`` (sequences come back as tuples)."""
    if spec is None:
        return None
    if spec == "tensor":
        if prefix not in tensors:
            raise ValueError(f"checkpoint lacks the tensor {prefix!r}")
        return tensors[prefix]
    return tuple(unflatten_state(tensors, s, f"{prefix}.{i}") for i, s in enumerate(spec))


_SIZE_MISMATCH = re.compile(
    r"size mismatch for ([\w.]+): copying a param with shape torch.Size\((\[[^]]*\])\) from "
    r"checkpoint, the shape in current model is torch.Size\((\[[^]]*\])\)"
)


def misfit(error: BaseException) -> str:
    """torch's load_state_dict error, shortened: its first size mismatch, and how many more
    (a model built from an edited config.json does not take its own run's weights)."""
    mismatches = _SIZE_MISMATCH.findall(str(error))
    if not mismatches:
        return _one_line(error)
    name, saved, built = mismatches[0]
    more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
    return (
        f"{name} is {saved} there but {built} in the model config.json describes{more}; "
        "was config.json edited?"
    )
