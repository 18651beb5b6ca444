"""Splits, scaling and windows for forecasting, against hand computation."""

import re

import numpy as np
import pytest

from rnnkit.data.series_windows import (
    Scaler,
    Split,
    anchors,
    default_sizes,
    input_windows,
    split_series,
    target_windows,
    training_pairs,
)


def test_scaler_by_hand_and_inverse():
    train = np.array([1.0, 2.0, 3.0, 6.0])
    scaler = Scaler.fit(train)
    mean, std = 3.0, np.sqrt(((train - 3.0) ** 2).mean())
    assert scaler.mean == mean and scaler.std == pytest.approx(std)
    values = np.array([0.0, 3.0, 10.0])
    np.testing.assert_allclose(scaler.scale(values), (values - mean) / std)
    np.testing.assert_allclose(scaler.unscale(scaler.scale(values)), values)
    logged = Scaler.fit(train, "log")
    assert logged.mean == pytest.approx(np.log(train).mean())
    np.testing.assert_allclose(logged.unscale(logged.scale(values[1:])), values[1:])
    with pytest.raises(ValueError, match="the series: transform log needs values > 0, but point 1"):
        logged.scale(values)
    with pytest.raises(ValueError) as error:  # it named no file
        Scaler.fit(np.array([2.0, -1.5, 3.0]), "log", "data/neg.csv")
    assert str(error.value) == (
        "data/neg.csv: transform log needs values > 0, but point 2 of the series is -1.5; use "
        "transform none, or shift the series above 0 first"
    )
    assert Scaler.fit(np.ones(5)).std == 1.0  # a constant part does not divide by zero
    assert Scaler.from_dict(scaler.to_dict()) == scaler


def test_split_parts_and_origins_by_hand():
    split = Split.last(n=40, val_size=8, test_size=6, window=5, horizon=3)
    assert (split.val_start, split.test_start) == (26, 34)
    assert split.sizes() == {"train": 26, "val": 8, "test": 6}
    # test: origins 34..37 (targets t..t+2 inside 34..39); val: 26..31; train: 5..23
    np.testing.assert_array_equal(split.origins("test", 5, 3), [34, 35, 36, 37])
    np.testing.assert_array_equal(split.origins("val", 5, 3), np.arange(26, 32))
    np.testing.assert_array_equal(split.origins("train", 5, 3), np.arange(5, 24))


def test_split_errors():
    with pytest.raises(ValueError, match="fewer than the horizon"):
        Split.last(40, 2, 6, 5, 3)
    with pytest.raises(ValueError) as error:
        Split.last(20, 6, 6, 6, 3)
    assert str(error.value) == (
        "the series has 20 points, too few for 6 validation and 6 test points and one "
        "training window of 6 inputs and 3 targets (21 points)"
    )
    assert default_sizes(100, 12) == (15, 15)
    assert default_sizes(40, 12) == (12, 12)


def test_split_series_fills_the_default_sizes():
    assert split_series(200, 24, 12) == Split.last(200, 30, 30, 24, 12)
    assert split_series(200, 24, 12, val_size=134) == Split.last(200, 134, 30, 24, 12)
    assert split_series(200, 24, 58).sizes() == {"train": 84, "val": 58, "test": 58}


@pytest.mark.parametrize(
    ("sizes", "flags", "largest", "advice"),
    [
        # 200 - 30 (test) - 24 (window) - 12 (horizon) = 134 validation points at most
        ({"val_size": 1000}, {"val_size": "--val-size"}, {"val_size": 134}, ""),
        ({"window": 1000}, {"window": "--window"}, {"window": 128}, ""),
        # the horizon sets the parts (at least one horizon each): 3 * 58 + 24 = 198 <= 200
        ({"horizon": 1000}, {"horizon": "--horizon"}, {"horizon": 58}, ""),
        ({"horizon": 1000}, {"horizon": "--period"}, {"horizon": 58}, " (it sets the horizon)"),
        (
            {"val_size": 100, "test_size": 100},
            {"val_size": "--val-size", "test_size": "--test-size"},
            {"val_size": 64, "test_size": 64},
            "",
        ),
    ],
)
def test_a_split_too_long_names_the_option_at_fault_and_the_largest_that_fits(
    sizes, flags, largest, advice
):
    given = {"window": 24, "horizon": 12, **sizes}
    with pytest.raises(ValueError) as error:
        split_series(200, **given, flags=flags)
    message = str(error.value)
    assert message.startswith("the series has 200 points, too few for ")
    assert not re.search(r"-[0-9]", message)  # no negative counts
    fixes = [f"the largest {flags[size]} that fits is {value}" for size, value in largest.items()]
    assert message.endswith("; " + ", or ".join(fixes) + advice)
    for size, value in largest.items():  # the value named fits, one more does not
        split_series(200, **{**given, size: value})
        with pytest.raises(ValueError):
            split_series(200, **{**given, size: value + 1})


def test_a_split_no_one_option_can_fix_says_so():
    with pytest.raises(ValueError) as error:
        split_series(
            200, 1000, 12, val_size=1000, flags={"val_size": "--val-size", "window": "--window"}
        )
    assert str(error.value).endswith(
        "; no value of --val-size or --window alone fits; lower several, or give a longer series"
    )
    with pytest.raises(ValueError) as error:  # all sizes by default: every option is named
        split_series(40, 24, 12)
    assert "the largest --window that fits is 4" in str(error.value)


def test_windows_by_hand():
    values = np.arange(20.0) * 10
    origins = np.array([5, 9])
    np.testing.assert_array_equal(input_windows(values, origins, 3), [[20, 30, 40], [60, 70, 80]])
    np.testing.assert_array_equal(target_windows(values, origins, 2), [[50, 60], [90, 100]])
    np.testing.assert_array_equal(anchors(values, origins, True), [40, 80])
    np.testing.assert_array_equal(anchors(values, origins, False), [0, 0])


def test_training_pairs_direct_and_recursive_by_hand():
    z = np.arange(12.0)
    inputs, targets = training_pairs(z, np.array([4]), 3, 2, "direct", relative=False)
    np.testing.assert_array_equal(inputs, [[1, 2, 3]])
    np.testing.assert_array_equal(targets, [[4, 5]])
    inputs, targets = training_pairs(z, np.array([4]), 3, 2, "recursive", relative=False)
    np.testing.assert_array_equal(inputs, [[1, 2, 3, 4]])  # z[t-L : t+H-1]
    np.testing.assert_array_equal(targets, [[2, 3, 4, 5]])  # z[t-L+1 : t+H]
    inputs, targets = training_pairs(z, np.array([4, 7]), 3, 2, "direct", relative=True)
    np.testing.assert_array_equal(inputs, [[-2, -1, 0], [-2, -1, 0]])  # minus z[t-1]
    np.testing.assert_array_equal(targets, [[1, 2], [1, 2]])
    assert inputs.dtype == np.float32
