"""Fixtures: a tiny text and a tiny configuration that trains in a few seconds."""

import pytest

LINES = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
    "HAMLET:\nTo be, or not to be, that is the question.\n\n"
)


@pytest.fixture
def tiny_text(tmp_path):
    """About 5,000 characters of three speeches, repeated: learnable in a few dozen steps."""
    path = tmp_path / "tiny.txt"
    path.write_text(LINES * 30, encoding="utf-8")
    return path


@pytest.fixture
def tiny_config(tiny_text):
    """A tiny LSTM on the tiny text, 12 steps, evaluated every 4."""
    from rnnkit.tasks.charlm_config import resolve_config

    def make(**overrides):
        values = {
            "data.source": str(tiny_text),
            "data.seq_len": 12,
            "data.batch_size": 4,
            "model.hidden_size": 24,
            "model.num_layers": 1,
            "trainer.max_steps": 12,
            "trainer.eval_every": 4,
            "trainer.log_every": 1,
            "sampling.length": 30,
            "data.max_chars": None,
        }
        return resolve_config("smoke", {**values, **overrides})

    return make
