"""The generic run lifecycle (``rnnkit.tasks.lifecycle``) and the task registry: the format
version in config.json, the one-line errors for a run this rnnkit cannot read, runs written
before the format was versioned, and the six registered task specs."""

from __future__ import annotations

import importlib
import json

import pytest
import torch

from rnnkit.tasks import charlm, classify, lifecycle, registry, tag
from rnnkit.tasks.classify_config import resolve_config as classify_config
from rnnkit.tasks.spec import RunResult, TaskSpec
from rnnkit.training.metrics import read_metrics
from tests.tasks import labelled_fixtures as fixtures

BUILT_IN = ("charlm", "classify", "tag", "seq2seq", "caption", "forecast")


def _read(run_dir) -> dict:
    return json.loads((run_dir / "config.json").read_text(encoding="utf-8"))


def _write(run_dir, record: dict) -> None:
    (run_dir / "config.json").write_text(json.dumps(record, indent=1), encoding="utf-8")


def _as_before_versions(run_dir) -> dict:
    """Rewrite config.json as rnnkit wrote it before ``format_version`` existed (the same
    record, without the version, keys in the old order); returns that record."""
    record = _read(run_dir)
    del record["format_version"]
    order = ("task", "engine", "preset", "data", "encoder", "scaler", "config")
    old = {key: record[key] for key in order if key in record}
    assert old == record  # nothing else in a new record: only the version was added
    _write(run_dir, old)
    return old


def _one_line_error(call, *fragments: str) -> str:
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def _losses(run_dir) -> dict:
    return {r["step"]: r["loss"] for r in read_metrics(run_dir / "metrics.jsonl")
            if r["kind"] == "train"}  # fmt: skip


def _stop_at(step):
    def callback(trainer):
        if trainer.state.step == step:
            trainer.request_stop()

    return callback


@pytest.fixture
def charlm_run(tiny_config, tmp_path):
    """A finished tiny character-model run (12 steps)."""
    config = tiny_config()
    result = charlm.train(config, tmp_path / "run")
    return tmp_path / "run", config, result


def _classify_run(run_dir):
    config = classify_config(
        {
            "data.batch_size": 8,
            "model.hidden_size": 8,
            "model.embedding_size": 4,
            "trainer.max_steps": 4,
            "trainer.time_budget": None,
            "trainer.eval_every": 2,
            "trainer.tensorboard": False,
            "baselines.enabled": False,
        }
    )
    return classify.train(config, run_dir, data=fixtures.names())


# -- (1) a new run records its format ----------------------------------------------------------


def test_a_new_run_records_the_format_version_and_reads_back(charlm_run):
    run_dir, config, result = charlm_run
    record = _read(run_dir)
    assert lifecycle.FORMAT_VERSION == 1
    assert record["format_version"] == lifecycle.FORMAT_VERSION
    assert list(record)[:2] == ["format_version", "task"] and record["task"] == "charlm"
    assert isinstance(result, RunResult)
    assert json.loads(json.dumps(result.record)) == record  # as written (tuples become lists)
    assert result.spec is charlm.SPEC and not result.interrupted
    run = lifecycle.read_run(run_dir)
    assert run.spec is charlm.SPEC and run.run_dir == run_dir
    assert run.record == record and run.config.to_dict() == config.to_dict()
    assert lifecycle.read_run(run_dir, task="charlm").config.to_dict() == config.to_dict()


def test_a_run_result_summarises_through_its_spec(charlm_run):
    _, _, result = charlm_run
    summary = result.summary()
    assert summary == charlm.SPEC.summary(result)
    assert summary["steps"] == result.train.steps == 12
    assert summary["val_nats"] == result.train.best_metric
    assert result.selected_by == "val_nats" and result.test == {}


# -- (2) a run of a newer format ---------------------------------------------------------------


def test_a_newer_format_version_is_refused_naming_both_versions(charlm_run):
    run_dir, _, _ = charlm_run
    _write(run_dir, {**_read(run_dir), "format_version": 99})
    message = _one_line_error(
        lambda: lifecycle.read_run(run_dir), "format version 99", "up to 1", str(run_dir)
    )
    # every way into a run goes through the same check, with the same message
    for call in (
        lambda: lifecycle.read_run(run_dir, task="charlm"),
        lambda: lifecycle.open_checkpoint(run_dir),
        lambda: lifecycle.resume(run_dir),
        lambda: charlm.resume(run_dir, max_steps=20),
    ):
        assert _one_line_error(call) == message
    assert _read(run_dir)["format_version"] == 99  # left as it was


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_an_invalid_format_version_is_a_clear_error(charlm_run, version):
    run_dir, _, _ = charlm_run
    _write(run_dir, {**_read(run_dir), "format_version": version})
    _one_line_error(lambda: lifecycle.read_run(run_dir), "invalid format_version", repr(version))


def test_an_older_version_is_migrated_in_memory(charlm_run, monkeypatch):
    """The migration machinery, with a made-up version 2 that renames a key."""
    run_dir, config, _ = charlm_run
    record = _as_before_versions(run_dir)
    record["preset_name"] = record.pop("preset")
    _write(run_dir, record)

    def to_v2(old: dict) -> dict:
        new = dict(old)
        new["preset"] = new.pop("preset_name")
        return new

    monkeypatch.setattr(lifecycle, "FORMAT_VERSION", 2)
    monkeypatch.setattr(lifecycle, "MIGRATIONS", {1: to_v2})
    run = lifecycle.read_run(run_dir)
    assert run.record["format_version"] == 2 and "preset_name" not in run.record
    assert run.record["preset"] is None and run.config.to_dict() == config.to_dict()
    assert _read(run_dir) == record  # reading never rewrites the run
    # a run already at the current version is not migrated again
    _write(run_dir, {**record, "format_version": 2})
    assert lifecycle.read_run(run_dir).record["preset_name"] is None


# -- (3) an unknown task -----------------------------------------------------------------------


def test_an_unknown_task_in_config_json_lists_the_known_ones(charlm_run):
    run_dir, _, _ = charlm_run
    _write(run_dir, {**_read(run_dir), "task": "poetry"})
    known = "known tasks: " + ", ".join(registry.task_names())
    _one_line_error(
        lambda: lifecycle.read_run(run_dir), "unknown task 'poetry'", "config.json", known
    )
    _one_line_error(lambda: lifecycle.resume(run_dir), "unknown task 'poetry'", known)
    _one_line_error(lambda: lifecycle.open_checkpoint(run_dir), "unknown task 'poetry'", known)


def test_a_config_json_without_a_task_lists_the_known_ones(charlm_run):
    run_dir, _, _ = charlm_run
    record = _read(run_dir)
    del record["task"]
    _write(run_dir, record)
    known = ", ".join(registry.task_names())
    _one_line_error(lambda: lifecycle.read_run(run_dir), "unknown task None", known)


@pytest.mark.parametrize("name", ["poetry", "", "Charlm", None, 3])
def test_the_registry_refuses_an_unknown_name(name):
    message = _one_line_error(lambda: registry.get_spec(name), f"unknown task {name!r}")
    assert message.endswith("known tasks: " + ", ".join(registry.task_names()))
    where = _one_line_error(lambda: registry.get_spec(name, where="runs/x/config.json"))
    assert f"{name!r} in runs/x/config.json;" in where


# -- (4) an unknown config key in an old run ---------------------------------------------------


@pytest.mark.parametrize(
    "section, key, known",
    [("model", "old_knob", "hidden_size"), (None, "old_section", "optimizer")],
)
def test_an_unknown_config_key_in_an_old_run_is_one_clear_line(charlm_run, section, key, known):
    run_dir, _, _ = charlm_run
    record = _as_before_versions(run_dir)
    (record["config"][section] if section else record["config"])[key] = 3
    _write(run_dir, record)
    dotted = f"{section}.{key}" if section else key
    message = _one_line_error(
        lambda: lifecycle.read_run(run_dir), f"unknown config key(s) {dotted};", known
    )
    assert _one_line_error(lambda: charlm.resume(run_dir)) == message
    assert _one_line_error(lambda: lifecycle.open_checkpoint(run_dir)) == message


def test_a_config_json_without_a_config_is_damaged(charlm_run):
    run_dir, _, _ = charlm_run
    record = _read(run_dir)
    del record["config"]
    _write(run_dir, record)
    _one_line_error(lambda: lifecycle.read_run(run_dir), "is damaged: it has no config")


def test_what_is_not_a_run_directory(tmp_path):
    _one_line_error(lambda: lifecycle.read_run(tmp_path / "nowhere"), "no run directory")
    _one_line_error(lambda: lifecycle.read_run(tmp_path), "not an rnnkit run directory")
    (tmp_path / "config.json").write_text("[1, 2]", encoding="utf-8")
    _one_line_error(lambda: lifecycle.read_run(tmp_path), "damaged: expected a JSON object")


# -- (5) a run of another task -----------------------------------------------------------------


def test_a_run_of_another_task_is_refused(tmp_path):
    run_dir = tmp_path / "classify"
    _classify_run(run_dir)
    assert lifecycle.read_run(run_dir).spec is classify.SPEC
    assert lifecycle.read_run(run_dir, task="classify").spec is classify.SPEC
    expected = f"{run_dir} holds a 'classify' run, not a tag run"
    assert _one_line_error(lambda: lifecycle.read_run(run_dir, task="tag")) == expected
    assert _one_line_error(lambda: lifecycle.open_checkpoint(run_dir, task="tag")) == expected
    assert _one_line_error(lambda: tag.resume(run_dir)) == expected
    assert _one_line_error(lambda: charlm.resume(run_dir)) == (
        f"{run_dir} holds a 'classify' run, not a charlm run"
    )


def test_open_checkpoint_names_the_allowed_checkpoints(charlm_run):
    run_dir, _, result = charlm_run
    _one_line_error(
        lambda: lifecycle.open_checkpoint(run_dir, "first"),
        "unknown checkpoint 'first'; allowed: best, last",
    )
    best, last = lifecycle.open_checkpoint(run_dir), lifecycle.open_checkpoint(run_dir, "last")
    assert (best.checkpoint, best.step) == ("best", result.train.best_step)
    assert (last.checkpoint, last.step) == ("last", 12)
    assert best.spec is charlm.SPEC and best.record == _read(run_dir)


def test_open_model_builds_the_checkpoints_model_or_names_the_file(charlm_run):
    run_dir, _, _ = charlm_run
    opened, model = lifecycle.open_model(run_dir, "last", "charlm", charlm.model_from_record)
    assert not model.training and opened.checkpoint == "last"
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, opened.loaded.section("model")[name])
    too_small = lambda record: charlm.model_from_record({**record, "hidden_size": 3})  # noqa: E731
    _one_line_error(
        lambda: lifecycle.open_model(run_dir, "last", "charlm", too_small),
        f"checkpoint {run_dir / 'checkpoints' / 'last.safetensors'} does not hold a charlm model",
    )


# -- (6) a run written before the format was versioned -----------------------------------------


def test_a_run_without_a_format_version_still_resumes_exactly(tiny_config, tmp_path):
    config = tiny_config(**{"model.dropout": 0.2})
    charlm.train(config, tmp_path / "whole")
    stopped = charlm.train(config, tmp_path / "parts", callbacks=[_stop_at(6)])
    assert stopped.interrupted is False and stopped.train.stop_reason == "stopped"
    old = _as_before_versions(tmp_path / "parts")
    before = (tmp_path / "parts" / "config.json").read_bytes()

    assert lifecycle.read_run(tmp_path / "parts").record == {**old, "format_version": 1}
    resumed = charlm.resume(tmp_path / "parts")
    assert resumed.train.steps == 12 and resumed.record["format_version"] == 1
    assert _losses(tmp_path / "parts") == _losses(tmp_path / "whole")
    # resuming to the recorded stop leaves config.json as the old rnnkit wrote it
    assert (tmp_path / "parts" / "config.json").read_bytes() == before


def test_extending_an_unversioned_run_writes_the_current_version(charlm_run):
    run_dir, _, _ = charlm_run
    old = _as_before_versions(run_dir)
    result = lifecycle.resume(run_dir, max_steps=16)
    assert result.train.steps == 16 and result.spec is charlm.SPEC
    record = _read(run_dir)
    assert record["format_version"] == 1 and record["config"]["trainer"]["max_steps"] == 16
    del record["format_version"]
    old["config"]["trainer"].update(max_steps=16, time_budget=None)
    assert record == old
    assert sorted(_losses(run_dir)) == list(range(1, 17))


def test_an_unversioned_classify_run_resumes_and_scores(tmp_path, monkeypatch):
    whole = _classify_run(tmp_path / "whole")
    _classify_run(tmp_path / "parts")
    _as_before_versions(tmp_path / "parts")
    data = fixtures.names()
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    resumed = lifecycle.resume(tmp_path / "parts", max_steps=8)
    assert resumed.spec is classify.SPEC and resumed.train.steps == 8
    assert resumed.test.keys() == whole.test.keys() and resumed.test["examples"] == 6


# -- (7) the registry --------------------------------------------------------------------------


def test_the_registry_knows_the_six_built_in_tasks_first():
    names = registry.task_names()
    assert names[: len(BUILT_IN)] == BUILT_IN and names == tuple(registry.TASKS)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", registry.task_names())
def test_each_spec_is_its_modules_and_named_by_its_key(name):
    spec = registry.get_spec(name)
    assert isinstance(spec, TaskSpec) and spec.name == name
    module = importlib.import_module(registry.TASKS[name])
    assert spec is module.SPEC and registry.get_spec(name) is spec
    if name in BUILT_IN:  # their own train/resume wrappers (a new task needs only its SPEC)
        assert callable(module.train) and callable(module.resume)
    assert spec.help and "\n" not in spec.help
    config = spec.resolve_config()
    assert isinstance(config, spec.config_class)
    if spec.resolve is None:  # else the data set's defaults fill some of them in
        assert config.to_dict() == spec.config_class().to_dict()
    seed = config.trainer.seed
    assert spec.resolve_config({"trainer.seed": seed + 1}).trainer.seed == seed + 1
    _one_line_error(lambda: spec.resolve_config({"model.no_such_knob": 1}), "no_such_knob")


# -- helpers -----------------------------------------------------------------------------------


def test_slug_and_baselines_helpers(tmp_path):
    assert lifecycle.slug("my pairs.tsv") == "my-pairs"
    assert lifecycle.slug("data/eng-fra_v2.txt") == "eng-fra_v2"
    assert lifecycle.slug("") == "data"
    assert lifecycle.read_baselines(tmp_path) == {}
    (tmp_path / lifecycle.BASELINES).write_text('{"baseline_x": 0.5}', encoding="utf-8")
    assert lifecycle.read_baselines(tmp_path) == {"baseline_x": 0.5}


def test_a_bad_data_source_leaves_no_run_directory(tiny_config, tmp_path):
    config = tiny_config(**{"data.source": str(tmp_path / "missing.txt")})
    with pytest.raises((ValueError, OSError)):
        charlm.train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_restarted_attempt_without_a_checkpoint_trains_again_in_its_run(
    tiny_config, tmp_path, monkeypatch
):
    """torchrun --max-restarts: a rank died before the first checkpoint; the next attempt
    starts again in the same --out (given as a string, as the CLI gives it)."""
    config = tiny_config()
    charlm.train(config, tmp_path / "whole")
    charlm.train(config, tmp_path / "died", callbacks=[_stop_at(3)])
    for name in ("last.safetensors", "last.json", "best.safetensors", "best.json"):
        (tmp_path / "died" / "checkpoints" / name).unlink(missing_ok=True)
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    again = charlm.train(config, str(tmp_path / "died"))
    assert again.train.steps == 12
    assert _losses(tmp_path / "died") == _losses(tmp_path / "whole")


def _untimed(run_dir) -> list[dict]:
    """metrics.jsonl's records without their timings."""
    records = read_metrics(run_dir / "metrics.jsonl")
    return [{k: v for k, v in r.items() if not k.endswith("per_s")} for r in records]


def _crash_at(step):
    def callback(trainer):
        if trainer.state.step == step:
            raise RuntimeError("killed")  # an exception ends the run without saving

    return callback


def test_resume_of_a_run_that_died_before_its_first_checkpoint_starts_it_over(
    tiny_config, tmp_path, caplog
):
    """Checkpoints are written at evaluations: a run that died before its first has only its
    config.json and what it wrote while training. ``train --resume`` trains it again from
    step 0 in the same folder, and it ends as an uninterrupted run with the seed does."""
    config = tiny_config(**{"trainer.eval_every": 8, "trainer.tensorboard": True})
    whole = charlm.train(config, tmp_path / "whole")
    died = tmp_path / "died"
    with pytest.raises(RuntimeError, match="killed"):
        charlm.train(config, died, callbacks=[_crash_at(5)])
    assert not (died / "checkpoints" / "last.safetensors").exists()
    assert sorted(_losses(died)) == [1, 2, 3, 4, 5]
    (died / "samples.txt").write_text("=== step 8 (the dead attempt's) ===\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="rnnkit.tasks.lifecycle"):
        again = lifecycle.resume(str(died))
    [said] = [r.getMessage() for r in caplog.records if r.name == "rnnkit.tasks.lifecycle"]
    assert "stopped before its first checkpoint" in said and "from step 0" in said
    assert again.train.steps == 12 and again.train.best_step == whole.train.best_step
    assert again.train.metrics == whole.train.metrics and again.train.sample == whole.train.sample
    assert _untimed(died) == _untimed(tmp_path / "whole")  # no record of the dead attempt
    samples = [path / "samples.txt" for path in (died, tmp_path / "whole")]
    assert samples[0].read_text(encoding="utf-8") == samples[1].read_text(encoding="utf-8")
    assert len(list(died.glob("events.out.tfevents.*"))) == 1
    assert _read(died) == _read(tmp_path / "whole")  # the preset note kept
    assert lifecycle.resume(died, max_steps=16).train.steps == 16  # and it resumes as any run


def test_a_classify_run_that_died_early_starts_over_with_a_new_stop(tmp_path, monkeypatch):
    data = fixtures.names()
    monkeypatch.setattr("rnnkit.tasks.classify.load_data", lambda dataset, seed: data)
    whole = _classify_run(tmp_path / "whole")  # 4 steps, evaluated every 2
    config = lifecycle.read_run(tmp_path / "whole").config
    config.trainer.max_steps = 40
    with pytest.raises(RuntimeError, match="killed"):
        classify.train(config, tmp_path / "died", data=data, callbacks=[_crash_at(1)])
    again = lifecycle.resume(tmp_path / "died", task="classify", max_steps=4)
    assert again.train.steps == 4 and again.test == whole.test
    assert _losses(tmp_path / "died") == _losses(tmp_path / "whole")
    assert _read(tmp_path / "died") == _read(tmp_path / "whole")  # the new stop recorded
