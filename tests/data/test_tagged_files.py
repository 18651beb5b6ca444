"""The tagging parsers: CoNLL columns (and every error they can end with) and word/TAG lines."""

import pytest

from rnnkit.data.tagged_files import read_conll, read_word_tag, split_word_tag


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_conll_two_columns_blank_lines_between_sentences(tmp_path):
    text = "@paul\tO\nEmpire\tB-facility\nState\tI-facility\n\t\n\nHi O\nthere   O\n"
    sentences, tags = read_conll(write(tmp_path, "ner.txt", text))
    assert sentences == [["@paul", "Empire", "State"], ["Hi", "there"]]
    assert tags == [["O", "B-facility", "I-facility"], ["O", "O"]]


def test_conll_2003_columns_keep_token_and_last_tag_and_skip_docstart(tmp_path):
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
    sentences, tags = read_conll(write(tmp_path, "train.conll", text))
    assert sentences == [["EU", "rejects"]] and tags == [["B-ORG", "O"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hi O\nlonely\n", "line 2 is 'lonely'; expected a token and its tag"),
        ("\n\n  \n", "holds no tagged tokens"),
        ("", "is empty"),
    ],
)
def test_bad_conll(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_conll(write(tmp_path, "bad.conll", text))


def test_conll_not_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "bad.conll", "Hi O\n\nCaf\u00e9 B-LOC\n", encoding="latin-1")
    with pytest.raises(ValueError, match="not UTF-8 text.*\\(line 3\\)"):
        read_conll(path)


def test_split_word_tag():
    assert split_word_tag("Vinken/NNP") == ("Vinken", "NNP")
    assert split_word_tag("./.") == (".", ".")
    assert split_word_tag("1\\/2/CD") == ("1/2", "CD")  # Penn's escaped slash
    assert split_word_tag("and/or/CC") == ("and/or", "CC")  # the tag follows the last slash
    assert split_word_tag("\\/NN") == ("\\", "NN")  # OANC's lone backslash word
    assert split_word_tag("polishing/VBG|NN") == ("polishing", "VBG")
    assert split_word_tag("nothing") is None and split_word_tag("/NN") is None
    assert split_word_tag("word/") is None


def test_word_tag_file(tmp_path):
    text = "Pierre/NNP Vinken/NNP ,/, 61/CD years/NNS\n\nMr./NNP Vinken/NNP is/VBZ ./."
    sentences, tags = read_word_tag(write(tmp_path, "wsj.txt", text))
    assert sentences == [["Pierre", "Vinken", ",", "61", "years"], ["Mr.", "Vinken", "is", "."]]
    assert tags == [["NNP", "NNP", ",", "CD", "NNS"], ["NNP", "NNP", "VBZ", "."]]


def test_word_tag_error_names_line_and_token(tmp_path):
    path = write(tmp_path, "wsj.txt", "a/DT b/NN\nthe/DT dog\n")
    with pytest.raises(ValueError, match="line 2: 'dog' is not word/TAG"):
        read_word_tag(path)


def test_conll_lines_break_at_newline_only(tmp_path):
    text = "Hi O\r\n\x0c\r\nsee\u2028you O\r\nlonely\r\n"
    with pytest.raises(ValueError, match="line 4 is 'lonely'"):
        read_conll(write(tmp_path, "ff.conll", text))
    sentences, tags = read_conll(write(tmp_path, "ok.conll", text.replace("lonely", "x O")))
    assert sentences == [["Hi"], ["see", "x"]] and tags == [["O"], ["O", "O"]]


def test_word_tag_lines_break_at_newline_only(tmp_path):
    text = "a/DT\x0cb/NN\n\u2029\nc/VB d\n"
    with pytest.raises(ValueError, match="line 3: 'd' is not word/TAG"):
        read_word_tag(write(tmp_path, "w.txt", text))
