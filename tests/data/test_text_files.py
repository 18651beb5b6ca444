"""Reading user text: every bad input gives a ValueError that says what and where."""

import csv

import pytest

from rnnkit.data.provenance import scan_corpus
from rnnkit.data.text_files import (
    DOCUMENT_SEPARATOR,
    TEXT_EXTENSIONS,
    Document,
    csv_field_limit,
    join_documents,
    read_documents,
    read_text_file,
    split_lines,
)


def test_reads_a_utf8_file_exactly(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_bytes("Ünïcødé\r\nline two\n".encode())
    assert read_text_file(path) == "Ünïcødé\r\nline two\n"
    path.write_bytes(b"\xef\xbb\xbfwith a byte-order mark")
    assert read_text_file(path) == "with a byte-order mark"
    assert read_documents(path) == [Document("poem.txt", "with a byte-order mark")]


def test_missing_path(tmp_path):
    with pytest.raises(ValueError, match="no such file or directory: .*nothing.txt; expected"):
        read_documents(tmp_path / "nothing.txt")


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        read_documents(tmp_path / "empty.txt")


def test_a_byte_order_mark_alone_is_named_as_such(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(ValueError, match="bom.txt holds only a byte-order mark"):
        read_text_file(tmp_path / "bom.txt")


def test_a_corpus_of_no_characters_names_its_source(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(ValueError, match="bom.txt holds no characters"):
        scan_corpus(str(tmp_path / "bom.txt"), None)


def test_binary_file(tmp_path):
    (tmp_path / "model.txt").write_bytes(b"PK\x03\x04\x00\x00rest")
    expected = r"model.txt looks like a binary file \(NUL byte at byte offset 4\)"
    with pytest.raises(ValueError, match=expected):
        read_documents(tmp_path / "model.txt")


def test_non_utf8_file_names_file_offset_and_line(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("first line\ncafé au lait\n".encode("latin-1"))
    with pytest.raises(ValueError) as caught:
        read_documents(tmp_path / "latin1.txt")
    message = str(caught.value)
    assert "latin1.txt is not UTF-8 text: byte 0xe9 at byte offset 14 (line 2)" in message
    assert "iconv" in message


def test_directory_reads_matching_files_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("zed")
    (tmp_path / "a.md").write_text("alpha")
    (tmp_path / "B.TXT").write_text("upper")
    (tmp_path / "skip.json").write_text("{}")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("hidden")
    (tmp_path / ".notes.txt").write_text("hidden too")
    documents = read_documents(tmp_path)
    assert [d.name for d in documents] == ["B.TXT", "a.md", "b/z.txt"]
    assert join_documents(documents) == DOCUMENT_SEPARATOR.join(["upper", "alpha", "zed"])
    assert [d.name for d in read_documents(tmp_path, extensions=(".md",))] == ["a.md"]
    assert [d.name for d in read_documents(tmp_path, extensions=("MD", "json"))] == [
        "a.md",
        "skip.json",
    ]


def test_directory_without_text_files_lists_the_extensions(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"\x00\x01")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError) as caught:
        read_documents(tmp_path)
    message = str(caught.value)
    assert "holds no non-empty text files" in message
    assert all(suffix in message for suffix in TEXT_EXTENSIONS)


def test_bad_file_inside_a_directory_is_named(tmp_path):
    (tmp_path / "good.txt").write_text("fine")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bad.c").write_bytes(b"int x; /* \xff */")
    expected = "sub/bad.c is not UTF-8 text: byte 0xff at byte offset 10"
    with pytest.raises(ValueError, match=expected):
        read_documents(tmp_path)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", []),
        ("a", ["a"]),
        ("a\n", ["a"]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\n\nb", ["a", "", "b"]),
        ("a\x0cb\x0b\x1c\x1d\x1e\x85\u2028\u2029c\n", ["a\x0cb\x0b\x1c\x1d\x1e\x85\u2028\u2029c"]),
        ("\x0c\nx\n", ["\x0c", "x"]),
    ],
)
def test_split_lines_breaks_at_newline_only(text, lines):
    assert split_lines(text) == lines


def test_csv_field_limit_is_raised_and_restored():
    old = csv.field_size_limit()
    text = "x" * (old + 10)
    with csv_field_limit(text):
        assert csv.field_size_limit() > len(text)
        assert next(csv.reader([text])) == [text]
    assert csv.field_size_limit() == old
    with pytest.raises(RuntimeError), csv_field_limit(text):
        raise RuntimeError
    assert csv.field_size_limit() == old
