"""Every ``rnnkit`` command that README.md and docs/*.md show still parses, and runs.

1. Every documented command (tests/cli/documented_commands.py reads them out of the Markdown)
   parses with the real parser: each subcommand and flag still exists and takes the value
   shown. Inline mentions that are not whole commands (``INCOMPLETE_INLINE``) parse with
   ``--help`` appended.
2. Each runs end to end, in this process, through the ``rnnkit`` entry point, with tiny
   budgets appended (``TINY``; argparse keeps the last value of a flag), in a fresh working
   directory holding the user files the docs name (``my.txt``, ``cat.png``, ``pairs.tsv``,
   ...) and a copy of a tiny run at every run directory the command reads (``runs/quick``,
   ``runs/classify-names-<time>``, ``RUN_DIR``, ...; the tiny runs are made once per module
   with the CLI), and with ``$RNNKIT_CACHE`` holding tiny stand-ins of every fetchable data
   set, so that nothing is downloaded (``rnnkit data fetch`` finds the set already there).
   It must exit 0 and print what the docs show (JSON that parses, with the keys they name;
   the lines they describe; the files they promise). Commands that differ only in budgets,
   numbers or an experiment's cell list run once (``same_run``).

Only the command line, files and ``$RNNKIT_CACHE`` are used: no rnnkit module is patched,
so the test holds across a reorganisation of the package. The one name of a module is the
entry point, read from pyproject.toml's ``rnnkit`` script.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli import documented_commands as docs

# -- the one place a refactor may need to touch -----------------------------------------------
# Patch targets: none. The data sets come from a fake $RNNKIT_CACHE in the on-disk format of a
# fetched set (docs/data.md), written by documented_commands.write_fake_cache; should a data
# loader ever have to be monkeypatched instead, name its target here and only here.
# The rnnkit command: pyproject.toml's console script (module, function); build_parser() is
# looked up in the same module.
ENTRY_POINT = re.search(
    r'^rnnkit\s*=\s*"([\w.]+):(\w+)"',
    (docs.ROOT / "pyproject.toml").read_text(encoding="utf-8"),
    re.MULTILINE,
).groups()

# -- what is not a complete command, and what cannot run here ---------------------------------
# Inline code that names a subcommand in prose without what it needs to run (a required
# positional, --dataset, or --cells / RUN_DIR). Checked with --help appended: the subcommand
# and any flag shown must still exist. Keyed by the command as extracted (rnnkit left out).
INCOMPLETE_INLINE = {
    "data fetch": "names the action; the data set's name follows in the text",
    "sample": "names the subcommand; RUN_DIR follows in the text",
    "evaluate": "names the subcommand; RUN_DIR follows in the text",
    "predict": "names the subcommand; RUN_DIR and inputs follow in the text",
    "caption --beam K": "names a flag of rnnkit caption; no RUN_DIR or image",
    "forecast --horizon 36": "names a flag of rnnkit forecast; no RUN_DIR",
    "diagnose gradients": "names the diagnostic; --cells or RUN_DIR follows in the text",
    "train classify": "names the task (README's table); --dataset is required",
    "train tag": "names the task (README's table); --dataset is required",
    "train caption": "names the task; --dataset is required",
    "train forecast": "names the task; --dataset is required",
    "serve": "names the subcommand; run directories or --runs-dir follow in the text",
    "export": "names the subcommand; RUN_DIR follows in the text",
}
# Complete commands that are parse-checked but not run, keyed the same way, with the reason.
# `rnnkit data fetch NAME` finds the fake cache's copy and downloads nothing, and `rnnkit bench
# layers` times one tiny --shape once, so both run. A server runs until stopped: the studio
# runs in tests/serve (API through the test client, a real server in a browser).
SERVER = "a server runs until it is stopped; tests/serve runs it (test client and browser)"
REPRODUCE = "runs published results at full size, minutes to 80; tests/reproduce runs each tiny"
EXCLUDED: dict[str, str] = {
    "bench layers --device cuda": "needs a CUDA device; benchmarks/gpu_check.sh runs it there",
    "bench layers --cells peephole,lnlstm,lngru,mut1 --shape 100,32,64,256,1 --shape "
    "512,32,64,256,1 --shape 2048,8,64,256,1 --repeats 7": "docs/cells.md: four cores at T up "
    "to 2048 (--shape adds to them), a minute and a half of CPU; a timing run, alone",
    "bench layers --cells lnlstm,peephole,mingru --shape 100,32,64,256,1 --shape "
    "512,32,64,256,1 --shape 2048,8,64,256,1": "README.md: the custom cores' timing run, T up "
    "to 2048, half a minute of CPU; `bench layers` itself runs above with small shapes",
    "bench layers --cells peephole,lnlstm,lngru,mut1,mingru --shape 100,32,64,256,1 --shape "
    "512,32,64,256,1 --shape 2048,8,64,256,1 --repeats 5": "docs/cells.md: the AVX2 EPYC's "
    "timing run, five cores at T up to 2048, a minute of CPU; a timing run, alone",
    "bench layers --cells peephole,lnlstm,lngru --shape 100,32,64,256,1 --shape "
    "512,32,64,256,1 --shape 2048,8,64,256,1": "docs/experiments.md: the freed-memory timing "
    "run, three cores at T up to 2048, 45 s of CPU; a timing run, alone",
    "serve --runs-dir runs": SERVER,
    "serve runs/quick --port 8123": SERVER,
    "reproduce": REPRODUCE,
    "reproduce charlm-quick --json": REPRODUCE,
    "reproduce names pos --runs-dir runs/repro-names": REPRODUCE,
    "reproduce --scale 0.02 --json": REPRODUCE,
}
# Documented commands that are broken today: {"FILE:LINE": reason}; xfail (strict) until fixed.
KNOWN_BROKEN: dict[str, str] = {}

# -- tiny budgets (flags: a renamed flag here fails every run that appends it) ----------------
BASE_STEPS = 2  # steps of every tiny run; --resume continues it to BASE_STEPS + 1
CHARLM = ["--max-steps", "2", "--eval-every", "2", "--log-every", "1", "--hidden-size", "16",
          "--layers", "1", "--seq-len", "16", "--batch-size", "4", "--max-chars", "20000",
          "--sample-length", "20", "--threads", "1"]  # fmt: skip
CHARLM_NUMPY = ["--max-steps", "2", "--hidden-size", "8", "--seq-len", "8", "--batch-size", "2",
                "--max-chars", "5000", "--sample-length", "20"]  # fmt: skip
LABELLED = ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8", "--embedding-size",
            "8", "--batch-size", "8", "--threads", "1"]  # fmt: skip
# vectors (vowels) have no embedding: --embedding-size is refused there
LABELLED_VECTORS = ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8", "--batch-size",
                    "8", "--threads", "1"]  # fmt: skip
# Work that no budget bounds is skipped where a flag allows it: the baselines (logistic
# regression, ARIMA: tests/baselines) and attention heatmaps of seq2seq's test pairs.
NO_BASELINES = ["--no-baselines"]
TINY = {
    ("train", "charlm"): CHARLM,
    ("train", "classify"): [*LABELLED, *NO_BASELINES],
    ("train", "tag"): [*LABELLED, *NO_BASELINES],
    ("train", "seq2seq"): ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8",
                           "--embedding-size", "8", "--batch-size", "8", "--beam", "2",
                           "--heatmaps", "0", "--min-count", "1", "--threads", "1"],
    ("train", "caption"): ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8",
                           "--embedding-size", "4", "--base-channels", "2", "--conv-blocks",
                           "2", "--attention-size", "4", "--batch-size", "4", "--beam", "2",
                           "--threads", "1"],
    ("train", "forecast"): ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8",
                            "--batch-size", "8", "--threads", "1", "--no-arima"],
    ("train", "parity"): ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "4"],
    ("train", "vqa"): ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8",
                       "--embedding-size", "4", "--base-channels", "2", "--attention-size", "4",
                       "--batch-size", "4", "--train-scenes", "20", "--eval-scenes", "4",
                       "--beam", "2", "--threads", "1"],
    ("experiment", "exploding"): ["--steps", "4", "--hidden-size", "8"],
    ("bench", "layers"): ["--repeats", "1", "--shape", "4,2,3,4,1"],
    ("demo",): ["--steps", "3"],
}  # fmt: skip
for _task in ("adding", "copy", "digits", "seqmnist"):
    TINY[("experiment", _task)] = ["--max-steps", "2", "--eval-every", "2", "--hidden-size", "8",
                                   "--batch-size", "4", "--threads", "1"]  # fmt: skip

# Which documented commands run once for all: two commands that differ only in these take the
# same path through rnnkit (every value is still parse-checked, and every cell still runs).
# BUDGET_FLAGS: left out (the tiny budget replaces them); SIZE_FLAGS: the value is a number (a
# size, a count, a rate, a seed); CELL_LISTS: in an experiment, which cells train, each alone.
BUDGET_FLAGS = {"--time-budget", "--max-steps", "--eval-every", "--log-every", "--out"}
SIZE_FLAGS = {"--seq-len", "--lr", "--seed", "--split-seed", "--batch-size", "--hidden-size",
              "--length", "--top", "--horizon", "--max-words", "--max-length", "--diagnose-every",
              "--repeats"}  # fmt: skip
CELL_LISTS = {"--cells"}

# -- placeholders and run directories ---------------------------------------------------------
TIME = "20260101-120000"
PLACEHOLDERS = {"$s": "0", "S": "0", "N": "2", "K": "3"}
NAME_AFTER = {"experiment": "adding", "fetch": "names", "--dataset": "airline"}  # NAME
RUN_PLACEHOLDER = re.compile(r"^RUN(_DIR|\d+|_[A-Z])$")
RUN_BY_FILE = {  # which task's run RUN_DIR (RUN1, RUN_A, ...) stands for in each file
    "README.md": "classify",
    "docs/charlm.md": "charlm",
    "docs/caption.md": "caption",
    "docs/classify.md": "classify",
    "docs/forecast.md": "forecast",
    "docs/adding-a-task.md": "parity",
    "docs/deploy.md": "charlm",
    "docs/results.md": "classify",
    "docs/vqa.md": "vqa",
}
RUN_BY_NAME = [  # documented run directories -> the tiny run copied there
    (r"runs/(quick|charlm-|lstm-diag)", "charlm"),
    (r"runs/(classify-names-|names/)", "classify"),
    (r"runs/vowels/", "vowels"),
    (r"runs/tag-pos-", "tag-pos"),
    (r"runs/tag-ner-", "tag-ner"),
    (r"runs/(seq2seq|s2s)-", "seq2seq"),
    (r"runs/caption-", "caption"),
    (r"runs/forecast-", "forecast"),
    (r"runs/parity-", "parity"),
    (r"runs/vqa-", "vqa"),
]
BASE_RUNS = {  # the tiny runs, made with the CLI on the fake cache (or on the tiny text)
    "charlm": ["train", "charlm", "--preset", "smoke", "--data", "my.txt", "--max-chars", "40000"],
    "classify": ["train", "classify", "--dataset", "names", *LABELLED],
    "vowels": ["train", "classify", "--dataset", "vowels", *LABELLED_VECTORS],
    "tag-pos": ["train", "tag", "--dataset", "pos", *LABELLED],
    "tag-ner": ["train", "tag", "--dataset", "ner", "--char-features", *LABELLED],
    "seq2seq": ["train", "seq2seq", "--dataset", "bible", *TINY[("train", "seq2seq")]],
    "caption": ["train", "caption", "--dataset", "emoji", *TINY[("train", "caption")]],
    "forecast": ["train", "forecast", "--dataset", "airline", *TINY[("train", "forecast")]],
    "parity": ["train", "parity", *TINY[("train", "parity")]],
    "vqa": ["train", "vqa", *TINY[("train", "vqa")]],
}  # fmt: skip


def substitute(argv: tuple[str, ...]) -> list[str]:
    """Placeholders -> plausible values: ``<time>``, ``$s``, ``N``, ``K``, ``S``, ``NAME``."""
    out = []
    for k, word in enumerate(argv):
        word = word.replace("<time>", TIME).replace("$s", "0")
        if word == "NAME":
            word = NAME_AFTER[argv[k - 1]]
        out.append(PLACEHOLDERS.get(word, word))
    return out


def command_path(argv: list[str]) -> tuple[str, ...]:
    """``("train", "charlm")``, ``("evaluate",)``, ...: the subcommands before the first flag
    or value."""
    nested = {"train", "experiment", "diagnose", "bench", "data"}
    if argv and argv[0] in nested and len(argv) > 1 and not argv[1].startswith("-"):
        return tuple(argv[:2])
    return tuple(argv[:1])


def run_kind(word: str, file: str) -> str | None:
    if RUN_PLACEHOLDER.match(word):
        return RUN_BY_FILE[file]
    for pattern, kind in RUN_BY_NAME:
        if re.match(pattern, word):
            return kind
    return None


@dataclass(frozen=True)
class Case:
    """A documented command made runnable: ``argv`` with tiny budgets, and the tiny runs to
    copy to the run directories it reads ({relative path: kind})."""

    argv: tuple[str, ...]
    runs: tuple[tuple[str, str], ...]
    commands: tuple[docs.DocCommand, ...] = field(compare=False)

    @property
    def where(self) -> str:
        return ", ".join(c.where for c in self.commands)


def runnable(command: docs.DocCommand) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    argv = substitute(command.argv)
    path = command_path(argv)
    runs = {}
    for k, word in enumerate(argv):
        kind = None if k and argv[k - 1] == "--out" else run_kind(word, command.file)
        if kind:
            runs[word] = kind
    if "--resume" in argv:
        extra = ["--max-steps", str(BASE_STEPS + 1)]
    elif path == ("train", "charlm") and "numpy" in argv:
        extra = CHARLM_NUMPY
    else:
        extra = list(TINY.get(path, ()))
        if path == ("train", "charlm") and "--diagnose-every" in argv:
            extra += ["--diagnose-every", "1"]
        if path == ("train", "classify") and "vowels" in argv:
            extra = LABELLED_VECTORS + NO_BASELINES
        if path == ("train", "tag") and "--char-features" in argv:
            extra += ["--char-embedding-size", "4", "--char-hidden-size", "4"]
        if path == ("diagnose", "gradients"):
            extra = ["--batch-size", "2"] + ([] if runs else ["--hidden-size", "8"])
    return tuple(argv + extra), tuple(runs.items())


EXTRACTED = docs.extract()
COMMANDS = EXTRACTED.commands


def _key(command: docs.DocCommand) -> str:
    return " ".join(command.argv)


def _ids(commands) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for command in commands:
        seen[command.where] = seen.get(command.where, 0) + 1
        ids.append(f"{command.where}#{seen[command.where]}")
    return ids


def _is_incomplete(command: docs.DocCommand) -> bool:
    return command.inline and _key(command) in INCOMPLETE_INLINE


def same_run(command: docs.DocCommand) -> tuple[str, ...]:
    """The command with ``BUDGET_FLAGS`` left out, the values of ``SIZE_FLAGS`` (and of
    ``CELL_LISTS`` in an experiment) blanked and run directories named by kind: documented
    commands equal in this run once."""
    argv = substitute(command.argv)
    key = []
    for k, word in enumerate(argv):
        before = argv[k - 1] if k else ""
        if word in BUDGET_FLAGS or before in BUDGET_FLAGS:
            continue
        if before in SIZE_FLAGS or (before in CELL_LISTS and argv[0] == "experiment"):
            word = "_"
        elif run_kind(word, command.file):
            word = f"<{run_kind(word, command.file)} run>"
        key.append(word)
    return tuple(key)


def _cases() -> list[Case]:
    groups: dict[tuple, list[docs.DocCommand]] = {}
    for command in COMMANDS:
        if not _is_incomplete(command) and _key(command) not in EXCLUDED:
            groups.setdefault(same_run(command), []).append(command)
    return [Case(*runnable(commands[0]), tuple(commands)) for commands in groups.values()]


CASES = _cases()


def _marks(wheres: list[str]) -> list:
    broken = [KNOWN_BROKEN[w] for w in wheres if w in KNOWN_BROKEN]
    return [pytest.mark.xfail(reason=broken[0], strict=True)] if broken else []


# -- the rnnkit command, in process -----------------------------------------------------------


def entry_module():
    return importlib.import_module(ENTRY_POINT[0])


def run_rnnkit(argv) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``rnnkit ARGV`` run in this process."""
    main = getattr(entry_module(), ENTRY_POINT[1])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(word) for word in argv])
        except SystemExit as exit_:  # --help, or a usage error from argparse
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


class World:
    """The module's tiny world: the fake cache, the user files, and the tiny runs (each made
    the first time a command needs it)."""

    def __init__(self, root: Path):
        self.root = root
        self.cache = root / "cache"
        self.datasets = docs.write_fake_cache(self.cache)
        (root / "inputs").mkdir()
        self.inputs = docs.write_inputs(root / "inputs")
        self.runs: dict[str, Path] = {}

    def enter(self, monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
        """Make ``cwd`` a user's working directory: the user files, the cache."""
        cwd.mkdir(parents=True, exist_ok=True)
        for name, path in self.inputs.items():
            (cwd / name.rstrip("/")).symlink_to(path)
        monkeypatch.chdir(cwd)
        monkeypatch.setenv("RNNKIT_CACHE", str(self.cache))

    def run(self, kind: str) -> Path:
        if kind not in self.runs:
            with pytest.MonkeyPatch.context() as monkeypatch:
                self.enter(monkeypatch, self.root / "base" / kind)
                out = self.root / "base" / kind / "run"
                argv = [*BASE_RUNS[kind], "--max-steps", str(BASE_STEPS), "--out", out]
                code, stdout, err = run_rnnkit(argv)
            assert code == 0, f"the tiny {kind} run failed: rnnkit {argv}\n{stdout}\n{err}"
            self.runs[kind] = out
        return self.runs[kind]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("documented"))


# -- 0. the extraction ------------------------------------------------------------------------


def test_the_docs_show_commands_of_every_kind():
    files = {command.file for command in COMMANDS}
    assert {"README.md", "docs/charlm.md", "docs/classify.md", "docs/data.md"} <= files
    shown = {command_path(substitute(command.argv)) for command in COMMANDS}
    for path in [("train", "charlm"), ("train", "classify"), ("train", "tag"),
                 ("train", "seq2seq"), ("train", "caption"), ("train", "forecast"),
                 ("sample",), ("evaluate",), ("predict",), ("translate",), ("caption",),
                 ("forecast",), ("data", "fetch"), ("experiment", "adding")]:  # fmt: skip
        assert path in shown, path
    lines = (docs.ROOT / "README.md").read_text().splitlines()
    main_job = next(n for n, line in enumerate(lines, 1) if line.startswith("python3 -m venv"))
    first = [c for c in COMMANDS if c.where == f"README.md:{main_job}"]  # the main job's chain
    assert [c.argv[:2] for c in first] == [("train", "charlm"), ("sample", "runs/quick")]
    assert EXTRACTED.benchmarks, "python benchmarks/... lines are counted apart"


def test_every_placeholder_is_known():
    for command in COMMANDS:
        for word in substitute(command.argv):
            assert not re.search(r"<\w+>|\$\w", word), (command.where, word)
            assert word not in ("NAME", "FILE"), (command.where, word)


def test_the_lists_above_name_documented_commands_only():
    keys = {_key(c) for c in COMMANDS if c.inline}
    assert set(INCOMPLETE_INLINE) <= keys, set(INCOMPLETE_INLINE) - keys
    assert set(EXCLUDED) <= {_key(c) for c in COMMANDS}
    assert set(KNOWN_BROKEN) <= {c.where for c in COMMANDS}


def test_every_documented_cell_runs(parser):
    """``same_run`` runs an experiment once for all its --cells lists: still, every cell the
    docs name for a task (or leave to the default) trains in some run."""

    def cells(argv) -> set[tuple[str, str]]:
        if argv[1] == "exploding" or "--help" in argv:
            return set()
        return {(argv[1], cell) for cell in parser.parse_args(list(argv)).cells.split(",")}

    experiments = [substitute(c.argv) for c in COMMANDS if c.argv[:1] == ("experiment",)]
    shown = set().union(*map(cells, experiments))
    run = set().union(*(cells(case.argv) for case in CASES if case.argv[0] == "experiment"))
    assert shown and shown <= run, shown - run


# -- 1. every documented command parses --------------------------------------------------------


@pytest.fixture(scope="module")
def parser():
    """The real parser, taking flags by their exact names only: argparse would accept any
    unique prefix, so a renamed flag (``--length`` -> ``--length-chars``) would still parse."""

    def exact(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.allow_abbrev = False
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for subparser in action.choices.values():
                    exact(subparser)
        return parser

    return exact(entry_module().build_parser())


@pytest.mark.parametrize("command", COMMANDS, ids=_ids(COMMANDS))
def test_documented_command_parses(command, parser, capsys):
    argv = substitute(command.argv)
    if _is_incomplete(command):
        argv.append("--help")  # the subcommand and its flags exist; the rest is prose
    try:
        parser.parse_args(argv)
    except SystemExit as exit_:
        _, err = capsys.readouterr()
        assert exit_.code == 0 and "--help" in argv, (
            f"{command.where}: `{command.shell}` does not parse: {err.strip()}"
        )


# -- 2. and runs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, marks=_marks([c.where for c in case.commands])) for case in CASES],
    ids=_ids([case.commands[0] for case in CASES]),
)
def test_documented_command_runs(case, world, tmp_path, monkeypatch):
    for relative, kind in case.runs:
        shutil.copytree(world.run(kind), tmp_path / "cwd" / relative)
    world.enter(monkeypatch, tmp_path / "cwd")
    if command_path(list(case.argv)) == ("data", "fetch"):
        # the cache holds the set already: fetch must find it and download nothing
        assert case.argv[2] in world.datasets and "--force" not in case.argv
        monkeypatch.setattr(subprocess, "run", _no_download)
    code, out, err = run_rnnkit(case.argv)
    shown = f"{case.where}: rnnkit {' '.join(case.argv)}"
    assert code == 0, f"{shown}\nexit {code}\n{out[-2000:]}\n{err[-3000:]}"
    check_output(case, out, Path.cwd(), shown)


def _no_download(*args, **kwargs):
    raise AssertionError(f"a documented command tried to run {args[0]!r} (a download?)")


def _json(out: str, shown: str):
    try:
        return json.loads(out)
    except json.JSONDecodeError as error:
        raise AssertionError(f"{shown}: --json output is not JSON ({error}):\n{out}") from None


def _value(argv: list[str], flag: str) -> str:
    """The value of ``flag``'s last occurrence (argparse keeps the last)."""
    return argv[len(argv) - argv[::-1].index(flag)]


def _positionals(argv: list[str], start: int) -> list[str]:
    """The words from ``argv[start]`` on that are neither flags nor flags' values."""
    return [w for k, w in enumerate(argv[start:], start)
            if not w.startswith("-") and not argv[k - 1].startswith("-")]  # fmt: skip


def check_output(case: Case, out: str, cwd: Path, shown: str) -> None:
    """The output has the shape the docs show for the command."""
    argv = list(case.argv)
    path = command_path(argv)
    kind = case.runs[0][1] if case.runs else None
    lines = out.strip().splitlines()
    if "--help" in argv:
        assert out.startswith("usage: rnnkit"), shown
    elif path == ("caption",):  # IMAGE: caption, or (--json) a JSON object per image
        images = [w for w in _positionals(argv, 2) if w.endswith(".png")]
        if "--json" in argv:
            results = [_json(line, shown) for line in lines]
            assert [r["caption"] is not None for r in results] == [True] * len(images), shown
        else:
            assert [line.split(":")[0] for line in lines if line[:1] != " "] == images, shown
    elif "--json" in argv:
        result = _json(out, shown)
        first = result[0] if isinstance(result, list) and result else result
        expected = JSON_KEYS.get((*path, kind), JSON_KEYS.get(path, set()))
        if path[0] == "train":
            expected = JSON_KEYS[("train", "numpy" if "numpy" in argv else path[-1])]
        assert isinstance(first, dict) and expected <= set(first), (shown, expected, result)
    else:
        fragments = TEXT.get((*path, kind), TEXT.get(path, []))
        if path[0] == "train":
            fragments = ["run directory"]
        if path == ("evaluate",) and len(case.runs) > 1:
            fragments = ["ensemble", "accuracy", "macro-F1"]  # no confusion PNG
        if path[0] == "data" and path[1] in ("fetch", "path"):
            fragments = [argv[2]]
        for fragment in fragments:
            assert fragment in out, f"{shown}: {fragment!r} not in\n{out}"
    if path == ("sample",) and "--prime" in argv:  # the text goes on from the prime
        assert out.startswith(_value(argv, "--prime")), shown
    if path == ("predict",) and kind == "classify":  # each input, then its top labels
        inputs = _positionals(argv, 2)
        assert [line for line in lines if line[:1] != " "] == inputs, shown
        top = int(_value(argv, "--top")) if "--top" in argv else None
        assert top is None or len(lines) == len(inputs) * (1 + top), shown
    if path == ("predict",) and kind == "tag-ner":  # the tagged sentence, a line per token,
        words = _positionals(argv, 2)[0].split()  # then the entities (docs/classify.md)
        assert [pair.rpartition("/")[0] for pair in lines[0].split()] == words, shown
        assert len(lines) == 2 + len(words) and "entities:" in lines[-1], shown
    if path == ("translate",) and "--json" not in argv:  # a translation a line
        sentences = _positionals(argv, 2)
        assert len(out.splitlines()) == len(sentences), shown  # (a tiny model's may be empty)
    if path == ("forecast",) and "--json" not in argv and "--horizon" in argv:
        assert sum("\t" in line for line in lines) == int(_value(argv, "--horizon")), shown
    if path == ("data", "path"):
        assert Path(out.strip()).is_dir(), shown
    for flag in ("--attention-png", "--plot"):
        if flag in argv:
            assert (cwd / _value(argv, flag)).is_file(), f"{shown}: no {_value(argv, flag)}"


JSON_KEYS = {  # what --json prints, as far as the docs name it
    ("train", "charlm"): {"run_dir", "steps", "precision", "val_nats", "val_bpc"},  # README
    ("train", "numpy"): {"run_dir", "steps", "val_nats", "val_bpc"},
    **{
        ("train", task): {"run_dir", "steps"}
        for task in ("classify", "tag", "seq2seq", "caption", "forecast")
    },  # fmt: skip
    ("train",): {"run_dir", "steps"},
    # docs/charlm.md: run_dir, checkpoint, steps, data, tokens, unknown_tokens, nats, bpc, ...
    ("evaluate", "charlm"): {
        "run_dir",
        "checkpoint",
        "steps",
        "data",
        "tokens",
        "unknown_tokens",
        "nats",
        "bpc",
        "val_nats",
        "val_bpc",
        "tokens_per_s",
    },  # fmt: skip
    ("evaluate",): {"checkpoint", "steps"},
    ("gradcheck",): {"cell", "max_rel_error", "params"},  # README
    ("diagnose", "gradients"): {"cells", "plot", "report", "settings"},  # docs/diagnostics.md
    ("bench", "layers"): {"cell", "shape", "impl", "ms", "ratio_vs_torch"},  # README
    ("forecast",): {"values", "labels", "plot"},
    ("translate",): {"translations"},
}
TEXT = {  # what the output shows, as far as the docs describe it
    ("evaluate", "charlm"): ["nats/char", "bits/char"],  # README
    ("evaluate", "classify"): ["accuracy", "macro-F1", "confusion", ".png"],  # docs/classify.md
    ("evaluate", "vowels"): ["accuracy", "macro-F1"],
    ("evaluate", "tag-pos"): ["token accuracy"],  # README
    ("evaluate", "tag-ner"): ["token accuracy", "precision", "recall", "F1"],  # docs/classify.md
    ("evaluate", "seq2seq"): ["BLEU", "chrF", "greedy", "beam"],  # docs/translation.md
    ("evaluate", "caption"): ["BLEU", "chrF", "greedy", "beam"],  # docs/caption.md
    ("evaluate", "forecast"): ["MAE", "RMSE"],  # docs/forecast.md
    ("forecast",): [".png"],  # docs/forecast.md: with a plot
    ("gradcheck",): ["max rel. error", " ok"],  # docs/bptt.md
    ("diagnose", "gradients"): ["horizon", "gradients.png"],  # docs/diagnostics.md
    **{
        ("experiment", task): [f"{task}-T", ".png"]
        for task in ("adding", "copy", "digits", "seqmnist")
    },  # fmt: skip
    ("experiment", "exploding"): ["clip"],  # docs/experiments.md: with and without clipping
    ("data", "list"): ["shakespeare", "c-code", "licence"],  # docs/data.md
    ("demo",): ["loss"],  # README: prints its loss falling
    ("bench", "layers"): ["torch"],  # README: ratios to torch.nn
}
