"""The character language model as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.charlm import train
    from rnnkit.tasks.charlm_config import resolve_config
    result = train(resolve_config("quick"), "runs/charlm-lstm")   # -> RunResult

The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: the training text as ``B`` streams served in chunks of ``T`` steps
  (``TokenStreams``; the picture is in ``rnnkit.data.batching``), from any global step;
- ``training_step``: truncated BPTT. The state the previous chunk ended with is the initial
  state of this one, detached (``detach_state``), so gradients flow back at most ``T`` steps
  while the forward pass carries information along the whole stream. At the start of an epoch
  (``batch.index == 0``) the streams restart from their first character and so does the state;
- ``evaluate``: the mean cross-entropy over the validation text, read the same way with the
  state carried across chunks, in nats per character and bits per character
  (``bpc = nats / ln 2``);
- ``sample``: text generated from the model (the state carried one character at a time).
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.batching import TokenStreams, detach_state, split_contiguous
from rnnkit.data.encoding import EncodedCorpus, encode_scanned
from rnnkit.data.provenance import scan_corpus, scan_recorded_corpus
from rnnkit.data.vocab import Vocab
from rnnkit.diagnostics.language_model import language_model_diagnostics
from rnnkit.generation.sampling import generate
from rnnkit.models.language_model import LanguageModel, LanguageModelConfig
from rnnkit.tasks import lifecycle
from rnnkit.tasks.charlm_config import CharLMConfig, DataConfig
from rnnkit.tasks.spec import RunResult, TaskSpec, parameter_count
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.threads import ThreadTuner

logger = logging.getLogger(__name__)

TASK_NAME = "charlm"


class CharLMTask:
    """Hooks for the ``Trainer``: next-character prediction with truncated BPTT."""

    eval_metric = "val_nats"
    loss_unit = "nats/char"
    batch_dim = 1  # the streams' batches are time-major (T, B)
    even_shares = True  # under torchrun, each rank carries the state of B/N streams

    def __init__(self, config: CharLMConfig, corpus: EncodedCorpus, source: dict | None = None):
        self.config = config
        self.corpus = corpus
        self.source = source  # where the text came from (config.json's "data")
        self.vocab = corpus.vocab
        self.streams = TokenStreams(
            torch.from_numpy(corpus.train), config.data.batch_size, config.data.seq_len
        )
        self.prime_ids = prime_ids(self.vocab, config.sampling.prime, TRAINING_VOCAB)

    def build_model(self) -> LanguageModel:
        return LanguageModel(self.config.model, len(self.vocab))

    def train_batches(self, start_step: int):
        return self.streams.batches(start_step)

    def training_step(self, model: LanguageModel, batch, carry) -> StepOutput:
        state = None if batch.index == 0 else carry  # a new epoch restarts every stream
        _, loss, state = model(batch.inputs, batch.targets, state)
        return StepOutput(loss, detach_state(state), batch.targets.numel())

    def evaluate(self, model: LanguageModel) -> dict[str, float]:
        nats = mean_loss(
            model, self.corpus.val, self.config.data.batch_size, self.config.data.seq_len
        )
        return {"val_nats": nats, "val_bpc": nats / math.log(2)}

    def sample(self, model: LanguageModel) -> str:
        sampling = self.config.sampling
        ids = generate(
            model,
            self.prime_ids,
            sampling.length,
            temperature=sampling.temperature,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            seed=sampling.seed,
            suppress_ids=(Vocab.unk_id,),
        )
        return self.vocab.decode(self.prime_ids + ids)

    def data_position(self, step: int) -> dict:
        epoch, chunk = self.streams.position(step)
        return {"epoch": epoch, "chunk": chunk, "chunks_per_epoch": len(self.streams)}

    def checkpoint_metadata(self) -> dict:
        return {
            "name": TASK_NAME,
            "model": self.config.model.to_dict(len(self.vocab)),
            "vocab": {"level": self.vocab.level, "symbols": self.vocab.symbols},
        }


def model_from_record(record: dict) -> LanguageModel:
    """The model a checkpoint's ``model`` record (``checkpoint_metadata``) describes."""
    return LanguageModel(*LanguageModelConfig.from_dict(record))


def mean_loss(model: LanguageModel, ids: np.ndarray, batch_size: int, seq_len: int) -> float:
    """Mean cross-entropy (nats per token) of ``model`` over the token sequence ``ids``.

    The text is laid out as streams, like the training text, with the state carried from chunk
    to chunk, so each character is predicted from everything before it in its stream. Fewer
    streams are used when the text is short (each gets at least ``seq_len + 1`` tokens if it
    can); the first token of each stream and the < B tokens left over are not scored.
    """
    if len(ids) < 2:
        raise ValueError(f"{len(ids)} token(s) are too few to evaluate; give more text")
    streams_count = max(1, min(batch_size, len(ids) // (seq_len + 1)))
    streams = TokenStreams(torch.from_numpy(np.asarray(ids)), streams_count, seq_len)
    was_training, threads = model.training, torch.get_num_threads()
    tuner = ThreadTuner(interval=3.0, probe=4)  # a shared CPU can make 2 threads 5x slower
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        with torch.no_grad():
            for inputs, targets in streams.chunks():
                started = time.perf_counter()
                _, loss, state = model(inputs, targets, state)
                total += float(loss) * targets.numel()
                count += targets.numel()
                tuner.after_step(time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)
        model.train(was_training)
    return total / count


RUN_VOCAB = "see vocab.json in the run directory"
TRAINING_VOCAB = "the vocabulary is the training text's characters; give a --prime made of them"


def prime_ids(vocab: Vocab, prime: str, where: str = RUN_VOCAB) -> list[int]:
    """The ids of ``prime``; "" means a newline (or the first symbol if there is none).

    A prime with characters the vocabulary lacks is a ValueError that lists them and ends with
    ``where``: where to find the characters the model knows (a new run has no run directory
    yet, so its task says ``TRAINING_VOCAB``).
    """
    if prime == "":
        return [vocab.stoi["\n"] if "\n" in vocab.stoi else 1]
    unknown = vocab.unknown_symbols(prime)
    if unknown:
        raise ValueError(
            f"the prime has {len(unknown)} character(s) not in the run's vocabulary: "
            f"{', '.join(repr(c) for c in unknown)} (the model knows {len(vocab) - 1} "
            f"characters; {where})"
        )
    return vocab.encode(prime)


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: CharLMConfig, text: str | None) -> CharLMTask:
    """The task on the config's text (``text`` is not taken: a char model's data is its
    recorded source), the vocabulary built on the whole text."""
    if text is not None:
        raise ValueError("a character model reads its text from config.data.source")
    data = config.data
    stream, scan, source = scan_corpus(
        data.source, data.max_chars, data.encoding, data.decode_errors
    )
    if scan.undecodable:
        logger.warning(
            "%s: %d character(s) could not be decoded as %s (--decode-errors %s)",
            data.source,
            scan.undecodable,
            data.encoding,
            data.decode_errors,
        )
    corpus = encode_scanned(stream, scan, data.split)
    check_parts(corpus, config.data)
    return CharLMTask(config, corpus, source)


def check_parts(corpus: EncodedCorpus, data: DataConfig) -> None:
    """Refuse a text whose parts are too short for a run, while nothing is written yet.

    Training needs ``B`` streams of at least 2 characters (an input and its target); each
    evaluation scores the validation part, and ``rnnkit evaluate`` the test part, which need
    2 characters each for the same reason. Found only at the first evaluation, a short part
    stopped a run that had already trained, and left its directory half made.
    """
    parts = (corpus.train, corpus.val, corpus.test)
    total = sum(len(part) for part in parts)
    least = (2 * data.batch_size, 2, 2 if data.split[2] > 0 else 0)
    purposes = (f"for --batch-size {data.batch_size}", "to evaluate", "to evaluate")
    for index, name in enumerate(("training", "validation", "test")):
        if len(parts[index]) >= least[index]:
            continue
        if data.split[index] == 0:
            remedy = f"give it a share of the split {data.split}"
        else:
            longer = "a larger --max-chars" if data.max_chars == total else "a longer text"
            remedy = f"give {longer}: at least {_text_needed(data.split, least):,} characters"
        raise ValueError(
            f"{data.source}: the {name} part of the text is {len(parts[index]):,} character(s) "
            f"({data.split[index]:g} of {total:,}), too few {purposes[index]}: it needs at "
            f"least {least[index]:,}; {remedy}"
        )


def _text_needed(fractions, least) -> int:
    """The length of the shortest text whose parts have ``least`` tokens each (or more)."""
    length = max(int((n - 1) / f) for n, f in zip(least, fractions, strict=True) if f > 0)
    while not _parts_hold(length, fractions, least):
        length += 1  # each part is about length * fraction: a few steps at most
    return length


def _parts_hold(length: int, fractions, least) -> bool:
    try:
        parts = split_contiguous(range(length), fractions)
    except ValueError:  # a part would be empty
        return False
    return all(len(part) >= n for part, n in zip(parts, least, strict=True))


def reopen(run_dir: Path, record: dict, config: CharLMConfig) -> CharLMTask:
    vocab = Vocab.load(run_dir / layout.VOCAB)
    stream, scan = scan_recorded_corpus(record["data"], config.data.max_chars)
    corpus = encode_scanned(stream, scan, config.data.split, vocab)
    return CharLMTask(config, corpus, record["data"])


def check_record(run_dir: Path, record: dict) -> None:
    if "engine" not in record:
        raise ValueError(
            f"{run_dir}/config.json names no engine (every run of rnnkit train charlm records "
            "one): the file is incomplete or was not written by rnnkit"
        )
    if record["engine"] != "torch":
        raise ValueError(
            f"{run_dir} was trained with --engine {record['engine']}; it has metrics and a "
            "sample but no checkpoint to resume, sample or evaluate"
        )


def describe(task: CharLMTask, model: torch.nn.Module, run_dir: Path, baselines: dict) -> str:
    config, m = task.config, task.config.model
    return (
        f"run {run_dir}: {m.num_layers}x{m.hidden_size} {m.cell}, {m.embedding} embedding, "
        f"{parameter_count(model) / 1e6:.2f}M parameters; {len(task.corpus.train):,} training "
        f"characters, vocabulary {len(task.vocab)}; batch {config.data.batch_size} x seq "
        f"{config.data.seq_len}, {config.optimizer.name} lr {config.optimizer.lr:g}, "
        f"{config.trainer.precision}{undecodable_note(task.source)}"
    )


def undecodable_note(source: dict | None) -> str:
    """ "; N undecodable characters replaced" (or skipped) when the text had some."""
    count = (source or {}).get("undecodable", 0)
    if not count:
        return ""
    done = "replaced by U+FFFD" if source["decode_errors"] == "replace" else "skipped"
    return f"; {count:,} undecodable character(s) {done}"


def diagnostics_callbacks(task: CharLMTask) -> list:
    """``--diagnose-every N``: gradient flow, W_hh spectra and gate saturation logged every N
    steps, on a fixed batch of the validation text (``rnnkit.diagnostics``)."""
    settings = task.config.diagnostics
    if not settings.every:
        return []
    callback = language_model_diagnostics(
        task.corpus.val,
        settings.every,
        seq_len=settings.seq_len,
        batch_size=settings.batch_size,
        loss=settings.loss,
    )
    return [callback]


def summary(result: RunResult) -> dict:
    train, best = result.train, result.train.best_metric
    return {
        "run_dir": str(train.run_dir),
        "steps": train.steps,
        "tokens_per_s": train.tokens_per_s,
        "precision": train.precision,
        "val_nats": best,
        "val_bpc": best / math.log(2) if best is not None else None,
        "best_step": train.best_step,
        "last_val_nats": train.metrics.get("val_nats"),
        "stop_reason": train.stop_reason,
        "tokens": train.tokens,
        "train_seconds": train.train_seconds,
        "elapsed_s": train.elapsed,
        "clip_fraction": train.clip_fraction,
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="character-level language model (Shakespeare by default)",
    config_class=CharLMConfig,
    prepare=prepare,
    reopen=reopen,
    record=lambda task: {"engine": "torch", "data": task.source},
    save=lambda task, run_dir: task.vocab.save(run_dir / layout.VOCAB),
    run_name=lambda task: task.config.model.cell,
    check_record=check_record,
    callbacks=diagnostics_callbacks,
    describe=describe,
    summary=summary,
    export="rnnkit.export.charlm",
)


def train(config: CharLMConfig, run_dir=None, *, preset: str | None = None, **options):
    """Train a new character model into ``run_dir`` (default ``runs/charlm-<cell>-<time>``);
    ``preset`` is only recorded in ``config.json``. Returns a ``RunResult``."""
    return lifecycle.train(SPEC, config, run_dir, notes={"preset": preset}, **options)


def resume(run_dir, **options) -> RunResult:
    """Continue a character-model run from its last checkpoint (``lifecycle.resume``)."""
    return lifecycle.resume(run_dir, task=TASK_NAME, **options)
