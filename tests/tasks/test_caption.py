"""The captioning task: words to ids and back, teacher-forcing batches, shifted images, batches
that resume at any step, and a run that resumes to the same weights as one without a stop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data.captions import load_captions
from rnnkit.tasks import caption_tensors
from rnnkit.tasks.caption import CaptionTask, resume, train
from rnnkit.tasks.caption_config import resolve_config
from rnnkit.tasks.caption_tensors import (
    END_ID,
    PAD_ID,
    START_ID,
    UNK_ID,
    build_vocab,
    decode_caption,
    encode_caption,
    foreground_fractions,
    shift_images,
    teacher_forcing_batch,
)
from rnnkit.training.checkpoint import load_checkpoint
from tests.generation.helpers import length_penalties
from tests.tasks.caption_fixtures import write_shapes_folder

TINY = {
    "model.hidden_size": 8,
    "model.embedding_size": 4,
    "model.base_channels": 2,
    "model.conv_blocks": 2,
    "model.attention_size": 4,
    "data.batch_size": 4,
    "trainer.log_every": 1,
    "trainer.tensorboard": False,
    "trainer.time_budget": None,
}


@pytest.fixture
def shapes(tmp_path):
    return load_captions(write_shapes_folder(tmp_path / "shapes"))


def test_vocabulary_and_teacher_forcing_layout():
    vocab = build_vocab(["red circle", "blue circle", "red square"], min_count=2)
    assert vocab.itos == ["<unk>", "<pad>", "<start>", "<end>", "circle", "red"]
    assert (UNK_ID, PAD_ID, START_ID, END_ID) == (0, 1, 2, 3)
    assert encode_caption(vocab, "red blue circle") == [5, UNK_ID, 4]
    assert decode_caption(vocab, [5, 4, END_ID, 5]) == "red circle"
    inputs, targets = teacher_forcing_batch([[5, 4], [4]])
    assert inputs.T.tolist() == [[START_ID, 5, 4], [START_ID, 4, PAD_ID]]
    assert targets.T.tolist() == [[5, 4, END_ID], [4, END_ID, PAD_ID]]


def test_shift_images_moves_down_right_and_fills_white():
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    images[:, 0, 0] = 7
    moved = shift_images(images, np.array([[1, 2], [-1, 0]]))
    assert moved[0, 1, 2].tolist() == [7, 7, 7] and moved[0, 0].max() == 255  # border: white
    assert moved[0, 1:, 2:].sum() == 7 * 3  # the rest of the image moved along
    assert (moved[1, 3] == 255).all() and moved[1, 0, 0].tolist() == [0, 0, 0]


def test_foreground_fractions_per_attention_position():
    image = np.full((4, 4, 3), 255, dtype=np.uint8)
    image[:2, :2] = (255, 0, 0)  # the top-left quarter red
    image[3, 3] = (0, 0, 0)  # one black pixel in the bottom-right quarter
    assert foreground_fractions(image, 4).tolist() == [1.0, 0.0, 0.0, 0.25]
    assert foreground_fractions(image, 16).sum() == 5


def test_batches_resume_at_any_step_with_the_same_shifts(shapes):
    config = resolve_config({**TINY, "data.augment_shift": 3, "trainer.max_steps": 10})
    task = CaptionTask(config, shapes, build_vocab(shapes.captions))
    batches = task.train_batches(0)
    first = [next(batches) for _ in range(7)]
    resumed = next(task.train_batches(5))
    for a, b in zip(first[5], resumed, strict=True):
        assert torch.equal(a, b)
    plain = resolve_config({**TINY, "data.augment_shift": 0, "trainer.max_steps": 10})
    unshifted = next(CaptionTask(plain, shapes, task.vocab).train_batches(0))
    assert torch.equal(unshifted[1], first[0][1]) and not torch.equal(unshifted[0], first[0][0])


def test_a_resumed_run_ends_where_an_unbroken_one_does(shapes, tmp_path):
    settings = {**TINY, "model.conditioning": "every-step", "trainer.eval_every": 4}
    settings["schedule.name"] = "constant"  # a cosine schedule would end with the shorter run
    straight = train(resolve_config({**settings, "trainer.max_steps": 4}), tmp_path / "a",
                     data=shapes)  # fmt: skip
    train(resolve_config({**settings, "trainer.max_steps": 2}), tmp_path / "b", data=shapes)
    with pytest.MonkeyPatch.context() as patch:  # resume reloads the folder it recorded
        patch.setattr("rnnkit.tasks.caption.load_captions", lambda *_: shapes)
        resumed = resume(tmp_path / "b", max_steps=4)
    assert straight.train.steps == resumed.train.steps == 4
    a = load_checkpoint(tmp_path / "a" / "checkpoints", "last").section("model")
    b = load_checkpoint(tmp_path / "b" / "checkpoints", "last").section("model")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    summary = resumed.summary()
    for key in ("test_bleu", "test_bleu_greedy", "test_chrf", "test_chrf_greedy"):
        assert 0 <= summary[key] <= 100, key
    assert summary["test_images"] == 3 and summary["conditioning"] == "every-step"


def test_a_beam_of_one_is_greedy_under_a_length_penalty(shapes, monkeypatch):
    """``rnnkit caption --beam 1`` is greedy (its help says so), but a beam of one under a
    length penalty can set an ended caption aside for a longer one (``beam_search``): so a
    beam of one searches with alpha 0, and the task's greedy decoder gives the same caption."""
    config = resolve_config({**TINY, "decoding.length_penalty": 0.8, "trainer.max_steps": 1})
    task = CaptionTask(config, shapes, build_vocab(shapes.captions))
    torch.manual_seed(0)
    model = task.build_model()
    penalties = length_penalties(monkeypatch, caption_tensors)
    indices = np.arange(6)
    greedy = [ids for ids, _ in task.greedy(model, indices)]
    images = caption_tensors.image_tensor(task.data.images[indices])
    limit = config.decoding.max_length
    beams = [caption_tensors.caption_ids(model, image, limit, 1, 0.8) for image in images]
    assert penalties == [0.0] * 6

    def ended(ids):
        return ids[:-1] if ids[-1:] == [END_ID] else ids

    assert [ended(ids) for ids in beams] == [ended(ids) for ids in greedy]
    task.beam_ids(model, 0)  # the run's own beam of 3 keeps its penalty
    assert penalties[-1] == 0.8
