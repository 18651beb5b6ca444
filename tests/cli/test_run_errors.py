"""A run directory the command line cannot read ends with one line on stderr naming what is
wrong, and exit code 2, through every command that opens a run: an unknown task, an unknown
config key in an old run, a format version from a newer rnnkit. A tiny parity run is the
run; the files it had are left as they were."""

import json
import shutil

import pytest

from rnnkit.cli.main import main
from rnnkit.tasks import lifecycle
from rnnkit.tasks.registry import task_names


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("errors") / "run"
    flags = ["--max-steps", "4", "--eval-every", "2", "--hidden-size", "4", "--out", str(out)]
    assert main(["train", "parity", *flags]) == 0
    return out


@pytest.fixture
def run(made, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(made, copy)
    return copy


def _edit(run, change) -> dict:
    record = json.loads((run / "config.json").read_text())
    change(record)
    (run / "config.json").write_text(json.dumps(record))
    return record


COMMANDS = [
    lambda run: ["evaluate", str(run)],
    lambda run: ["predict", str(run), "1011"],
    lambda run: ["train", "--resume", str(run), "--max-steps", "8"],
    lambda run: ["train", "parity", "--resume", str(run), "--max-steps", "8"],
]


def _fails(argv, capsys, *fragments, usage: bool = False) -> str:
    """The error line (after argparse's usage lines when ``usage``)."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 or (usage and lines[0].startswith("usage:")), err
    for fragment in fragments:
        assert fragment in lines[-1], err
    return lines[-1]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_task(run, command, capsys):
    record = _edit(run, lambda r: r.update(task="poetry"))
    known = "known tasks: " + ", ".join(task_names())
    _fails(command(run), capsys, "unknown task 'poetry'", "config.json", known)
    assert json.loads((run / "config.json").read_text()) == record


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_config_key_in_an_old_run(run, command, capsys):
    _edit(run, lambda r: r["config"]["model"].update(old_knob=3))
    _fails(
        command(run),
        capsys,
        f"{run / 'config.json'}: unknown config key(s) model.old_knob;",
        "known in model: cell, hidden_size",
    )


def _files(run) -> dict:
    return {path: path.read_bytes() for path in sorted(run.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_format_version_from_a_newer_rnnkit(run, command, capsys):
    _edit(run, lambda r: r.update(format_version=lifecycle.FORMAT_VERSION + 1))
    before = _files(run)
    new, now = lifecycle.FORMAT_VERSION + 1, lifecycle.FORMAT_VERSION
    _fails(command(run), capsys, f"format version {new}", f"up to {now}", "upgrade rnnkit")
    assert _files(run) == before  # nothing written, nothing lost


def test_an_unknown_task_name_on_the_command_line(capsys):
    _fails(["train", "poetry"], capsys, "invalid choice: 'poetry'", "parity", usage=True)
