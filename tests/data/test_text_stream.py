"""A text read as a stream of pieces is exactly the text read whole, with the same checks;
other encodings and --decode-errors replace/skip decode as Python's codecs do, counted."""

import hashlib
import io

import pytest

from rnnkit.data import text_stream
from rnnkit.data.corpora import resolve_text_source
from rnnkit.data.provenance import scan_corpus, text_sha256
from rnnkit.data.text_files import decode_text
from rnnkit.data.text_scan import ReadProgress, scan_text
from rnnkit.data.text_stream import TextStream

# multi-byte characters, a byte-order mark and CRLF, to be cut at every chunk boundary
TEXT = "Ünïcødé ✓ 𝄞 music\r\nline two\n" * 7


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(text_stream, "CHUNK_BYTES", 5)


def _corpus(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    (folder / "sub" / "a.md").write_text("second document\n", encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / ".hidden.txt").write_text("never read", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG\0")
    return folder


def test_pieces_join_to_the_text_read_whole(tmp_path, small_chunks):
    folder = _corpus(tmp_path)
    for source in (resolve_text_source(str(folder)), resolve_text_source(str(folder / "b.txt"))):
        whole = source.read_text()
        stream = TextStream(source)
        assert "".join(stream.pieces()) == whole
        assert "".join(stream.pieces()) == whole  # read again, the same
        assert max(len(piece) for piece in stream.pieces()) <= 5  # never the text whole
        for limit in (1, 7, 100, len(whole), len(whole) + 5):
            assert "".join(TextStream(source, max_chars=limit).pieces()) == whole[:limit]
        scan = scan_text(stream)
        assert (scan.sha256, scan.chars) == (text_sha256(whole), len(whole))
        assert scan.first_seen == {c: whole.index(c) for c in set(whole)}
        assert scan.undecodable == 0


def test_the_bundled_corpus_streams_as_it_reads():
    source = resolve_text_source("shakespeare")
    assert "".join(TextStream(source).pieces()) == source.read_text()


def test_an_undecodable_byte_is_named_as_when_read_whole(tmp_path, small_chunks):
    data = ("first line ✓\n" * 3 + "café au lait\n").encode("utf-8").replace(b"\xc3\xa9", b"\xe9")
    path = tmp_path / "latin1.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError) as whole:
        decode_text(data, str(path))
    with pytest.raises(ValueError) as streamed:
        "".join(TextStream(resolve_text_source(str(path))).pieces())
    expected = str(whole.value).split(" cannot be decoded")[0]
    assert expected.endswith("byte 0xe9 at byte offset 48 (line 4)")
    assert str(streamed.value).startswith(expected + " cannot be decoded")
    assert "--decode-errors" in str(streamed.value) and "--encoding" in str(streamed.value)


def test_a_truncated_sequence_at_the_end_is_undecodable(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes("ok\n✓".encode()[:-1])
    with pytest.raises(ValueError, match=r"byte 0xe2 at byte offset 3 \(line 2\)"):
        "".join(TextStream(resolve_text_source(str(path))).pieces())


@pytest.mark.parametrize(("setting", "python"), [("replace", "replace"), ("skip", "ignore")])
def test_replace_and_skip_decode_as_python_and_count(tmp_path, small_chunks, setting, python):
    data = "naïve café, résumé\n".encode("latin-1") * 3 + "ünï ✓\n".encode()
    path = tmp_path / "mixed.txt"
    path.write_bytes(data)
    stream = TextStream(resolve_text_source(str(path)), decode_errors=setting)
    assert "".join(stream.pieces()) == data.decode("utf-8", python)
    assert stream.undecodable == 12  # four Latin-1 letters on each of three lines
    stream, scan, record = scan_corpus(str(path), None, decode_errors=setting)
    assert scan.undecodable == 12 and record["undecodable"] == 12
    assert record["encoding"] == "utf-8" and record["decode_errors"] == setting
    assert record["sha256"] == hashlib.sha256(data.decode("utf-8", python).encode()).hexdigest()


def test_another_encoding(tmp_path, small_chunks):
    text = "naïve café, résumé ½ ÿ\n" * 4
    path = tmp_path / "latin1.txt"
    path.write_bytes(text.encode("latin-1"))
    stream = TextStream(resolve_text_source(str(path)), encoding="latin-1")
    assert "".join(stream.pieces()) == text
    path.write_bytes(text.encode("utf-16"))  # NUL bytes are text in UTF-16
    stream = TextStream(resolve_text_source(str(path)), encoding="utf-16")
    assert "".join(stream.pieces()) == text


def test_bad_input_is_a_one_line_error(tmp_path):
    path = tmp_path / "model.txt"
    path.write_bytes(b"PK\x03\x04\x00\x00rest")
    source = resolve_text_source(str(path))
    with pytest.raises(ValueError, match=r"model.txt looks like a binary file \(NUL byte at byte "):
        "".join(TextStream(source).pieces())
    with pytest.raises(ValueError, match="unknown encoding 'klingon'; give a Python codec"):
        TextStream(source, encoding="klingon")
    with pytest.raises(ValueError, match="decode errors setting 'ignore'; allowed: strict, "):
        TextStream(source, decode_errors="ignore")
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="model.txt is empty"):
        "".join(TextStream(source).pieces())
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="holds no non-empty text files"):
        "".join(TextStream(resolve_text_source(str(tmp_path / "folder"))).pieces())


@pytest.mark.parametrize("encoding", ["base64", "rot13", "zlib", "hex", "bz2", "uu"])
def test_a_codec_that_does_not_decode_bytes_to_text_is_refused(tmp_path, encoding):
    """They were taken, then the bytes (or text) they gave crashed the read: TypeError,
    zlib.error, or "Odd-length string" naming no file."""
    source = resolve_text_source(str(_corpus(tmp_path) / "b.txt"))
    with pytest.raises(ValueError) as error:
        TextStream(source, encoding=encoding)
    assert str(error.value) == (
        f"encoding {encoding!r} is not a text encoding (it does not decode bytes to text); "
        "give a text codec such as utf-8, latin-1, cp1252 or utf-16"
    )


def test_a_codec_that_decodes_strictly_only_refuses_replace_and_skip(tmp_path):
    source = resolve_text_source(str(_corpus(tmp_path) / "b.txt"))
    for codec in ("punycode", "idna"):
        with pytest.raises(ValueError, match=f"'{codec}' decodes strictly only: it cannot skip"):
            TextStream(source, encoding=codec, decode_errors="skip")
    with pytest.raises(ValueError, match="'undefined' decodes nothing"):
        TextStream(source, encoding="undefined")


def test_a_codec_s_own_error_names_the_file(tmp_path):
    """punycode raises a UnicodeError of its own, not a UnicodeDecodeError: it escaped."""
    path = tmp_path / "words.txt"
    path.write_bytes(b"plain words-!!\n")
    stream = TextStream(resolve_text_source(str(path)), encoding="punycode")
    with pytest.raises(ValueError) as error:
        "".join(stream.pieces())
    message = str(error.value)
    assert message.startswith(f"{path} cannot be decoded as punycode (") and "\n" not in message
    assert message.endswith(
        "; name its encoding with --encoding, or convert the file to UTF-8 first"
    )


def test_a_large_read_shows_its_progress(tmp_path, capsys):
    path = tmp_path / "text.txt"
    path.write_text(TEXT, encoding="utf-8")
    stream = TextStream(resolve_text_source(str(path)))
    scan_text(stream, progress_min_bytes=10)
    assert capsys.readouterr().err.splitlines()[-1].endswith("100%")
    scan_text(stream, progress_min_bytes=len(TEXT.encode()) + 1)
    assert capsys.readouterr().err == ""
    out = io.StringIO()
    with ReadProgress("reading", 2_000_000, out) as progress:
        progress(1_000_000)
    assert out.getvalue().splitlines() == ["reading  1.0/2.0 MB   50%"] * 2
