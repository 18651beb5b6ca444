"""Using a finished (or stopped) captioning run: load it, caption an image, evaluate it.

    caption_file("runs/emoji", "cat.png", beam=3)              # {"caption": "cat face", ...}
    caption_file("runs/emoji", "cat.png", temperature=0.8, seed=1)       # a sampled caption
    evaluate_run("runs/emoji")                                 # BLEU / chrF, greedy and beam

``caption_file`` needs only the run directory (``config.json``, ``vocab.json``, a
checkpoint); ``evaluate_run`` also reloads the run's images and checks they are the ones it
was trained on. An image of any size is made RGB on white and 64x64, as in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.captions import PARTS, read_rgb
from rnnkit.data.image_files import open_image
from rnnkit.data.vocab import Vocab
from rnnkit.models.captioner import Captioner
from rnnkit.tasks import encoder_decoder
from rnnkit.tasks.caption import TASK_NAME, CaptionTask, attention_map, reload_data
from rnnkit.tasks.caption_tensors import (
    caption_ids,
    check_vocab,
    decode_caption,
    image_tensor,
)
from rnnkit.tasks.encoder_decoder import LoadedRun
from rnnkit.training import run_dir as layout


def read_vocab(run_dir: Path, config) -> Vocab:
    vocab = Vocab.load(run_dir / layout.VOCAB)
    check_vocab(vocab)
    return vocab


def load_run(run_dir: str | Path, checkpoint: str = "best") -> LoadedRun:
    """The model of checkpoint ``best`` (``last`` when the run has no best yet) or ``last``."""
    return encoder_decoder.load_run(run_dir, checkpoint, TASK_NAME, Captioner, read_vocab)


def read_image_file(path: str | Path, size: int) -> np.ndarray:
    """An image file as (size, size, 3) uint8 RGB (transparency on white)."""
    path = _image_path(path)
    return read_rgb(path.read_bytes(), str(path), size)


def check_image_file(path: str | Path) -> None:
    """Open and decode the image file ``path`` as :func:`caption_file` does, so that a
    missing, unreadable or damaged one is a ValueError before any image is captioned."""
    path = _image_path(path)
    open_image(path.read_bytes(), str(path), "RGBA")


def _image_path(path: str | Path) -> Path:
    path = Path(path).expanduser()  # a quoted "~/cat.png" reaches rnnkit unexpanded
    if not path.is_file():
        raise ValueError(f"no image file {path}")
    return path


def caption_file(
    run_dir: str | Path,
    image_path: str | Path,
    *,
    beam: int | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    max_length: int | None = None,
    length_penalty: float | None = None,
    attention_png: str | Path | None = None,
    checkpoint: str = "best",
    model=None,
) -> dict:
    """Caption one image (with ``model``, the run's weights elsewhere: its ONNX export, in
    place of the checkpoint's): beam search with ``beam`` beams (1: greedy), or, with
    ``temperature``, a caption sampled by ``rnnkit.generation.generate`` (0: greedy).
    ``beam``, ``max_length`` and ``length_penalty`` left None are the run's own (the ones
    its test split was scored with). ``attention_png`` draws where an attention model
    looked for each word."""
    run = load_run(run_dir, checkpoint)
    if model is not None:
        run.model = model
    model, decoding = run.model, run.config.decoding
    pixels = read_image_file(image_path, model.image_size)
    image = image_tensor(pixels[None])[0]  # (3, H, W)
    beam = decoding.beam_size if beam is None else beam
    max_length = max_length or decoding.max_length
    length_penalty = decoding.length_penalty if length_penalty is None else length_penalty
    if temperature is None:
        ids = caption_ids(model, image, max_length, beam, length_penalty)
        method = "greedy" if beam == 1 else f"beam {beam}"
    else:
        ids = caption_ids(model, image, max_length, temperature=temperature, seed=seed)
        method = f"sampled at temperature {temperature}"
    result = {
        "image": str(image_path),
        "caption": decode_caption(run.vocab, ids),
        "method": method,
        "ids": ids,
        "run_dir": str(run.run_dir),
        "checkpoint": run.checkpoint,
        "steps": run.step,
    }
    if attention_png is not None:
        title = Path(image_path).name
        result["attention_png"] = str(draw_attention(run, pixels, ids, attention_png, title))
    return result


def draw_attention(run: LoadedRun, pixels: np.ndarray, ids: list[int], path, title) -> Path:
    """Where an attention run's model looked for each word of ``ids`` over the image."""
    conditioning = run.model.config.conditioning
    if conditioning != "attention":
        raise ValueError(f"--attention-png needs an attention run; this one is {conditioning}")
    return attention_map(run.model, run.vocab, pixels, ids, path, title)


def evaluate_run(run_dir: str | Path, split: str = "test", checkpoint: str = "best") -> dict:
    """Loss, BLEU and chrF of greedy and beam captions on ``split`` of the run's data."""
    encoder_decoder.check_split(split, PARTS)
    run = load_run(run_dir, checkpoint)
    data = reload_data(run.record["data"])
    head = encoder_decoder.evaluation_head(run, split, data.name)
    scores = CaptionTask(run.config, data, run.vocab).score(run.model, split)
    return {**head, "conditioning": run.model.config.conditioning, **scores}
