"""The studio's Predict view: what a translation, classification or tagging run says about
the user's text, with what the lectures draw beside it.

    translation(run, "In the beginning ...", beam=5)  # the words and the attention weights
    classification(run, "Nakamura")     # the top labels, and how they change character by
                                        # character (or word by word) as the input is read
    tagging(run, "I met Ann in Oslo .")  # each token's tag, its probability, the entities

Each takes a run loaded by its task's ``load_run`` and returns plain JSON-ready values.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import torch

from rnnkit.data.captions import read_rgb
from rnnkit.tasks import caption, classify_runs, seq2seq_runs, tag_runs
from rnnkit.tasks.caption_tensors import caption_ids, decode_caption, image_tensor

MAX_INPUT = 300  # characters of input a request may give
MAX_BEAM = 10
TOP = 5


def check_input(text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError('give the input as {"text": "..."}, not empty')
    if len(text) > MAX_INPUT:
        raise ValueError(f"the input has {len(text)} characters; at most {MAX_INPUT}")
    return text


def translation(run, sentence: str, beam: int = 5) -> dict:
    """The translation, the source tokens as the model read them, and the attention
    weights (one row per output token and ``<eos>``, one column per source token)."""
    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= MAX_BEAM:
        raise ValueError(f"beam must be an integer in 1..{MAX_BEAM}, got {beam!r}")
    said = seq2seq_runs.translate(run, check_input(sentence), beam_size=beam)
    outputs = [run.vocab.target.itos[i] for i in said.ids] + ["<eos>"]
    weights = None if said.weights is None else np.round(said.weights.astype(float), 4).tolist()
    return {
        "text": said.text,
        "source": said.source_tokens,
        "output": outputs,
        "unknown": said.unknown_words,
        "weights": weights,
    }


def classification(run, text: str) -> dict:
    """The top labels of the whole input, and the top label's probability after each prefix
    (each character, or each word for a word-level run): how the decision builds up."""
    text = check_input(text)
    if run.encoder.kind == "vectors":
        raise ValueError("this run classifies sequences of vectors, not text")
    ranked = classify_runs.predict(run, [text], top=TOP)[0]
    pieces = list(text) if run.encoder.level == "char" else text.split()
    glue = "" if run.encoder.level == "char" else " "
    prefixes = [glue.join(pieces[: k + 1]) for k in range(len(pieces))]
    steps = classify_runs.predict(run, prefixes, top=len(run.meta["classes"]))
    classes = [label for label, _ in ranked[:3]]
    by_step = [dict(step) for step in steps]
    return {
        "labels": [[label, round(p, 6)] for label, p in ranked],
        "pieces": pieces,
        "evolution": {c: [round(step[c], 6) for step in by_step] for c in classes},
    }


def tagging(run, text: str) -> dict:
    """Each token with its tag, the tag's probability and the next likeliest; the entities."""
    said = tag_runs.tag(run, [check_input(text)], top=3)[0]
    return {
        "tokens": [
            {"token": token, "tag": tag, "top": [[t, round(p, 6)] for t, p in ranked]}
            for (token, tag), ranked in zip(said.pairs, said.ranked, strict=True)
        ],
        "entities": said.entities,
    }


def captioning(run, body: dict, test_images: dict) -> dict:
    """A caption of test image ``body["test_index"]`` of the run's data (``test_images``
    caches them per run) or of ``body["image"]`` (a PNG as base64), with each word's
    attention over the image for an attention run: ``weights[word]`` is one row of the
    image's grid of positions, to lay over the picture."""
    pixels = caption_image(run, body, test_images)
    model, decoding = run.model, run.config.decoding
    image = image_tensor(pixels[None])[0]  # (3, H, W)
    with torch.no_grad():
        ids = caption_ids(model, image, decoding.max_length, decoding.beam_size,
                          decoding.length_penalty)  # fmt: skip
    weights = None
    if model.config.conditioning == "attention":
        with torch.no_grad():
            grid = model.attention_weights(image, caption.START_ID, ids)  # (T, S)
        side = int(round(grid.shape[1] ** 0.5))
        weights = np.round(grid.reshape(len(ids), side, side).double().numpy(), 4).tolist()
    return {
        "caption": decode_caption(run.vocab, ids),
        "words": [run.vocab.itos[i] for i in ids],
        "weights": weights,
        "image": "data:image/png;base64," + _png(pixels),
        "tests": len(test_images.get("pixels", [])),
    }


def caption_image(run, body: dict, test_images: dict) -> np.ndarray:
    """The PNG of ``body["image"]`` (base64), or else test image ``body["test_index"]``
    (default 0) of the run's data, (H, W, 3) uint8."""
    if "image" in body:
        try:
            data = base64.b64decode(body["image"], validate=True)
        except (ValueError, TypeError):
            raise ValueError("image must be a base64-encoded PNG") from None
        return read_rgb(data, "the image given", run.model.image_size)
    index = body.get("test_index", 0)
    if "pixels" not in test_images:
        data = caption.reload_data(run.record["data"])
        test_images["pixels"] = data.images[data.splits["test"]]
    count = len(test_images["pixels"])
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise ValueError(f"test_index must be in 0..{count - 1}, got {index!r}")
    return test_images["pixels"][index]


def _png(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
