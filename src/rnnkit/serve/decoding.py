"""How the Neurons and Gradients views read a caption run: its decoder writing a caption the
user gives, teacher-forced, for one image.

    reading = read(run, "red circle", pixels)       # steps: <start>, red, circle
    recording, logits = reading.record()            # every step's (h, c), as the model ran

The decoder is one cell that the captioner steps itself (``CaptionDecoder.step_with_weights``:
the word's embedding, beside the image's attention context or vector, into the cell), so there
is no recurrent layer for ``rnnkit.diagnostics.record_steps`` to swap; the recording is made
here from that same step, one word at a time: the state each step hands to the next, and the
cell's input at each step (taken as the cell projects it). The loss of the Gradients view is
the task's own: the cross-entropy of each next word of the caption and of its final
``<end>`` (``last``: the ``<end>``'s only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.diagnostics.recording import Recording
from rnnkit.nn import StepStates
from rnnkit.nn.recurrence import cell_output
from rnnkit.serve.reading import Reading
from rnnkit.tasks.caption_tensors import END_ID, START_ID, encode_caption, image_tensor


def record_decoder(model, images: Tensor, inputs: Tensor) -> tuple[Recording, Tensor]:
    """The decoder of ``model`` (a ``Captioner``) teacher-forced on ``inputs`` (T, 1) for
    ``images`` (1, 3, H, W): its recording and its logits (T, 1, V)."""
    decoder = model.decoder
    cell, device = decoder.cell, next(model.parameters()).device
    state = model.start_state(images.to(device))
    initial = state.h if state.c is None else (state.h, state.c)
    seen: list[Tensor] = []
    project, before = cell.project_input, cell.__dict__.get("project_input")

    def projected(x: Tensor) -> Tensor:  # the cell's input at this step
        seen.append(x)
        return project(x)

    cell.project_input = projected
    steps, logits = [], []
    try:
        for tokens in inputs.to(device):
            step_logits, state, _ = decoder.step_with_weights(tokens, state)
            steps.append(state.h if state.c is None else (state.h, state.c))
            logits.append(step_logits)
    finally:
        if before is None:
            del cell.project_input  # the class's method is visible again
        else:
            cell.project_input = before
    recording = Recording("decoder", [cell], torch.stack(seen), [initial])
    recording.steps = StepStates([steps], [cell_output(cell)])
    return recording, torch.stack(logits)


def read(run, text: object, pixels, for_loss: bool = False) -> Reading:
    """The decoder of ``run`` (``caption_runs.load_run``) writing caption ``text`` for the
    image ``pixels`` (H, W, 3): what each step reads is ``<start>`` and then the caption's
    words (``<unk>`` for one it never saw)."""
    if not isinstance(text, str) or not text.split():
        raise ValueError('give a caption to trace as {"text": "..."}: its words')
    ids = encode_caption(run.vocab, text)
    inputs = torch.tensor([START_ID, *ids]).unsqueeze(1)  # (T, 1)
    targets = torch.tensor([*ids, END_ID])  # (T,)
    pieces = [run.vocab.itos[i] for i in inputs[:, 0].tolist()]
    images = image_tensor(pixels[None])

    def loss(logits: Tensor, how: str) -> Tensor:
        scores, wanted = logits[:, 0].float(), targets.to(logits.device)
        if how == "last":
            scores, wanted = scores[-1:], wanted[-1:]
        return F.cross_entropy(scores, wanted, reduction="sum")

    def record() -> tuple[Recording, Tensor]:
        return record_decoder(run.model, images, inputs)

    return Reading(pieces, "word", "decoder", None, loss, record)
