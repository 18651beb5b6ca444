"""The VQA scene generator: answers checked by an independent reading of each question, the
pixels checked against the source images, fixed seeds, and splits that share nothing."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tests.tasks.vqa_fixtures import write_digits_file

from rnnkit.data.images import load_images
from rnnkit.data.vqa_scenes import HELD_OUT, SceneRules, compose, fingerprint, make_scenes

WORDS = "zero one two three four five six seven eight nine".split()
PLACES_3 = ["top left", "top", "top right", "left", "centre", "right"]
PLACES_3 += ["bottom left", "bottom", "bottom right"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return load_images("digits", write_digits_file(tmp_path_factory.mktemp("d") / "d.csv.gz"))


@pytest.fixture(scope="module")
def scenes(images):
    return make_scenes(images, SceneRules(grid=3, train_scenes=300, eval_scenes=60, seed=1))


def reference_answer(question: str, grid: list[list[int]]):
    """The answer read off a grid of classes by parsing the question's text (not the
    generator's own argument): the words and, for "where", the (row, column)."""
    flat = [c for row in grid for c in row]
    cell = {p: flat[k] for k, p in enumerate(PLACES_3)}
    if m := re.fullmatch(r"what is at the (.+) \?", question):
        return WORDS[cell[m[1]]], None
    if m := re.fullmatch(r"how many (\w+) digits are there \?", question):
        return str(sum(1 for c in flat if (c % 2 == 0) == (m[1] == "even"))), None
    if m := re.fullmatch(r"how many (\w+)s are there \?", question):
        word = {"sixe": "six"}.get(m[1], m[1])  # "sixes"
        return str(flat.count(WORDS.index(word))), None
    if m := re.fullmatch(r"is there an? (\w+) \?", question):
        return ("yes" if WORDS.index(m[1]) in flat else "no"), None
    if m := re.fullmatch(r"where is the (\w+) \?", question):
        spots = [
            (r, c)
            for r, row in enumerate(grid)
            for c, x in enumerate(row)
            if x == WORDS.index(m[1])
        ]
        assert len(spots) == 1  # asked only about a digit that is there once
        ((r, c),) = spots
        vertical = ["top", "", "bottom"][r]
        horizontal = ["left", "", "right"][c]
        return (" ".join(w for w in (vertical, horizontal) if w) or "centre"), (r, c)
    m = re.fullmatch(r"is the (.+) digit larger than the (.+) digit \?", question)
    assert m, question
    return ("yes" if cell[m[1]] > cell[m[2]] else "no"), None


def test_every_answer_agrees_with_an_independent_reading(scenes, images):
    for q in scenes.questions:
        rows = scenes.rows[q.scene]
        grid = images.labels[rows].reshape(3, 3).tolist()  # the source images' own labels
        said, spot = reference_answer(q.text, grid)
        assert said == q.answer, q
        if spot is None:
            assert q.region == -1
        else:
            assert q.region == spot[0] * 3 + spot[1]


def test_scene_pixels_are_the_source_images_in_their_cells(scenes, images):
    for k in (0, 7, len(scenes.scenes) - 1):
        for region, row in enumerate(scenes.rows[k]):
            r, c = divmod(region, 3)
            cell = scenes.scenes[k, 8 * r : 8 * r + 8, 8 * c : 8 * c + 8]
            np.testing.assert_array_equal(cell, images.images[row])
    tiles = np.arange(2 * 4 * 2 * 2).reshape(2, 4, 2, 2)
    assert compose(tiles, 2)[1, 2:, :2].tolist() == tiles[1, 2].tolist()  # region 2: bottom left


def test_the_same_seed_makes_the_same_data_and_another_seed_other_data(scenes, images):
    again = make_scenes(images, SceneRules(grid=3, train_scenes=300, eval_scenes=60, seed=1))
    other = make_scenes(images, SceneRules(grid=3, train_scenes=300, eval_scenes=60, seed=2))
    assert fingerprint(again) == fingerprint(scenes) != fingerprint(other)


def test_no_test_scene_or_image_is_seen_in_training(scenes, images):
    kinds = {"train": images.train_indices, "val": images.val_indices}
    kinds |= {"test": images.test_indices, "novel": images.test_indices}
    layouts = {split: set() for split in kinds}
    for k, split in enumerate(scenes.scene_split):
        assert set(scenes.rows[k].tolist()) <= set(kinds[split].tolist())  # its own images
        layouts[split].add(tuple(scenes.classes[k].tolist()))
    for split in ("val", "test", "novel"):
        assert not layouts[split] & layouts["train"]  # new combinations, not only new images
    for split, indices in scenes.splits.items():
        assert {scenes.scene_split[scenes.questions[i].scene] for i in indices} == {split}


def test_held_out_combinations_are_asked_only_in_the_novel_split(scenes):
    for split, indices in scenes.splits.items():
        keys = {(scenes.questions[i].type, scenes.questions[i].argument) for i in indices}
        assert (keys <= HELD_OUT) if split == "novel" else not (keys & HELD_OUT), split
    novel_types = {scenes.questions[i].type for i in scenes.splits["novel"]}
    assert novel_types == {"what", "count", "exists", "where", "compare"}


def test_the_card_counts_every_question_once(scenes):
    card = scenes.card()
    assert sum(c["questions"] for c in card.values()) == len(scenes.questions)
    for counts in card.values():
        assert sum(counts["types"].values()) == counts["questions"]
        assert sum(sum(a.values()) for a in counts["answers"].values()) == counts["questions"]
    assert card["train"]["scenes"] == 300 and card["test"]["scenes"] == 60


def test_a_two_by_two_grid_and_bad_rules(images):
    small = make_scenes(images, SceneRules(grid=2, train_scenes=20, eval_scenes=5))
    assert small.scenes.shape == (20 + 3 * 5, 16, 16) and small.regions == 4
    with pytest.raises(ValueError, match="grid must be 2 or 3"):
        make_scenes(images, SceneRules(grid=4))


def test_the_vocabulary_holds_every_question_and_answer_word(scenes):
    from rnnkit.data.vqa_scenes import vocabulary

    words = set(vocabulary(3))
    for q in scenes.questions:
        assert set(q.text.split()) | set(q.answer.split()) <= words
    assert {"sixes", "odd", "centre", "9", "larger"} <= words and "banana" not in words
