"""The character-LM task: TBPTT state handling, training, resume, and using a finished run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnnkit.data.batching import split_contiguous
from rnnkit.data.encoding import encode_corpus
from rnnkit.data.vocab import Vocab
from rnnkit.tasks.charlm import CharLMTask, mean_loss, prepare, prime_ids, resume, train
from rnnkit.tasks.charlm_runs import evaluate_run, load_run, sample_run
from rnnkit.training import checkpoint as ckpt
from rnnkit.training.metrics import read_metrics


def _losses(run_dir):
    records = read_metrics(run_dir / "metrics.jsonl")
    return {r["step"]: r["loss"] for r in records if r["kind"] == "train"}


def _task(config):
    text = config.data.source
    with open(text, encoding="utf-8") as handle:
        corpus = encode_corpus(handle.read(), "char", config.data.split)
    torch.manual_seed(0)
    task = CharLMTask(config, corpus)
    return task, task.build_model()


def test_a_tiny_model_learns_the_tiny_text(tiny_config, tmp_path):
    overrides = {"trainer.max_steps": 40, "trainer.eval_every": 20, "optimizer.lr": 0.03}
    result = train(tiny_config(**overrides), tmp_path / "r")
    curve = _losses(tmp_path / "r")
    vocab_size = len(Vocab.load(tmp_path / "r" / "vocab.json"))
    assert abs(curve[1] - math.log(vocab_size)) < 0.3  # starts near guessing
    assert curve[40] < 0.75 * curve[1]
    metrics = result.train.metrics
    assert metrics["val_nats"] < curve[1]
    assert metrics["val_bpc"] == pytest.approx(metrics["val_nats"] / math.log(2))


def test_state_is_carried_between_chunks_and_detached(tiny_config):
    task, model = _task(tiny_config())
    batches = task.train_batches(0)
    first, second = next(batches), next(batches)
    out1 = task.training_step(model, first, None)
    assert all(not s.requires_grad for s in out1.carry)  # detached
    # chunk 2 starts from the exact state chunk 1 ended with
    _, _, expected_state = model(first.inputs, first.targets)
    assert all(torch.equal(a, b) for a, b in zip(out1.carry, expected_state, strict=True))
    # and its loss is the loss of those positions in one long forward pass
    out2 = task.training_step(model, second, out1.carry)
    both = torch.cat([first.inputs, second.inputs])
    logits, _, _ = model(both)
    tail = logits[len(first.inputs) :].reshape(-1, logits.shape[-1])
    reference = torch.nn.functional.cross_entropy(tail, second.targets.reshape(-1))
    assert out2.loss.detach().item() == pytest.approx(reference.detach().item(), rel=1e-5)


def test_no_gradient_flows_into_the_previous_chunk(tiny_config):
    task, model = _task(tiny_config())
    batches = task.train_batches(1)  # chunks 1 and 2: both take the carried state
    first, second = next(batches), next(batches)

    def initial_state():
        return tuple(s.clone().requires_grad_(True) for s in model.initial_state(4))

    h0 = initial_state()
    carry = task.training_step(model, first, h0).carry
    task.training_step(model, second, carry).loss.backward()
    assert h0[0].grad is None and h0[1].grad is None
    # the control: without the detach, chunk 2's loss reaches back into chunk 1's start
    h0 = initial_state()
    _, _, state = model(first.inputs, first.targets, h0)
    model(second.inputs, second.targets, state)[1].backward()
    assert h0[0].grad is not None and h0[0].grad.abs().sum() > 0


def test_the_state_resets_where_an_epoch_starts(tiny_config):
    task, model = _task(tiny_config())
    start = len(task.streams)  # global step of epoch 1's first chunk
    batch = next(task.train_batches(start))
    assert batch.index == 0
    garbage = tuple(torch.full_like(s, 5.0) for s in model.initial_state(4))
    with_garbage = task.training_step(model, batch, garbage).loss
    fresh = task.training_step(model, batch, None).loss
    assert with_garbage.detach().item() == fresh.detach().item()


def test_evaluation_matches_a_hand_loop(tiny_config):
    task, model = _task(tiny_config())
    ids = task.corpus.val
    nats = mean_loss(model, ids, batch_size=1, seq_len=7)  # many chunks, one stream
    with torch.no_grad():  # one pass over the whole text: the state never breaks
        logits, _, _ = model.eval()(torch.from_numpy(ids[:-1]).view(-1, 1))
        expected = torch.nn.functional.cross_entropy(
            logits.view(-1, logits.shape[-1]), torch.from_numpy(ids[1:])
        )
    assert nats == pytest.approx(expected.item(), rel=1e-5)


def test_checkpoint_round_trip_gives_identical_logits(tiny_config, tmp_path):
    trainers = []
    train(tiny_config(), tmp_path / "r", callbacks=[trainers.append])
    live = trainers[-1].model.eval()
    run = load_run(tmp_path / "r", "last")
    idx = torch.randint(0, len(run.vocab), (20, 3), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(run.model(idx)[0], live(idx)[0])


def _stop_at(step):
    def callback(trainer):
        if trainer.state.step == step:
            trainer.request_stop()

    return callback


def _crash_at(step):
    def callback(trainer):
        if trainer.state.step == step:
            raise RuntimeError("killed")

    return callback


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_resume_after_a_stop_gives_the_same_losses_as_one_run(tiny_config, tmp_path, cell):
    config = tiny_config(**{"model.cell": cell, "model.num_layers": 2, "model.dropout": 0.2})
    config.schedule.name, config.schedule.warmup_steps = "cosine", 3
    train(config, tmp_path / "whole")
    stopped = train(config, tmp_path / "parts", callbacks=[_stop_at(6)])
    assert stopped.train.stop_reason == "stopped" and stopped.train.steps == 6
    resumed = resume(tmp_path / "parts")
    assert resumed.train.steps == 12
    assert _losses(tmp_path / "parts") == _losses(tmp_path / "whole")


def test_a_killed_run_resumes_from_its_last_checkpoint(tiny_config, tmp_path):
    config = tiny_config(**{"model.dropout": 0.2})
    train(config, tmp_path / "whole")
    with pytest.raises(RuntimeError, match="killed"):
        train(config, tmp_path / "killed", callbacks=[_crash_at(7)])  # last checkpoint: step 4
    resume(tmp_path / "killed")
    assert _losses(tmp_path / "killed") == _losses(tmp_path / "whole")


def test_resume_can_extend_the_run(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    result = resume(tmp_path / "r", max_steps=16)
    assert result.train.steps == 16 and sorted(_losses(tmp_path / "r")) == list(range(1, 17))


def test_resume_refuses_when_the_training_text_changed(tiny_config, tiny_text, tmp_path):
    train(tiny_config(), tmp_path / "r")
    tiny_text.write_text("something else entirely\n" * 100, encoding="utf-8")
    with pytest.raises(ValueError, match="has changed since this run started"):
        resume(tmp_path / "r")


def test_sampling_is_deterministic_under_a_seed(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    first = sample_run(tmp_path / "r", "ROMEO:", 40, temperature=1.0, seed=3)
    again = sample_run(tmp_path / "r", "ROMEO:", 40, temperature=1.0, seed=3)
    other = sample_run(tmp_path / "r", "ROMEO:", 40, temperature=1.0, seed=4)
    assert first == again != other
    assert first.startswith("ROMEO:") and len(first) == 46


def test_sampling_streams_each_character(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    pieces = []
    text = sample_run(tmp_path / "r", "JULIET", 25, seed=1, on_text=pieces.append)
    assert pieces[0] == "JULIET" and len(pieces) == 26 and "".join(pieces) == text


def test_beam_of_one_is_greedy(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    greedy = sample_run(tmp_path / "r", "HAM", 30, temperature=0)
    assert sample_run(tmp_path / "r", "HAM", 30, beam=1) == greedy


def test_unknown_prime_characters_are_listed():
    vocab = Vocab.build("abc\n")
    assert prime_ids(vocab, "") == [vocab.stoi["\n"]]
    with pytest.raises(ValueError, match=r"2 character\(s\) not in the run's vocabulary: 'x', 'é'"):
        prime_ids(vocab, "abxé")


def test_evaluate_recomputes_the_runs_split(tiny_config, tiny_text, tmp_path):
    result = train(tiny_config(), tmp_path / "r")
    held_out = split_contiguous(tiny_text.read_text(encoding="utf-8"), (0.9, 0.05, 0.05)).test
    val = evaluate_run(tmp_path / "r", split="val", checkpoint="last")
    assert val["nats"] == pytest.approx(result.train.metrics["val_nats"], rel=1e-6)
    test = evaluate_run(tmp_path / "r")
    assert test["tokens"] == len(held_out) and test["unknown_tokens"] == 0
    assert test["bpc"] == pytest.approx(test["nats"] / math.log(2))


def test_evaluate_other_text_counts_unknown_characters(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    other = tmp_path / "other.txt"
    other.write_text("ROMEO: zzz\n" * 20, encoding="utf-8")
    result = evaluate_run(tmp_path / "r", data=str(other))
    assert result["tokens"] == 220 and result["unknown_tokens"] == 60  # z is not in the text
    assert np.isfinite(result["nats"])


def test_evaluate_decodes_other_text_as_it_is_told(tiny_config, tmp_path):
    """The error for a Latin-1 text said "name its encoding with --encoding, keep going with
    --decode-errors replace or skip"; evaluate took neither."""
    train(tiny_config(**{"trainer.max_steps": 4}), tmp_path / "r")
    other = tmp_path / "other.txt"
    other.write_bytes("ROMEO: caf\u00e9\n".encode("latin-1") * 20)
    with pytest.raises(ValueError, match="other.txt is not UTF-8 text: byte 0xe9"):
        evaluate_run(tmp_path / "r", data=str(other))
    assert evaluate_run(tmp_path / "r", data=str(other), encoding="latin-1")["tokens"] == 240
    assert evaluate_run(tmp_path / "r", data=str(other), decode_errors="skip")["tokens"] == 220
    with pytest.raises(ValueError, match="--encoding and --decode-errors say how the --data"):
        evaluate_run(tmp_path / "r", encoding="latin-1")


def test_best_falls_back_to_last_before_the_first_evaluation(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r", callbacks=[_stop_at(2)])
    assert load_run(tmp_path / "r").checkpoint == "last"


def test_a_damaged_checkpoint_is_a_clear_error_and_best_survives(tiny_config, tmp_path):
    train(tiny_config(), tmp_path / "r")
    folder = tmp_path / "r" / "checkpoints"
    best = (folder / "best.safetensors").read_bytes()
    last = folder / "last.safetensors"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        resume(tmp_path / "r")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_run(tmp_path / "r", "last")
    assert (folder / "best.safetensors").read_bytes() == best
    assert ckpt.load_checkpoint(folder, "best").meta["step"] > 0


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"data.max_chars": 21}, "the validation part of the text is 1 character(s)"),
        ({"data.max_chars": 30}, "the test part of the text is 1 character(s)"),
        ({"data.batch_size": 64, "data.max_chars": 100}, "too few for --batch-size 64"),
    ],
)
def test_a_text_too_short_for_a_part_is_refused_before_the_run_exists(
    tiny_config, tmp_path, overrides, words
):
    """The length the message asks for is the shortest that prepares, one less is refused;
    before, a short validation part failed at the first evaluation, after training."""
    config = tiny_config(**overrides)
    with pytest.raises(ValueError, match=r"give a larger --max-chars: at least \d+") as error:
        train(config, tmp_path / "r")
    assert words in str(error.value) and not (tmp_path / "r").exists()
    needed = int(str(error.value).rsplit("at least ", 1)[1].split()[0].replace(",", ""))
    assert prepare(tiny_config(**{**overrides, "data.max_chars": needed}), None)
    with pytest.raises(ValueError, match="too few"):
        prepare(tiny_config(**{**overrides, "data.max_chars": needed - 1}), None)


def test_a_split_beside_other_text_is_refused(tiny_config, tmp_path):
    train(tiny_config(**{"trainer.max_steps": 4}), tmp_path / "r")
    with pytest.raises(ValueError, match="--split val picks a part of the run's own text"):
        evaluate_run(tmp_path / "r", data=tiny_config().data.source, split="val")
    assert evaluate_run(tmp_path / "r", split=None)["data"].startswith("test split of ")


@pytest.mark.parametrize(
    "options",
    [{"length": 0}, {"temperature": -2.0}, {"top_k": 0}, {"seed": 2**64}, {"beam": 2, "length": 0}],
)
def test_bad_sampling_options_are_refused_before_the_prime_is_passed_on(
    tiny_config, tmp_path, options
):
    """``sample_run`` handed ``on_text`` the prime before the generator checked its options."""
    train(tiny_config(**{"trainer.max_steps": 4}), tmp_path / "r")
    pieces = []
    with pytest.raises((ValueError, RuntimeError)):
        sample_run(tmp_path / "r", "ROMEO", **{"length": 5, **options}, on_text=pieces.append)
    assert pieces == []
