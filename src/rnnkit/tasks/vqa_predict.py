"""Answering questions about one scene (``rnnkit predict RUN "QUESTION" --image SCENE``), and
the attention over the scene while the model reads a question, drawn as a PNG.

``SCENE`` is a test scene's number (0: the first scene of the test split) or an image file:
a PNG (read as grey levels, 0 black .. 255 white, digits bright on dark as in the data) or
a ``.npy`` array in [0, 1], of the run's scene size (3x3 cells of 8 pixels: 24x24).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnnkit.data.image_files import open_image
from rnnkit.data.vqa_scenes import POSITIONS
from rnnkit.generation.sampling import evaluating
from rnnkit.tasks.caption_tensors import decode_caption
from rnnkit.tasks.vqa_task import VQATask


def test_scenes(task: VQATask) -> list[int]:
    """The scenes of the test split, in order."""
    return [k for k, split in enumerate(task.data.scene_split) if split == "test"]


def read_scene(task: VQATask, image: str | None) -> tuple[np.ndarray, int | None]:
    """The scene's pixels (H, W) float32 in [0, 1], and its number (None for a file)."""
    if image is None:
        raise ValueError("vqa answers about a scene: give --image FILE_OR_TEST_INDEX")
    side = task.data.scenes.shape[1]
    if image.isdigit():
        scenes = test_scenes(task)
        if int(image) >= len(scenes):
            raise ValueError(f"--image {image}: the test split has scenes 0..{len(scenes) - 1}")
        k = scenes[int(image)]
        return task.data.scenes[k], k
    path = Path(image)
    if not path.is_file():
        raise ValueError(f"--image {image}: no such file, and not a test scene's number")
    if path.suffix == ".npy":
        try:
            with np.errstate(over="ignore"):  # too large for float32: infinite, refused below
                pixels = np.load(path, allow_pickle=False).astype(np.float32)
        except ValueError as error:
            raise ValueError(f"{image} is not an array of numbers: {error}") from None
    else:
        pixels = np.asarray(open_image(path.read_bytes(), image, "L"), dtype=np.float32) / 255
    if pixels.shape != (side, side):
        raise ValueError(
            f"{image}: a scene is {side}x{side} pixels for this run, got "
            f"{'x'.join(map(str, pixels.shape))}"
        )
    check_pixels(pixels, image)
    return pixels, None


def check_pixels(pixels: np.ndarray, image: str) -> None:
    """A ValueError naming ``image`` unless every pixel is a finite number in [0, 1]."""
    finite = np.isfinite(pixels)
    if not finite.all():
        raise ValueError(
            f"{image}: {int((~finite).sum())} of its {pixels.size} pixels are not finite "
            "(NaN or infinite); a scene's pixels are numbers in [0, 1]"
        )
    low, high = float(pixels.min()), float(pixels.max())
    if low < 0 or high > 1:
        raise ValueError(
            f"{image}: its pixels run from {low:g} to {high:g}; a scene's pixels are numbers in "
            "[0, 1] (0 black, 1 white: divide 0..255 grey levels by 255)"
        )


def check_question(task: VQATask, text: str) -> list[int]:
    words = text.lower().replace("?", " ?").split()
    unknown = sorted({w for w in words if w not in task.vocab.stoi or w.startswith("<")})
    if not words or unknown:
        what = f"unknown words {', '.join(map(repr, unknown))}" if unknown else "no words"
        raise ValueError(
            f"the question has {what}; questions are like 'how many sevens are there ?', "
            "'where is the five ?', 'what is at the top left ?'"
        )
    return [task.vocab.stoi[w] for w in words]


@torch.no_grad()
def answer_one(task: VQATask, model, pixels: np.ndarray, ids: list[int]) -> dict:
    """The greedy and beam answers, the region pointed at, the attention (L, R) or None."""
    from rnnkit.tasks.caption_tensors import END_ID, NEVER_GENERATED, START_ID

    scenes = torch.from_numpy(np.ascontiguousarray(pixels))[None]
    questions, lengths = torch.tensor([ids]), torch.tensor([len(ids)])
    d = task.config.decoding
    with evaluating(model):
        a, state, weights = model.read(scenes, questions, lengths)
        region = int(model.pointing(a, state).argmax(-1))
        greedy = model.greedy(state, START_ID, END_ID, d.max_length + 1, NEVER_GENERATED)[0]
        beam = task.beam_answer(model, state)
    places = POSITIONS[task.data.rules.grid]
    return {
        "answer": decode_caption(task.vocab, greedy),
        "beam_answer": decode_caption(task.vocab, beam),
        "pointed_region": places[region],
        "weights": None if weights is None else weights[0],
    }


def predict(task: VQATask, model, inputs: list[str], image=None, attention=None) -> list[dict]:
    """Each question's answers about scene ``image`` (module docstring); with ``attention``
    (a PNG path, one question) the attention over the scene while reading it."""
    pixels, scene = read_scene(task, image)
    if attention is not None and len(inputs) != 1:
        raise ValueError("--attention-map draws one question's attention; ask one question")
    out = []
    for text in inputs:
        ids = check_question(task, text)
        said = answer_one(task, model, pixels, ids)
        weights = said.pop("weights")
        row = {"question": text, **said}
        if scene is not None:
            classes = task.data.classes[scene].reshape(task.data.rules.grid, -1).tolist()
            row["scene_digits"] = classes
        if attention is not None:
            if weights is None:
                raise ValueError(
                    "--attention-map needs a run with attention; this one has --attention none"
                )
            words = [task.vocab.itos[i] for i in ids]
            row["attention_png"] = str(draw(pixels, words, weights, Path(attention), text))
        out.append(row)
    return out


def draw(pixels: np.ndarray, words: list[str], weights, path: Path, title: str) -> Path:
    """The scene under the attention of each question word's step, as a PNG."""
    from rnnkit.plots.heatmaps import plot_attention_map

    grey = (np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    return plot_attention_map(np.repeat(grey[..., None], 3, axis=2), words, weights, path, title)


def draw_attention_examples(model, task: VQATask, folder: Path) -> list[Path]:
    """``attention-test-<k>.png``: the first ``decoding.heatmaps`` test questions."""
    paths = []
    for k, i in enumerate(task.splits["test"][: task.config.decoding.heatmaps]):
        q = task.data.questions[int(i)]
        ids = task.question_ids[int(i)]
        with evaluating(model):
            (scenes, questions, lengths, _), _ = task.batch([int(i)])
            _, _, weights = model.read(scenes, questions, lengths)
        words = [task.vocab.itos[j] for j in ids]
        title = f"{q.text} ({q.answer})"
        paths.append(
            draw(
                task.data.scenes[q.scene],
                words,
                weights[0],
                folder / f"attention-test-{k}.png",
                title,
            )
        )
    return paths
