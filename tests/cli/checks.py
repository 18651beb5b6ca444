"""Checks shared by the command-line tests; ``result`` is what the ``rnnkit`` fixture
(tests/conftest.py) returns: ``(exit code, stdout, stderr)``."""

from __future__ import annotations

import json


def assert_one_line_error(result, *fragments, prefix: str = "rnnkit "):
    """Exit code 2 and exactly one line on stderr, starting with ``prefix`` and naming every
    fragment: no traceback, nothing else."""
    code, _, err = result
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def last_json(out: str) -> dict:
    """The JSON object on the last line of ``out`` (a ``--json`` summary)."""
    return json.loads(out.strip().splitlines()[-1])
