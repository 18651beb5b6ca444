"""Files written atomically: a reader sees the old file or the new one, never half of one.

``atomic_write_bytes`` (``atomic_write_chunks``: from pieces) writes a temp file in the same
folder, fsyncs it, ``os.replace``s it over the target and fsyncs the folder, so a crash at any
moment leaves the old file whole or the new one. Checkpoints, ``config.json``, metrics and
every figure are written this way. A write that fails is an OSError of the same kind saying
which file could not be written and why (``rnnkit.data.output_paths.why_unwritable``), not
naming the temp file.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from rnnkit.data.output_paths import why_unwritable


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` so that readers see the old file or the new, never half."""
    try:
        atomic_write_chunks(path, [data])
    except OSError as error:
        raised = type(error)(f"cannot write {path}: {why_unwritable(path, error)}")
        raised.errno = error.errno
        raise raised from error


def atomic_write_chunks(path: str | Path, chunks: Iterable[bytes]) -> None:
    """``atomic_write_bytes`` for data made piece by piece (never held whole): if ``chunks``
    raises, the temp file is removed and ``path`` is left as it was."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "wb") as handle:
            for data in chunks:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def fsync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
