"""How the studio runs a recurrent run's model on the user's input, for the Neurons and
Gradients views: the pieces the model reads (characters or tokens), one run of its own
``forward`` (recorded step by step by ``rnnkit.diagnostics.record_steps``) and the task's own
loss on what it read, summed.

    reading = read(run, "classify", "Nakamura")
    with record_steps(run.model, reading.layer, bidirectional=True) as recording:
        output = reading.forward()
    loss = reading.loss(output, "last")

The loss is the training loss of the task against a target that the input itself gives (the
next character, for a char model), or else the model's own answer (a classifier's predicted
label, a tagger's predicted tags, a translation's own words): its gradient says which steps of
the input the answer depends on. A forecasting run reads the last window of its test part
against the real values that follow it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

LOSSES = ("last", "sum")


@dataclass
class Reading:
    """``pieces[t]``: what step ``t`` read; ``level``: ``char``, ``word`` or ``value``;
    ``layer``: the recurrent layer's name in the model; ``forward()`` runs the model once;
    ``loss(output, how)``: the summed loss, at the last step only or over every step."""

    pieces: list[str]
    level: str
    layer: str
    forward: Callable[[], object]
    loss: Callable[[object, str], Tensor]


def _charlm(run, text: str, for_loss: bool) -> Reading:
    """The characters (for the loss: all but the last, each predicting the next)."""
    ids = torch.tensor(run.vocab.encode(text), dtype=torch.long).unsqueeze(1)  # (T, 1)
    if for_loss and len(ids) < 2:
        raise ValueError("give at least 2 characters: each step predicts the next one")
    inputs, targets = (ids[:-1], ids[1:]) if for_loss else (ids, None)

    def loss(output, how: str) -> Tensor:
        logits = output[0].float()  # (T, 1, V)
        chosen, wanted = (logits[-1:], targets[-1:]) if how == "last" else (logits, targets)
        wanted = wanted.flatten().to(logits.device)
        return F.cross_entropy(chosen.flatten(0, 1), wanted, reduction="sum")

    return Reading(list(text[: len(inputs)]), "char", "recurrent", lambda: run.model(inputs), loss)


def _classify(run, text: str, for_loss: bool) -> Reading:
    """The classifier's characters or tokens; the loss: the cross-entropy of its own label."""
    if run.encoder.kind == "vectors":
        raise ValueError("this run classifies sequences of vectors, not text")
    row = run.encoder.encode(text)
    pieces = (run.encoder.tokens(text) or ["<unk>"])[: len(row)]
    inputs, lengths = run.encoder.batch([row])

    def loss(output, how: str) -> Tensor:
        logits = output[0].float()  # (1, K)
        return F.cross_entropy(logits, logits.argmax(dim=1).detach(), reduction="sum")

    forward = lambda: run.model(inputs, lengths)  # noqa: E731
    return Reading(pieces, run.encoder.level, "recurrent", forward, loss)


def _tag(run, text: str, for_loss: bool) -> Reading:
    """The tagger's words; the loss: its own training loss on its own tags, summed over the
    words or at the last word only (a CRF tagger: the sentence's negative log-likelihood)."""
    words = text.split()
    if not words:
        raise ValueError("give at least one word")
    batch = run.encoder.batch([run.encoder.encode(words)])

    def loss(output, how: str) -> Tensor:
        logits = output[0].float()  # (1, T, K)
        _, tags = run.model.decode(logits.detach(), batch["lengths"])  # (1, T)
        if run.model.crf is not None:  # the sentence's negative log-likelihood
            device = next(run.model.crf.parameters()).device  # the studio's --device
            mask = torch.ones_like(tags, dtype=torch.bool, device=device)
            return -run.model.crf.log_likelihood(logits.to(device), tags.to(device), mask).sum()
        if how == "last":
            logits, tags = logits[:, -1:], tags[:, -1:]
        return F.cross_entropy(logits[0], tags[0].to(logits.device), reduction="sum")

    return Reading(words, "word", "recurrent", lambda: run.model(**batch), loss)


def _seq2seq(run, text: str, for_loss: bool) -> Reading:
    """The encoder's source words; the loss: the cross-entropy of the model's own greedy
    translation (teacher-forced), summed over its words (``last``: its final ``<eos>``)."""
    from rnnkit.tasks.seq2seq_runs import translate

    vocabs = run.vocab
    source = torch.from_numpy(vocabs.encode_source(text)).unsqueeze(0)  # (1, S)
    lengths = torch.tensor([source.shape[1]])
    pieces = [vocabs.source.itos[i] for i in source[0].tolist()]
    if not for_loss:
        return Reading(pieces, "word", "encoder", lambda: run.model.encode(source, lengths), None)
    said = translate(run, text, beam_size=1)
    target = torch.tensor([[run.model.bos_id, *said.ids, run.model.eos_id]])  # (1, n + 2)

    def loss(output, how: str) -> Tensor:
        logits = output[0].float()[0]  # (n + 1, V)
        wanted = target[0, 1:].to(logits.device)
        if how == "last":
            logits, wanted = logits[-1:], wanted[-1:]
        return F.cross_entropy(logits, wanted, reduction="sum")

    forward = lambda: run.model(source, lengths, target)  # noqa: E731
    return Reading(pieces, "word", "encoder", forward, loss)


def _forecast(run, text: str, for_loss: bool) -> Reading:
    """The last window of the test part (and, for a recursive model, its horizon fed in as
    in training), against the values that follow: the task's own squared error, summed."""
    task = run.task
    origin = task.origins("test")[-1:]
    inputs, targets = task.batch(origin)  # (1, T) each, as in training
    labels = task.series.times or [str(i) for i in range(len(task.series.values))]
    first = int(origin[0]) - task.window
    pieces = [labels[first + t] for t in range(inputs.shape[1])]

    def loss(output, how: str) -> Tensor:
        predictions = output[0].float()  # (1, H) or (1, T)
        wanted = targets.to(predictions.device)
        if how == "last" and task.mode == "recursive":
            predictions, wanted = predictions[:, -1:], wanted[:, -1:]
        return ((predictions - wanted) ** 2).sum()

    return Reading(pieces, "value", "core", lambda: run.model(inputs), loss)


READERS = {
    "charlm": _charlm,
    "classify": _classify,
    "tag": _tag,
    "seq2seq": _seq2seq,
    "forecast": _forecast,
}
TEXT_TASKS = ("charlm", "classify", "tag", "seq2seq")


def read(run, task: str, text: str, for_loss: bool = False) -> Reading:
    """How ``run`` (loaded by its task's ``load_run``) reads ``text`` (see the module
    docstring); ``for_loss``: with the loss of the Gradients view."""
    return READERS[task](run, text, for_loss)


def check_loss(how: object) -> str:
    if how not in LOSSES:
        raise ValueError(f"loss must be last or sum, got {how!r}")
    return how
