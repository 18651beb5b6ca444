"""No function in src/rnnkit over 60 lines, no file over 400 (issue #16): one concept a file,
functions short enough to see whole (../shared/STYLE.md).

``ALLOWED`` lists the files still being split, each with why; an entry that no longer needs
to be there fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rnnkit"
MAX_FUNCTION_LINES = 60
MAX_FILE_LINES = 400
# path below src/rnnkit -> why it may still be too long (the whole file is exempt)
ALLOWED: dict[str, str] = {}  # empty since every task moved onto its spec (issue #16)


def too_long(path: Path) -> list[str]:
    """What in ``path`` is over the limits, one line each."""
    text = path.read_text(encoding="utf-8")
    where = path.relative_to(SRC).as_posix()
    found = []
    lines = len(text.splitlines())
    if lines > MAX_FILE_LINES:
        found.append(f"{where}: {lines} lines (at most {MAX_FILE_LINES})")
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(
                    f"{where}:{node.lineno} {node.name}: {length} lines "
                    f"(at most {MAX_FUNCTION_LINES})"
                )
    return found


def test_no_function_or_file_over_the_limits():
    found = [
        line
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).as_posix() not in ALLOWED
        for line in too_long(path)
    ]
    assert found == [], "split these:\n" + "\n".join(found)


def test_every_allowed_file_is_still_too_long():
    stale = [path for path in ALLOWED if not (SRC / path).is_file() or not too_long(SRC / path)]
    assert stale == [], f"within the limits now (or gone): remove from ALLOWED: {stale}"
