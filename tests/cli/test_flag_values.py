"""Flag values that are out of range end the command with exit code 2 and a message that
says what is allowed, before anything runs; an allocation too large for the machine ends
with one line too, not a traceback."""

from __future__ import annotations

import pytest

from rnnkit.cli import main as cli_main
from tests.cli.checks import assert_one_line_error


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "charlm", "--preset", "smoke", "--clip", "-1"],
        ["train", "charlm", "--engine", "numpy", "--clip", "nan"],
        ["experiment", "adding", "--cells", "rnn", "--clip", "-0.5"],
        ["experiment", "exploding", "--clip", "-2"],
    ],
)
def test_a_negative_clip_is_refused_not_read_as_off(rnnkit, argv):
    """Before, any value <= 0 turned clipping off, so a typo trained without it."""
    with pytest.raises(SystemExit) as exit:
        rnnkit(*argv)
    assert exit.value.code == 2


def test_clip_messages_say_what_is_allowed(rnnkit, capsys):
    with pytest.raises(SystemExit):
        rnnkit("train", "charlm", "--clip", "-1")
    assert "expected a gradient norm > 0, or 0 for no clipping, got '-1'" in capsys.readouterr().err


def test_bench_threads_must_be_positive(rnnkit, capsys):
    with pytest.raises(SystemExit) as exit:
        rnnkit("bench", "layers", "--cells", "rnn", "--shape", "5,2,4,4,1", "--threads", "0")
    assert exit.value.code == 2 and "expected a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize(
    "error, size",
    [
        (RuntimeError("[enforce fail at alloc_cpu.cpp:119] data. DefaultCPUAllocator: can't "
                      "allocate memory: you tried to allocate 16000000000000 bytes. Error code "
                      "12 (Cannot allocate memory)"), "(14,901.2 GiB asked for)"),
        (RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.2 GiB total)"),
         "(20.00 GiB asked for)"),
        (MemoryError(), "out of memory:"),
    ],
)  # fmt: skip
def test_an_allocation_too_large_is_one_line(rnnkit, monkeypatch, error, size):
    """torch's CPU allocator, CUDA's and Python's own: each message is torch's real wording."""

    def fail(args):
        raise error

    monkeypatch.setattr(cli_main, "build_parser", _parser_running(fail))
    assert_one_line_error(rnnkit("demo"), size, "make --hidden-size")


def test_any_other_runtime_error_is_not_hidden(rnnkit, monkeypatch):
    def fail(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_main, "build_parser", _parser_running(fail))
    with pytest.raises(RuntimeError, match="a bug"):
        rnnkit("demo")


def _parser_running(func):
    """``build_parser`` whose ``demo`` command runs ``func``."""
    build = cli_main.build_parser

    def parser():
        built = build()
        built._subparsers._group_actions[0].choices["demo"].set_defaults(func=func)
        return built

    return parser
