"""The published results of ``rnnkit reproduce``: every entry's command is one the docs quote
and parses with the real parser; the README's table and docs/results.md name the entries;
their declared budgets fit 3 hours on 2 cores; --scale, --list and the bad inputs."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from rnnkit.cli.main import build_parser
from rnnkit.reproduce.entries import SOURCES, scaled_budget
from rnnkit.reproduce.report import minutes
from rnnkit.reproduce.results import ENTRIES, get_entries, total_budget_s
from rnnkit.training.config import parse_duration
from tests.cli import documented_commands as docs
from tests.cli.checks import assert_one_line_error

THREE_HOURS = 3 * 3600
DOCUMENTED = {command.argv for command in docs.extract().commands}
BUDGET_PAGES = ("README.md", "docs/results.md")  # "budgets: N", the entries' total in minutes


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_command_is_the_one_the_docs_quote_and_it_parses(entry):
    words = shlex.split(entry.command)
    assert words[0] == "rnnkit" and tuple(words[1:]) in DOCUMENTED, entry.command
    parser = build_parser()
    for argv in (entry.argv(), entry.argv(scale=0.01, device="cpu")):
        args = parser.parse_args(argv)
        assert args.func is not None, argv


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_entry_is_well_formed(entry):
    words = shlex.split(entry.command)
    if entry.budget_flag in words:  # the budget that --scale shortens is the command's own
        assert words[words.index(entry.budget_flag) + 1] == entry.budget
    for metric in entry.metrics:
        assert metric.source in SOURCES and metric.low < metric.high, metric
        assert (metric.source == "stdout") == (not metric.path), metric
        assert metric.source != "stdout" or "--json" in entry.command, metric
    assert (docs.ROOT / entry.quoted_in).is_file()


def default_budgets() -> dict[str, float]:
    """Where the budget of a command that gives none comes from: its config's default."""
    from rnnkit.experiments.exploding import ExplodingConfig
    from rnnkit.tasks.charlm_config import PRESETS
    from rnnkit.tasks.forecast_config import ForecastConfig

    return {
        "charlm-quick": PRESETS["quick"]["trainer"]["time_budget"],
        "exploding": ExplodingConfig().steps,
        "forecast-airline": ForecastConfig().trainer.time_budget,
    }


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_a_budget_the_command_leaves_out_is_its_default(entry):
    if entry.budget_flag in shlex.split(entry.command):
        return
    default = default_budgets().get(entry.name)
    assert default is not None, f"name where {entry.name}'s default budget comes from"
    timed = entry.budget_flag == "--time-budget"
    assert (parse_duration(entry.budget) if timed else int(entry.budget)) == default


def test_the_full_budgets_fit_three_hours_on_two_cores():
    assert 0 < total_budget_s() <= THREE_HOURS
    assert len({entry.name for entry in ENTRIES}) == len(ENTRIES)


def table_column(path: str, column: str) -> list[str]:
    """The cells of ``column`` in the Markdown table of ``path`` whose header names it, their
    backticks taken off."""
    lines = (docs.ROOT / path).read_text(encoding="utf-8").splitlines()
    rows = [[cell.strip() for cell in line.split("|")] for line in lines]
    header = next(k for k, cells in enumerate(rows) if lines[k].startswith("|") and column in cells)
    index = rows[header].index(column)
    cells = []
    for line, row in zip(lines[header + 2 :], rows[header + 2 :], strict=True):
        if not line.startswith("|"):
            break
        cells.append(row[index].strip("`"))
    return cells


def test_the_readme_table_names_existing_entries_and_every_entry_is_documented():
    in_readme = table_column("README.md", "`reproduce` entry")
    in_results = table_column("docs/results.md", "entry")
    names = [entry.name for entry in ENTRIES]
    assert in_readme and set(in_readme) <= set(names), set(in_readme) - set(names)
    assert set(in_results) <= set(names), set(in_results) - set(names)
    assert set(names) <= set(in_readme) | set(in_results)


def test_the_docs_give_each_budget_and_their_total_as_list_does():
    import rnnkit.cli.reproduce as reproduce_cli

    total = minutes(total_budget_s())
    texts = {path: (docs.ROOT / path).read_text(encoding="utf-8") for path in BUDGET_PAGES}
    texts["rnnkit reproduce --help"] = reproduce_cli.__doc__
    for where, text in texts.items():
        said = re.findall(r"budgets: (\d+)", text)
        assert said and {f"{number} min" for number in said} == {total}, (where, said)
    entries = table_column("docs/results.md", "entry")
    budgets = table_column("docs/results.md", "full budget")
    assert entries == [entry.name for entry in ENTRIES]
    assert budgets == [minutes(entry.budget_s) for entry in ENTRIES]


def test_minutes_round_a_half_up():
    assert [minutes(s) for s in (150, 330, 89, 90, 6180)] == [
        "3 min",
        "6 min",
        "1 min",
        "2 min",
        "103 min",
    ]


def test_scale_shortens_every_budget():
    assert scaled_budget("--time-budget", "10m", 0.01) == "6s"
    assert scaled_budget("--max-steps", "12000", 0.001) == "12"
    assert scaled_budget("--steps", "3", 0.01) == "1"
    assert get_entries(["exploding"])[0].argv(0.001)[-2:] == ["--steps", "30"]  # its least
    quick = get_entries(["charlm-quick"])[0]
    assert quick.argv(0.5)[-2:] == ["--time-budget", "280s"]
    names = get_entries(["names"])[0]
    argv = names.argv(0.5, "cpu")
    assert argv.count("--max-steps") == 1 and argv[-4:] == [
        "--max-steps",
        "6000",
        "--device",
        "cpu",
    ]
    assert names.argv() == shlex.split(names.command)[1:]


def test_list_shows_commands_ranges_and_fetches(rnnkit):
    code, out, err = rnnkit("reproduce", "--list")
    assert code == 0, err
    for entry in ENTRIES:
        assert entry.command in out and f"{entry.name}:" in out
    assert "needs `rnnkit data fetch names` first" in out
    assert f"{len(ENTRIES)} entries" in out
    code, out, err = rnnkit("reproduce", "--list", "--json", "names")
    [listed] = json.loads(out)
    assert listed["command"] == get_entries(["names"])[0].command and listed["fetch"] == ["names"]


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["reproduce", "nope"], ["unknown reproduce entry 'nope'", "charlm-quick", "adding"]),
        (["reproduce", "adding", "--scale", "0"], ["--scale takes a number in (0, 1]"]),
        (["reproduce", "adding", "--device", "nowhere"], ["nowhere"]),
        (
            ["reproduce", "adding", "pos", "names"],
            ["run `rnnkit data fetch pos && rnnkit data fetch names` first"],
        ),
    ],
)
def test_bad_input_is_one_line(rnnkit, argv, fragments, tmp_path, monkeypatch):
    """Refused before anything runs: no run folder is made."""
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "empty-cache"))
    assert_one_line_error(rnnkit(*argv, "--runs-dir", tmp_path / "runs"), *fragments)
    assert not (tmp_path / "runs").exists()


def test_device_goes_to_every_entry_but_exploding_which_runs_on_the_cpu():
    """``rnnkit reproduce --device cpu`` once left ``adding`` to the Trainer's "auto" (cuda:0
    where there was one) while results.json said cpu. ``exploding`` is a plain SGD loop whose
    tensors never leave the CPU (docs/results.md says so), so it takes no --device."""
    adding = get_entries(["adding"])[0]
    assert adding.argv(0.01, "cpu")[-2:] == ["--device", "cpu"]
    args = build_parser().parse_args(adding.argv(device="cpu"))
    assert args.inference_device == "cpu"
    assert [entry.name for entry in ENTRIES if not entry.device_flag] == ["exploding"]
    assert "--device" not in get_entries(["exploding"])[0].argv(0.01, "cpu")
    page = (docs.ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert "every entry but `exploding`, whose SGD loop always runs on the CPU" in page
