"""Using a finished (or stopped) character-LM run: load it, evaluate it, sample from it.

Everything comes from the run directory: ``config.json``, ``vocab.json`` and a checkpoint.
Loading goes through the same ``load_checkpoint`` as ``--resume`` and never unpickles.

    sample_run("runs/charlm-lstm", prime="ROMEO:", length=500, temperature=0.8, seed=1)
    evaluate_run("runs/charlm-lstm")                       # the run's test split
    evaluate_run("runs/charlm-lstm", data="other.txt")     # a whole file or directory
    evaluate_run("runs/charlm-lstm", data="other.txt", encoding="latin-1")  # read as Latin-1
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.encoding import count_id
from rnnkit.data.provenance import scan_corpus
from rnnkit.data.token_cache import token_file
from rnnkit.data.vocab import Vocab
from rnnkit.generation.beam_search import beam_search
from rnnkit.generation.sampling import generate
from rnnkit.models.language_model import LanguageModel
from rnnkit.tasks import lifecycle
from rnnkit.tasks.charlm import SPEC, mean_loss, model_from_record, prime_ids
from rnnkit.tasks.charlm_config import CharLMConfig
from rnnkit.training import run_dir as layout
from rnnkit.training.threads import one_thread

SPLITS = ("val", "test")


@dataclass
class LoadedRun:
    """A run's model (eval mode, on the CPU) with what it needs to read and write text."""

    run_dir: Path
    record: dict
    config: CharLMConfig
    vocab: Vocab
    model: LanguageModel
    checkpoint: str  # "best" or "last"
    step: int


def load_run(run_dir: str | Path, checkpoint: str = "best") -> LoadedRun:
    """The model of checkpoint ``best`` or ``last``; ``best`` falls back to ``last`` when the
    run stopped before its first evaluation."""
    opened, model = lifecycle.open_model(run_dir, checkpoint, "charlm", model_from_record)
    vocab = Vocab.load(opened.run_dir / layout.VOCAB)
    if model.vocab_size != len(vocab):
        raise ValueError(
            f"the checkpoint's model has {model.vocab_size} outputs but vocab.json has "
            f"{len(vocab)} symbols"
        )
    where = (opened.run_dir, opened.record, opened.config)
    return LoadedRun(*where, vocab, model, opened.checkpoint, opened.step)


def sample_run(
    run_dir: str | Path,
    prime: str = "",
    length: int = 500,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    beam: int | None = None,
    checkpoint: str = "best",
    on_text: Callable[[str], None] | None = None,
    model=None,
) -> str:
    """The prime followed by ``length`` generated characters.

    Sampling draws each character from the model's distribution (``temperature`` 0: greedy;
    ``top_k`` / ``top_p`` filter it) and calls ``on_text`` with the prime, then with each
    character as it is drawn. ``beam`` > 0 runs a beam search of that width instead (the most
    likely continuation; it ignores the sampling options) and calls ``on_text`` with the prime,
    then once with the whole continuation. ``model`` replaces the run's own (the same weights
    run elsewhere, e.g. by ONNX Runtime: ``rnnkit.export.runtime``).

    The prime is passed on only when the first character is drawn, after the generator's own
    checks of the options (a length, temperature, top-k, top-p or seed it cannot take), so a
    bad option stops the call before anything is written, not after the prime.
    """
    if beam is not None and (isinstance(beam, bool) or not isinstance(beam, int) or beam < 1):
        raise ValueError(f"beam width must be an integer >= 1, got {beam!r}")
    run = load_run(run_dir, checkpoint)
    model = run.model if model is None else model
    ids = prime_ids(run.vocab, prime)
    emit = on_text or (lambda text: None)
    start = run.vocab.decode(ids)
    with one_thread():
        if beam is not None:
            result = beam_search(model, ids, length, beam_size=beam, suppress_ids=(Vocab.unk_id,))
            continuation = run.vocab.decode(result.ids)
            emit(start)
            emit(continuation)
            return start + continuation
        unsaid = [start]  # the prime, said with the first character: after generate's checks

        def on_token(token: int) -> None:
            while unsaid:
                emit(unsaid.pop())
            emit(run.vocab.itos[token])

        generated = generate(
            model,
            ids,
            length,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            on_token=on_token,
            suppress_ids=(Vocab.unk_id,),
        )
    return start + run.vocab.decode(generated)


def evaluate_run(
    run_dir: str | Path,
    data: str | None = None,
    split: str | None = None,
    checkpoint: str = "best",
    model=None,
    encoding: str | None = None,
    decode_errors: str | None = None,
) -> dict:
    """Nats and bits per character of a run's model (or of ``model``, the same weights
    elsewhere: an ONNX export, int8 or not) on held-out text.

    Without ``data``: the run's own ``split`` (``val`` or ``test``, the default), cut from its
    recorded training text exactly as in training. With ``data``: the whole text of that file,
    directory or data set, which has no split, so ``split`` with ``data`` is a ValueError
    (it was ignored); characters outside the vocabulary count as ``<unk>``. ``encoding`` and
    ``decode_errors`` decode ``data`` (None: as the run's own); without it they are an error.
    The result's ``val_nats`` / ``val_bpc`` repeat ``nats`` / ``bpc`` under the names that
    ``train --json`` uses.
    """
    if data is not None and split is not None:
        raise ValueError(
            f"--split {split} picks a part of the run's own text; --data {data} is evaluated "
            "whole: give one or the other"
        )
    if data is None and (encoding, decode_errors) != (None, None):
        raise ValueError(
            "--encoding and --decode-errors say how the --data text is decoded; the run's own "
            "text is read as in training: give --data PATH, or leave them out"
        )
    split = "test" if split is None else split
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    run = load_run(run_dir, checkpoint)
    if data is None:
        corpus = SPEC.reopen(run.run_dir, run.record, run.config).corpus
        ids = corpus.val if split == "val" else corpus.test
        described = f"{split} split of {run.record['data']['source']}"
    else:
        ids, described = _other_text_ids(run, data, encoding, decode_errors), str(data)
    unknown = count_id(ids, run.vocab.unk_id)
    started = time.perf_counter()
    scored = run.model if model is None else model
    nats = mean_loss(scored, ids, run.config.data.batch_size, run.config.data.seq_len)
    seconds = time.perf_counter() - started
    bpc = nats / math.log(2)
    return {
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
        "data": described,
        "tokens": int(len(ids)),
        "unknown_tokens": unknown,
        "nats": nats,
        "bpc": bpc,
        "val_nats": nats,
        "val_bpc": bpc,
        "tokens_per_s": len(ids) / seconds if seconds > 0 else 0.0,
        "seconds": seconds,
    }


def _other_text_ids(run: LoadedRun, data: str, encoding: str | None, decode_errors: str | None):
    """The ids of the whole text ``data`` under the run's vocabulary (a token file), decoded
    with ``encoding`` and ``decode_errors``, or the run's own where they are None."""
    settings = run.config.data
    encoding = settings.encoding if encoding is None else encoding
    decode_errors = settings.decode_errors if decode_errors is None else decode_errors
    stream, scan, _ = scan_corpus(data, None, encoding, decode_errors)
    return token_file(stream, scan, run.vocab)
