"""Padding, the length-bucketed training batches and the sorted evaluation chunks."""

import numpy as np

from rnnkit.data.buckets import LengthBuckets, pad_ids, pad_vectors, sorted_chunks


def test_padding():
    ids, lengths = pad_ids([np.array([3, 4]), np.array([5]), np.array([6, 7, 8])])
    assert ids.tolist() == [[3, 4, 0], [5, 0, 0], [6, 7, 8]]
    assert lengths.tolist() == [2, 1, 3]
    vectors, lengths = pad_vectors([np.ones((2, 3), np.float32), np.full((1, 3), 2, np.float32)])
    assert vectors.shape == (2, 2, 3) and vectors[1, 1].abs().sum() == 0
    assert lengths.tolist() == [2, 1]


def test_buckets_cover_every_example_once_an_epoch():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 40, 1234)
    buckets = LengthBuckets(lengths, batch_size=7, seed=3)
    assert buckets.steps_per_epoch == 177
    for epoch in (0, 1):
        batches = buckets.epoch(epoch)
        assert len(batches) == 177
        assert sorted(np.concatenate(batches).tolist()) == list(range(1234))
    assert not all(
        np.array_equal(a, b) for a, b in zip(buckets.epoch(0), buckets.epoch(1), strict=True)
    )
    # sorting inside pools of 350 makes batches far more uniform than random ones
    spread = np.mean([np.ptp(lengths[b]) for b in buckets.epoch(0)])
    assert spread < 3


def test_buckets_resume_at_any_step():
    buckets = LengthBuckets(np.arange(1, 24), batch_size=5, seed=0)
    stream = buckets.batches(0)
    first = [next(stream) for _ in range(13)]
    resumed = buckets.batches(7)
    for expected in first[7:]:
        np.testing.assert_array_equal(next(resumed), expected)
    assert buckets.position(13) == {"epoch": 2, "batch": 3, "batches_per_epoch": 5}


def test_sorted_chunks():
    chunks = list(sorted_chunks([5, 1, 3, 2], 3))
    assert [c.tolist() for c in chunks] == [[1, 3, 2], [0]]
