"""The classification parsers on small files written in the tests: a user's CSV (and every
error it can end with), VADER's ground-truth format, sktime's .ts format."""

import csv

import numpy as np
import pytest

from rnnkit.data import labelled_files
from rnnkit.data.labelled_files import (
    read_labelled_csv,
    read_sentiment_ground_truth,
    read_ts,
    sentiment_label,
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_reads_text_and_label_in_any_column_order(tmp_path):
    path = write(
        tmp_path,
        "r.csv",
        'id,label,text\n1, pos ,"Good, very good"\n\n2,neg,"Bad\nacting"\n3,pos,fine\n',
    )
    texts, labels = read_labelled_csv(path)
    assert texts == ["Good, very good", "Bad\nacting", "fine"]
    assert labels == ["pos", "neg", "pos"]


def test_csv_with_a_byte_order_mark_and_crlf(tmp_path):
    path = write(tmp_path, "r.csv", "\ufefftext,label\r\nyes,a\r\nno,b\r\n")
    assert read_labelled_csv(path) == (["yes", "no"], ["a", "b"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,label\nhi,a\n", "header \\(line 1\\) has columns 'words', 'label', but no 'text'"),
        ("text\nhi\n", "no 'label'; a labelled CSV needs a header with the columns text and"),
        ("a,b\nx,y\n", "no 'text' and no 'label'"),
        ("text,label\nhi,a\n  ,b\n", "line 3 has an empty text"),
        ("text,label\nhi,a\n\nthere,\n", "line 4 has an empty label"),
        ('text,label\n"two\nlines",a\nok, \n', "line 4 has an empty label"),
        ("text,label\nhi,a,extra\n", "line 2 has 3 fields, but the header has 2"),
        (
            "text,label\nhi,a\nho,a\n",
            "every row has the label 'a'; a classifier needs at least two",
        ),
        ("text,label\n", "has a header but no rows"),
        ("", "is empty"),
    ],
)
def test_bad_csv_ends_with_a_clear_error(tmp_path, content, message):
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(ValueError, match=message):
        read_labelled_csv(path)


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('text,label\n"unterminated,x\nb,y\n', 2),  # was: line 2 has 1 fields, but ... 2
        ('text,label\n"two\nlines",a\nok,"b\r\nc,d\rtail', 4),  # after a closed one
        ('text,label\nhi,a\nho,"', 3),  # at the very end
        ('"text,label\nhi,a\n', 1),  # in the header
    ],
)
def test_csv_with_a_quote_never_closed_names_the_line_it_opened_on(tmp_path, content, line):
    path = write(tmp_path, "open.csv", content)
    with pytest.raises(ValueError) as error:
        read_labelled_csv(path)
    assert str(error.value) == (
        f"{path}: the quote opened on line {line} is never closed; end a quoted field with a "
        'quote ("like, this"), and write a quote inside one as two ("")'
    )


def test_csv_that_is_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "latin.csv", "text,label\nok,a\ncaf\u00e9,b\n", encoding="latin-1")
    with pytest.raises(ValueError, match="is not UTF-8 text: byte 0xe9 .* \\(line 3\\)"):
        read_labelled_csv(path)


def test_sentiment_thresholds():
    assert sentiment_label(0.5) == "positive" and sentiment_label(-0.5) == "negative"
    assert sentiment_label(0.49) is None and sentiment_label(-0.4) is None
    assert sentiment_label(3.9) == "positive"


def test_ground_truth_file(tmp_path):
    lines = [
        "1\t2.26666666667\tThe Rock is destined to be the new ''Conan''.",
        "2\t-0.6\tEffective but too tepid biopic",
        "3\t0.2\tNeither here nor there",
        "4\t1.0\tLove &amp; war, caf\u00e9",
    ]
    path = write(tmp_path, "gt.txt", "\r\n".join(lines))  # CRLF, no final line end
    texts, labels, dropped = read_sentiment_ground_truth(path)
    assert labels == ["positive", "negative", "positive"] and dropped == 1
    assert texts[1] == "Effective but too tepid biopic" and texts[2] == "Love & war, caf\u00e9"


@pytest.mark.parametrize("line", ["1\tnot-a-number\ttext", "1\t2.0", "just text"])
def test_ground_truth_bad_line(tmp_path, line):
    path = write(tmp_path, "gt.txt", f"1\t1.0\tfine\n{line}\n")
    with pytest.raises(ValueError, match="line 2 is not 'id<TAB>rating<TAB>text'"):
        read_sentiment_ground_truth(path)


TS_HEADER = """#A comment: 9 speakers
@problemName Tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true 1 2
@data
"""


def test_ts_series_become_time_by_feature_arrays(tmp_path):
    path = write(tmp_path, "t.ts", TS_HEADER + "1.5,2,3:-1,-2,-3:1\n\n0.25,0.5:4,5:2\n")
    sequences, labels = read_ts(path)
    assert labels == ["1", "2"]
    assert [s.shape for s in sequences] == [(3, 2), (2, 2)]
    assert sequences[0].dtype == np.float32
    np.testing.assert_array_equal(sequences[0], [[1.5, -1], [2, -2], [3, -3]])
    np.testing.assert_array_equal(sequences[1][:, 1], [4, 5])


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        (TS_HEADER, "1,2:3,4:7\n", "line 10 has label '7'; @classLabel allows \\['1', '2'\\]"),
        (TS_HEADER, "1,2:3,4:5,6:1\n", "line 10 has 3 dimensions; @dimensions says 2"),
        (TS_HEADER, "1,2,3:3,4:1\n", "line 10: its dimensions differ in length \\[2, 3\\]"),
        (TS_HEADER, "1,x:3,4:1\n", "line 10: could not convert"),
        (TS_HEADER, "1,?:3,4:1\n", "line 10 has a missing value"),
        (TS_HEADER, "", "holds no series after @data"),
        (TS_HEADER.replace("@data\n", ""), "", "has no @data line"),
        (TS_HEADER.replace("true 1 2", "false"), "1:2:1\n", "@classLabel true LABELS"),
        (TS_HEADER.replace("@timeStamps false", "@timeStamps true"), "", "@timeStamps true"),
        ("1,2:3,4:1\n" + TS_HEADER, "", "line 1 comes before @data"),
    ],
)
def test_bad_ts_file(tmp_path, header, data, message):
    path = write(tmp_path, "bad.ts", header + data)
    with pytest.raises(ValueError, match=message):
        read_ts(path)


LONG = 200_000  # longer than the csv module's default field limit, 131,072


def test_csv_with_a_field_longer_than_the_default_limit(tmp_path):
    limit = csv.field_size_limit()
    path = write(tmp_path, "long.csv", f'text,label\n"{"word, " * (LONG // 6)}",a\nshort,b\n')
    texts, labels = read_labelled_csv(path)
    assert len(texts[0]) >= LONG - 6 and labels == ["a", "b"]
    assert csv.field_size_limit() == limit  # the global limit is restored


def test_csv_error_is_a_one_line_value_error(tmp_path, tiny_csv_limit):
    tiny_csv_limit(labelled_files, 5)
    path = write(tmp_path, "r.csv", "text,label\nhi,a\nlonger than five,b\n")
    with pytest.raises(ValueError, match=r"r\.csv: line 3 cannot be read as CSV \(field larger"):
        read_labelled_csv(path)


def test_ground_truth_and_ts_lines_break_at_newline_only(tmp_path):
    path = write(tmp_path, "gt.txt", "1\t2.0\tgood\u2028news\r\n2\t-1.0\tbad\x0cday\r\n")
    assert read_sentiment_ground_truth(path) == (
        ["good\u2028news", "bad\x0cday"],
        ["positive", "negative"],
        0,
    )
    text = TS_HEADER + "1,2:3,4:1\x0c\n1:2\n"
    with pytest.raises(ValueError, match="line 11 has 1 dimensions"):
        read_ts(write(tmp_path, "x.ts", text))
