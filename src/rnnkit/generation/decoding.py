"""How an encoder-decoder task decodes its test split: greedy, and beam search with
``beam_size`` beams and GNMT's ``length_penalty`` alpha (``rnnkit.generation.beam_search``;
0: the plain log-probability). An output has at most

    max_length + max_length_ratio * (source tokens)

tokens (a captioner has no source: ``max_length`` words). ``heatmaps``: attention maps drawn
of the first test examples (a model with attention).

Translation and captioning hold one each (``decoding`` of their configs), with their own
defaults; the class defaults are what a config.json written before a field existed meant.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnkit.options import check_int, check_number, check_options, option

GROUP = "test decoding"


@dataclass
class DecodingConfig:
    """Beam search and the longest output of the test split's decoding (module docstring)."""

    beam_size: int = option(5, "beam size", name="beam", metavar="K", minimum=1, group=GROUP)
    length_penalty: float = option(
        0.6, "GNMT's alpha (0: plain log-probability)", metavar="A", group=GROUP
    )
    max_length: int = 10
    max_length_ratio: float = 0.0
    heatmaps: int = option(
        4, "attention maps of the first test examples", metavar="N", minimum=0, group=GROUP
    )

    def validate(self) -> None:
        check_options(self)
        check_int("max_length", self.max_length)
        for name in ("length_penalty", "max_length_ratio"):
            check_number(name, getattr(self, name), below_one=False)

    def longest(self, source_tokens: int = 0) -> int:
        """The most tokens an output of a source of ``source_tokens`` tokens may have."""
        return self.max_length + int(self.max_length_ratio * source_tokens)


def search_penalty(beam_size: int, length_penalty: float) -> float:
    """The length penalty a task's beam search runs with: its own, but 0 for a beam of one,
    which the commands promise is greedy (``--beam 1``): under a penalty, a beam of one can set
    an ended hypothesis aside and end with a longer one (``beam_search``)."""
    return length_penalty if beam_size > 1 else 0.0
