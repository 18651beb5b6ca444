"""Image captioning as a task for the ``Trainer``, and ``train`` / ``resume``.

    from rnnkit.tasks.caption import train
    from rnnkit.tasks.caption_config import resolve_config
    result = train(resolve_config({"model.conditioning": "attention"}), "runs/emoji")

The images and captions come from ``rnnkit.data.captions.load_captions`` with its fixed split
by emoji; the vocabulary is built on the training captions only
(``rnnkit.tasks.caption_tensors``). The task's hooks (see ``rnnkit.training.task``):

- ``train_batches``: shuffled batches of similar caption length
  (``rnnkit.data.buckets.LengthBuckets``), each image shifted by up to ``augment_shift`` pixels
  with a generator seeded by the step, so a resumed run sees the same batches;
- ``training_step``: the mean cross-entropy per target word (``<end>`` included) under
  teacher forcing: input ``<start> w_1 .. w_n``, target ``w_1 .. w_n <end>``;
- ``evaluate``: that loss on the validation split and BLEU and chrF of greedy captions;
  ``val_loss`` or, with ``selection.metric = "bleu"``, ``val_bleu_gap = 100 - BLEU`` picks
  the best checkpoint.

At the end the best checkpoint captions the test split greedily and with beam search
(``decoding.beam_size``; ``<unk>``, ``<pad>`` and ``<start>`` never generated) and both are
scored with sacrebleu against the captions as written (unknown words included).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnnkit.data.captions import PARTS, CaptionData, data_fingerprint, load_captions
from rnnkit.data.vocab import Vocab
from rnnkit.generation.sampling import evaluating
from rnnkit.models.captioner import Captioner
from rnnkit.tasks import lifecycle
from rnnkit.tasks.caption_config import CaptionConfig
from rnnkit.tasks.caption_tensors import (
    END_ID,
    NEVER_GENERATED,
    PAD_ID,
    START_ID,
    build_vocab,
    caption_ids,
    check_vocab,
    decode_caption,
    encode_caption,
    foreground_fractions,
    image_tensor,
    shift_images,
    teacher_forcing_batch,
)
from rnnkit.tasks.encoder_decoder import (
    EncoderDecoderTask,
    bleu_chrf,
    check_fingerprint,
    validation_figures,
)
from rnnkit.tasks.lifecycle import slug
from rnnkit.tasks.spec import RunResult, TaskSpec, parameter_count, run_figures, run_head
from rnnkit.training import run_dir as layout
from rnnkit.training.task import StepOutput
from rnnkit.training.trainer import Trainer

TASK_NAME = "caption"
EVAL_BATCH = 256
AUGMENT_STREAM = 7  # mixed into the augmentation generator's seed
SAMPLE_IMAGES = 4


# -- the task -----------------------------------------------------------------------------------


class CaptionTask(EncoderDecoderTask):
    """Hooks for the ``Trainer``: teacher-forced captions of (shifted) images."""

    name, model_class = TASK_NAME, Captioner
    loss_unit = "nats/word"
    one_process = True  # images (N, ...) beside time-major captions (T, N): not under torchrun

    def __init__(self, config: CaptionConfig, data: CaptionData, vocab: Vocab):
        check_vocab(vocab)
        self.data, self.vocab = data, vocab
        self.encoded = [encode_caption(vocab, caption) for caption in data.captions]
        splits = {part: np.asarray(data.splits[part], dtype=np.int64) for part in PARTS}
        lengths = [len(self.encoded[i]) + 1 for i in splits["train"]]
        empty = f"{data.name} has an empty {{}} split; it needs images"
        self.setup(config, splits, lengths, PARTS, empty)

    def model_sizes(self) -> dict:
        """What the model needs from the data: the vocabulary's size, ``<pad>``, the images'."""
        return {
            "vocab_size": len(self.vocab),
            "pad_id": PAD_ID,
            "image_size": self.data.images.shape[1],
        }

    def batch(self, indices: np.ndarray, moves: np.ndarray | None = None):
        images = self.data.images[indices]
        if moves is not None:
            images = shift_images(images, moves)
        inputs, targets = teacher_forcing_batch([self.encoded[i] for i in indices])
        return image_tensor(images), inputs, targets

    def train_batches(self, start_step: int):
        train, shift = self.splits["train"], self.config.data.augment_shift
        for step, positions in enumerate(self.buckets.batches(start_step), start=start_step):
            moves = None
            if shift:
                rng = np.random.default_rng([self.config.trainer.seed, AUGMENT_STREAM, step])
                moves = rng.integers(-shift, shift + 1, size=(len(positions), 2))
            yield self.batch(train[positions], moves)

    def training_step(self, model: Captioner, batch, carry) -> StepOutput:
        images, inputs, targets = batch
        _, loss = model(images, inputs, targets)
        return StepOutput(loss, None, int((targets != PAD_ID).sum()))

    def evaluate(self, model: Captioner) -> dict[str, float]:
        indices = self.splits["val"]
        hypotheses = self.greedy_captions(model, indices)
        references = [self.data.captions[i] for i in indices]
        loss = self.loss(model, indices)
        return validation_figures(
            loss, hypotheses, references, "val_bleu_greedy", "val_chrf_greedy"
        )

    @torch.no_grad()
    def loss(self, model: Captioner, indices: np.ndarray) -> float:
        """Mean teacher-forced cross-entropy per target word over ``indices``."""
        total, words = 0.0, 0
        with evaluating(model):
            for start in range(0, len(indices), EVAL_BATCH):
                images, inputs, targets = self.batch(indices[start : start + EVAL_BATCH])
                _, loss = model(images, inputs, targets)
                count = int((targets != PAD_ID).sum())
                total, words = total + float(loss) * count, words + count
        return total / words

    def greedy_captions(self, model: Captioner, indices: np.ndarray) -> list[str]:
        return [decode_caption(self.vocab, row) for row, _ in self.greedy(model, indices)]

    def greedy(self, model: Captioner, indices: np.ndarray) -> list[tuple[list[int], object]]:
        """Each image's greedy ids and its attention weights (T, S) (None without attention)."""
        results = []
        with evaluating(model):
            for start in range(0, len(indices), EVAL_BATCH):
                chunk = indices[start : start + EVAL_BATCH]
                ids, weights = model.greedy(
                    image_tensor(self.data.images[chunk]),
                    START_ID,
                    END_ID,
                    self.config.decoding.max_length,
                    NEVER_GENERATED,
                )
                for n, row in enumerate(ids):
                    results.append((row, None if weights is None else weights[n, : len(row)]))
        return results

    def attention_focus(self, model: Captioner, indices: np.ndarray) -> dict[str, float]:
        """How much of the attention lands on the emoji: the mean over greedy words of
        ``sum_i alpha_i f_i``, with ``f_i`` the fraction of non-white pixels under position
        ``i``; beside it the mean of ``f_i`` itself (what uniform attention would give)."""
        on_emoji, area = [], []
        for (_, weights), i in zip(self.greedy(model, indices), indices, strict=True):
            foreground = foreground_fractions(self.data.images[i], weights.shape[1])  # (S,)
            on_emoji.append(float((weights @ foreground.to(weights.dtype)).mean()))
            area.append(float(foreground.mean()))
        return {"attention_on_emoji": float(np.mean(on_emoji)), "emoji_area": float(np.mean(area))}

    def beam_ids(self, model: Captioner, i: int) -> list[int]:
        """Image ``i``'s beam-search caption, as the run's ``decoding`` says."""
        d = self.config.decoding
        image = image_tensor(self.data.images[[i]])[0]
        return caption_ids(model, image, d.max_length, d.beam_size, d.length_penalty)

    def beam_captions(self, model: Captioner, indices: np.ndarray) -> list[str]:
        return [decode_caption(self.vocab, self.beam_ids(model, i)) for i in indices]

    def score(self, model: Captioner, split: str) -> dict:
        """Loss, and BLEU and chrF of greedy and beam captions, on ``split``."""
        indices = self.splits[split]
        references = [self.data.captions[i] for i in indices]
        greedy = self.greedy_captions(model, indices)
        beam = self.beam_captions(model, indices)
        focus = {}
        if self.config.model.conditioning == "attention":
            focus = self.attention_focus(model, indices)
        examples = [
            {"file": self.data.files[i], "reference": ref, "greedy": g, "beam": b}
            for i, ref, g, b in zip(indices[:20], references, greedy, beam, strict=False)
        ]
        (bleu_greedy, chrf_greedy), (bleu_beam, chrf_beam) = (
            bleu_chrf(greedy, references),
            bleu_chrf(beam, references),
        )
        return {
            "loss": self.loss(model, indices),
            "bleu_greedy": bleu_greedy,
            "chrf_greedy": chrf_greedy,
            "bleu_beam": bleu_beam,
            "chrf_beam": chrf_beam,
            "exact_greedy": exact(greedy, references),
            "exact_beam": exact(beam, references),
            "beam_size": self.config.decoding.beam_size,
            "length_penalty": self.config.decoding.length_penalty,
            **focus,
            "images": len(indices),
            "examples": examples,
        }

    def sample(self, model: Captioner) -> str:
        indices = self.splits["val"][:SAMPLE_IMAGES]
        captions = self.greedy_captions(model, indices)
        lines = [
            f"{self.data.captions[i]!r} -> {c!r}" for i, c in zip(indices, captions, strict=True)
        ]
        return "\n".join(lines)


@torch.no_grad()
def exact(captions: list[str], references: list[str]) -> float:
    """The fraction of captions that are their reference word for word."""
    return float(np.mean([c == r for c, r in zip(captions, references, strict=True)]))


# -- the data, as recorded in config.json ------------------------------------------------------


def data_record(config: CaptionConfig, data: CaptionData) -> dict:
    path = Path(config.data.dataset)
    return {
        "dataset": config.data.dataset if config.data.dataset == "emoji" else str(path.resolve()),
        "split_seed": config.data.split_seed,
        "name": data.name,
        "sizes": {part: int(len(data.splits[part])) for part in PARTS},
        "fingerprint": data_fingerprint(data),
        "card": data.card,
    }


def reload_data(record: dict) -> CaptionData:
    """The images a run was trained on, or a ValueError if they have changed since."""
    data = load_captions(record["dataset"], record["split_seed"])
    what = "images, captions or split"
    check_fingerprint(data_fingerprint(data), record["fingerprint"], record["dataset"], what)
    return data


# -- the task's spec ----------------------------------------------------------------------------


def prepare(config: CaptionConfig, data: CaptionData | None) -> CaptionTask:
    """The task on ``data`` (default: the config's data set), the vocabulary built on the
    training captions."""
    data = data if data is not None else load_captions(config.data.dataset, config.data.split_seed)
    train_captions = [data.captions[i] for i in data.splits["train"]]
    return CaptionTask(config, data, build_vocab(train_captions, config.data.min_count))


def reopen(run_dir: Path, record: dict, config: CaptionConfig) -> CaptionTask:
    return CaptionTask(config, reload_data(record["data"]), Vocab.load(run_dir / layout.VOCAB))


def describe(task: CaptionTask, model: Captioner, run_dir: Path, baselines: dict) -> str:
    m, sizes = task.config.model, {k: len(v) for k, v in task.splits.items()}
    return (
        f"run {run_dir}: {task.data.name}, {sizes['train']}/{sizes['val']}/{sizes['test']} "
        f"train/val/test images, {len(task.vocab)} words; CNN {m.channels} + LSTM "
        f"{m.hidden_size}, {m.conditioning} conditioning, "
        f"{parameter_count(model) / 1e6:.2f}M parameters"
    )


def score_test(trainer: Trainer, task: CaptionTask, baselines: dict) -> dict:
    """The best checkpoint on the test split; attention maps drawn into the run."""
    test = task.score(trainer.model, "test")
    layout.write_json(trainer.run_dir / "test-captions.json", test)
    if task.config.model.conditioning == "attention":
        draw_attention_examples(trainer.model, task, trainer.run_dir / "plots")
    return test


def summary(result: RunResult) -> dict:
    test = result.test
    return {
        **run_head(result),
        "conditioning": result.record["config"]["model"]["conditioning"],
        "test_bleu": test.get("bleu_beam"),
        "test_bleu_greedy": test.get("bleu_greedy"),
        "test_chrf": test.get("chrf_beam"),
        "test_chrf_greedy": test.get("chrf_greedy"),
        "test_exact_beam": test.get("exact_beam"),
        "test_exact_greedy": test.get("exact_greedy"),
        "test_loss": test.get("loss"),
        "test_images": test.get("images"),
        "test_attention_on_emoji": test.get("attention_on_emoji"),
        "test_emoji_area": test.get("emoji_area"),
        "length_penalty": test.get("length_penalty"),
        "beam_size": test.get("beam_size"),
        **run_figures(result.train),
    }


SPEC = TaskSpec(
    name=TASK_NAME,
    help="image captioner: CNN + LSTM on the emoji or a folder of images",
    config_class=CaptionConfig,
    prepare=prepare,
    reopen=reopen,
    record=lambda task: {"data": data_record(task.config, task.data)},
    save=lambda task, run_dir: task.vocab.save(run_dir / layout.VOCAB),
    run_name=lambda task: f"{slug(task.data.name)}-{task.config.model.conditioning}",
    describe=describe,
    score_test=score_test,
    summary=summary,
    export="rnnkit.export.caption",
)


train, resume = lifecycle.entry_points(SPEC)


def draw_attention_examples(model: Captioner, task: CaptionTask, folder: Path) -> list[Path]:
    """``attention-test-<k>.png``: the first test images of different captions (``heatmaps``
    of them), with the weights of each word of their beam-search caption."""
    first = {}  # group -> its first test image, for the first ``heatmaps`` groups
    for i in task.splits["test"]:
        if len(first) < task.config.decoding.heatmaps:
            first.setdefault(task.data.groups[i], int(i))
    paths = []
    for k, i in enumerate(first.values()):
        ids, title = task.beam_ids(model, i), f"reference: {task.data.captions[i]}"
        path = folder / f"attention-test-{k}.png"
        paths.append(attention_map(model, task.vocab, task.data.images[i], ids, path, title))
    return paths


def attention_map(model: Captioner, vocab: Vocab, pixels: np.ndarray, ids, path, title) -> Path:
    """The image ``pixels`` (H, W, 3) under the attention of each word of ``ids``, as a PNG."""
    from rnnkit.plots.heatmaps import plot_attention_map

    with evaluating(model):
        weights = model.attention_weights(image_tensor(pixels[None])[0], START_ID, ids)
    words = [vocab.itos[j] for j in ids]
    return plot_attention_map(pixels, words, weights, path, title)
