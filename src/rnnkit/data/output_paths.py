"""Paths the user names for rnnkit to write, checked before anything is written there.

    path = figure_path(args.plot, "--plot")          # a ValueError saying what is wrong
    make_folder(args.out, "--out", "the run")        # made with its parents, or a ValueError

A figure (``--plot``, ``--attention-png``, ``--attention-map``) is written in the format its
suffix names: .png, .svg or .pdf. It goes where nothing is, over an empty file, or over a
figure of the same format, recognised by its first bytes rather than its name, so that drawing
again to the same name stays one command; any other file there (a corpus, notes, a PNG named
.svg), or a file the command reads (the image being captioned), is refused and left as it
was. Its folder must exist. A folder (``--out``,
``--runs-dir``) is made with its parents; a file in its place is refused. In both, a leading
``~`` is the home folder (the shell leaves it in ``--out=~/x`` and in a quoted path): use the
path returned.

``why_unwritable`` turns the OSError of a failed write into the reason, naming the path the
user gave and the folder at fault, never a temporary file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_A_FIGURE = {"png": "a PNG figure", "svg": "an SVG figure", "pdf": "a PDF figure"}
_SNIFF_BYTES = 4096


def figure_format(path: str | Path, option: str | None = None) -> str:
    """The format ``path``'s suffix names (``png``, ``svg``, ``pdf``), or a ValueError."""
    suffix = Path(path).suffix.lower()
    if suffix not in FIGURE_FORMATS:
        got = repr(suffix) if suffix else "no suffix"
        raise ValueError(
            f"{_named(path, option)}: a figure is written in the format its suffix names; "
            f"allowed: {', '.join(FIGURE_FORMATS)} (got {got})"
        )
    return FIGURE_FORMATS[suffix]


def figure_path(path: str | Path, option: str | None = None) -> Path:
    """``path`` if a figure may be written there (module docstring), else a ValueError naming
    ``option`` and the path; nothing is written."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(
            f"{_named(path, option)} is a folder; give a file name in it, such as "
            f"{path / 'figure.png'}"
        )
    fmt = figure_format(path, option)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise ValueError(f"{_named(path, option)} is not a regular file; give another name")
        if not _holds_figure(path, fmt):
            raise ValueError(
                f"{_named(path, option)} exists and is not {_A_FIGURE[fmt]}; rnnkit replaces "
                f"only {_A_FIGURE[fmt]} (or an empty file): choose another name"
            )
    problem = _folder_problem(path.parent, may_make=False)
    if problem is not None:
        raise ValueError(f"{_named(path, option)} cannot be written: {problem}")
    return path


def figure_paths(
    given: str | Path | None, labels: list[str], option: str, inputs=()
) -> list[Path | None]:
    """Where the figure of each of several inputs goes (None everywhere for no ``given``),
    every one checked by :func:`figure_path` before any is drawn: ``given`` for one input,
    else ``given`` with "-LABEL" before its suffix, one label an input; where labels repeat
    (two images both named x.png), each gets its input's position too ("-1-x", "-2-x"), so
    no figure replaces another. A path that is one of the files ``inputs`` (those the
    command reads) is refused."""
    if given is None:
        return [None] * len(labels)
    path = Path(given).expanduser()
    if len(labels) == 1:
        paths = [path]
    else:
        if len({label.casefold() for label in labels}) < len(labels):
            labels = [f"{k}-{label}" for k, label in enumerate(labels, 1)]
        paths = [path.with_name(f"{path.stem}-{k}{path.suffix}") for k in labels]
    for figure in paths:
        _refuse_an_input(figure, inputs, option)
    return [figure_path(figure, option) for figure in paths]


def _refuse_an_input(path: Path, inputs, option: str) -> None:
    """A ValueError if ``path`` is one of the files ``inputs`` (the same file, however
    named: a link, another spelling of the path)."""
    for given in (Path(each).expanduser() for each in inputs):
        if path.exists() and given.exists() and os.path.samefile(path, given):
            raise ValueError(
                f"{_named(path, option)} is {given}, an input of the command; rnnkit does not "
                "write over what it reads: choose another name"
            )


def make_folder(path: str | Path, option: str, purpose: str) -> Path:
    """Make folder ``path`` and its parents for ``purpose`` ("the run"); a file in its place,
    or a folder that cannot be made, is a ValueError naming ``option`` and the path; the
    folder made (a leading ``~`` expanded) is returned. An empty ``path`` is refused: it
    read as the working folder."""
    if not str(path).strip():
        raise ValueError(f"{option} is empty; give a folder for {purpose}")
    path = Path(path).expanduser()
    if (path.exists() or path.is_symlink()) and not path.is_dir():
        raise ValueError(f"{option} {path} is a file; give a directory for {purpose}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = _folder_problem(path, may_make=True) or _errno_reason(_nearest(path), error)
        raise ValueError(f"{option} {path} cannot be made: {reason}") from None
    return path


def why_unwritable(path: str | Path, error: OSError) -> str:
    """Why file ``path`` could not be written, after ``error`` (a write into its folder)."""
    path = Path(path)
    if error.errno == errno.EISDIR or path.is_dir():
        return "it is a folder"
    problem = _folder_problem(path.parent, may_make=False)
    return problem or _errno_reason(path.parent, error)


def _named(path: str | Path, option: str | None) -> str:
    return f"{option} {path}" if option else str(path)


def _holds_figure(path: Path, fmt: str) -> bool:
    """Whether ``path`` is empty or starts as a ``fmt`` file does (its magic bytes)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False  # unreadable: not known to be a figure, so never replaced
    if not head:
        return True  # an empty file: nothing in it to lose
    if fmt == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if fmt == "pdf":
        return head.startswith(b"%PDF-")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()  # svg: XML with an <svg> root
    return text.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg", b"<!--")) and b"<svg" in head


def _nearest(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    while not (path.exists() or path.is_symlink()) and path != path.parent:
        path = path.parent
    return path


def _folder_problem(folder: Path, *, may_make: bool) -> str | None:
    """What stops a new entry in ``folder`` as far as can be told without writing (None:
    nothing seen); with ``may_make``, missing folders are made, so only their nearest
    existing ancestor counts."""
    nearest = _nearest(folder)
    if not nearest.is_dir():
        return f"{nearest} is not a folder"
    if nearest != folder and not may_make:
        return f"its folder {folder} does not exist"
    if not os.access(nearest, os.W_OK | os.X_OK):
        return f"no permission to write in {nearest}"
    return None


def _errno_reason(folder: Path, error: OSError) -> str:
    """The reason in words of a write into existing folder ``folder`` that failed."""
    reasons = {
        errno.EACCES: f"no permission to write in {folder}",
        errno.EPERM: f"no permission to write in {folder}",
        errno.ENOENT: f"{folder} does not take new files",  # /proc, /sys
        errno.EROFS: f"{folder} is on a read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "the disk quota is used up",
    }
    return reasons.get(error.errno, error.strerror or str(error))
