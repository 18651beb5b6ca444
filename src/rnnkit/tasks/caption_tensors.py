"""Captions and images as tensors, and the captioner's decoding of one image.

A caption is lowercase words; the vocabulary is built on the training captions only::

    id 0 <unk>   1 <pad>   2 <start>   3 <end>   4.. the words, sorted

Teacher forcing reads ``<start> w_1 .. w_n`` and predicts ``w_1 .. w_n <end>``; decoding
starts from ``<start>`` and never emits ``<unk>``, ``<pad>`` or ``<start>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from rnnkit.data.vocab import Vocab
from rnnkit.generation.beam_search import beam_search
from rnnkit.generation.decoding import search_penalty
from rnnkit.generation.sampling import evaluating, generate
from rnnkit.models.captioner import Captioner

SPECIALS = ("<pad>", "<start>", "<end>")
UNK_ID, PAD_ID, START_ID, END_ID = 0, 1, 2, 3
NEVER_GENERATED = (UNK_ID, PAD_ID, START_ID)


def build_vocab(captions: Iterable[str], min_count: int = 1) -> Vocab:
    """``<unk> <pad> <start> <end>`` and the training captions' words seen ``min_count`` times."""
    counts: dict[str, int] = {}
    for caption in captions:
        for word in caption.split():
            counts[word] = counts.get(word, 0) + 1
    words = sorted(word for word, count in counts.items() if count >= min_count)
    return Vocab([*SPECIALS, *words], level="word")


def check_vocab(vocab: Vocab) -> None:
    if vocab.itos[1:4] != list(SPECIALS):
        raise ValueError(f"not a caption vocabulary: ids 1-3 must be {', '.join(SPECIALS)}")


def encode_caption(vocab: Vocab, caption: str) -> list[int]:
    return [vocab.stoi.get(word, UNK_ID) for word in caption.split()]


def decode_caption(vocab: Vocab, ids: Sequence[int]) -> str:
    """The words of ``ids`` up to ``<end>`` (not included)."""
    words = []
    for index in ids:
        if index == END_ID:
            break
        words.append(vocab.itos[index])
    return " ".join(words)


def foreground_fractions(image: np.ndarray, positions: int) -> torch.Tensor:
    """(S,) float: the fraction of pixels of ``image`` (H, W, 3) uint8 that are not white
    (any channel below 250) under each of a square grid of ``S`` positions, row by row."""
    grid = int(round(positions**0.5))
    height, width, _ = image.shape
    foreground = torch.from_numpy((image < 250).any(axis=2).astype(np.float32))  # (H, W)
    cells = foreground.reshape(grid, height // grid, grid, width // grid)  # (g, H/g, g, W/g)
    return cells.mean(dim=(1, 3)).flatten()  # (S,)


def image_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


def shift_images(images: np.ndarray, moves: np.ndarray, fill: int = 255) -> np.ndarray:
    """Each image (N, H, W, 3) moved by ``moves[n] = (dy, dx)`` pixels (down, right); pixels
    moved out are dropped, the uncovered border is ``fill`` (white)."""
    count, height, width, _ = images.shape
    reach = int(np.abs(moves).max()) if len(moves) else 0
    padded = np.full((count, height + 2 * reach, width + 2 * reach, 3), fill, images.dtype)
    padded[:, reach : reach + height, reach : reach + width] = images
    out = np.empty_like(images)
    for n, (dy, dx) in enumerate(moves.tolist()):
        top, left = reach - dy, reach - dx  # the window whose corner lands on (0, 0)
        out[n] = padded[n, top : top + height, left : left + width]
    return out


def teacher_forcing_batch(rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``<start> w_1 .. w_n`` and targets ``w_1 .. w_n <end>``, both (T, N), padded
    with ``<pad>`` to the longest caption."""
    steps = max(len(row) for row in rows) + 1
    inputs = torch.full((steps, len(rows)), PAD_ID, dtype=torch.long)
    targets = torch.full((steps, len(rows)), PAD_ID, dtype=torch.long)
    for n, row in enumerate(rows):
        inputs[: len(row) + 1, n] = torch.tensor([START_ID, *row])
        targets[: len(row) + 1, n] = torch.tensor([*row, END_ID])
    return inputs, targets


@torch.no_grad()
def caption_ids(
    model: Captioner,
    image: torch.Tensor,
    max_length: int,
    beam_size: int = 1,
    length_penalty: float = 0.0,
    temperature: float | None = None,
    seed: int | None = None,
) -> list[int]:
    """The caption of one image (``image`` (3, H, W)) from the decoder's start state: beam
    search (``rnnkit.generation.beam_search``) with ``beam_size`` beams and GNMT's
    ``length_penalty``, or, with ``temperature``, a sample (``rnnkit.generation.generate``;
    0: greedy). Its ids, ending with ``<end>`` if it came."""
    with evaluating(model):
        state = model.start_state(image.unsqueeze(0))
        if temperature is None:
            return beam_search(
                model.decoder,
                [START_ID],
                max_length,
                beam_size=beam_size,
                length_penalty=search_penalty(beam_size, length_penalty),
                eos_id=END_ID,
                state=state,
                suppress_ids=NEVER_GENERATED,
            ).ids
        ids = generate(
            model.decoder,
            [START_ID],
            max_length,
            temperature=temperature,
            seed=seed,
            state=state,
            suppress_ids=NEVER_GENERATED,
        )
    return ids[: ids.index(END_ID) + 1] if END_ID in ids else ids
