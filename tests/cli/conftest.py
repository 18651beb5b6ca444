"""What the command-line tests share: a tiny text for the char model's runs."""

import pytest

TEXT = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
) * 40


@pytest.fixture
def text_file(tmp_path):
    """``TEXT`` in a file of the test's folder."""
    path = tmp_path / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path
