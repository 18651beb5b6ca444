"""The ``rnnkit`` commands that README.md and docs/*.md show, read out of the Markdown, and the
tiny offline world they run in (tests/cli/test_documented_commands.py).

Nothing here imports rnnkit: the commands are read from the Markdown as text, and the data
they need is written as files in the formats a fetched data set has on disk (the cache layout
of docs/data.md), so the checks survive any reorganisation of the package.

Reading the Markdown:

* fenced blocks whose language is bash, sh, shell, console or none (python, json and text
  blocks are code or output, not commands); a line ending in ``\\`` continues on the next;
* inline code spans that start with ``rnnkit`` (also when they run across a line break);
* a line is split on ``&&``, ``;`` and ``|`` into commands; ``# comments`` are dropped
  (shell rules: quotes are respected); ``.venv/bin/rnnkit`` counts as ``rnnkit``;
* an unquoted ``...`` word elides more of the same (``rnnkit evaluate RUN1 ... RUN5``) and is
  dropped; a quoted ``"..."`` is a value (a sentence to translate) and stays;
* ``a|b`` inside one word (``classify\\|tag``, ``--mode direct|recursive``) stands for
  alternatives, and ``[--x 1 | --y 2]`` for an optional choice: each alternative becomes its
  own command;
* ``python benchmarks/...`` lines are counted as benchmarks and other commands (``python -m
  ...``, ``pip``, ``venv``, ``pytest``) as other, neither of them checked.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMAND_LANGUAGES = ("", "bash", "sh", "shell", "console")
FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
SEPARATORS = ("&&", "||", ";", "|")
OTHER_PROGRAMS = ("python", "python3", "pip", "pip3", "pytest", "tensorboard")


@dataclass(frozen=True)
class DocCommand:
    """One ``rnnkit`` command as the docs show it: ``argv`` is what follows ``rnnkit``."""

    file: str  # "README.md", "docs/charlm.md"
    line: int  # 1-based line where the command starts
    argv: tuple[str, ...]
    inline: bool  # an inline code span, not a fenced block
    text: str  # the span or (joined) line it came from

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def shell(self) -> str:
        return "rnnkit " + shlex.join(self.argv)


@dataclass
class Extraction:
    commands: list[DocCommand]
    benchmarks: list[tuple[str, int, str]]  # (file, line, text): python benchmarks/...
    other: list[tuple[str, int, str]]  # python -m ..., pip, venv, pytest


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def extract(root: Path = ROOT) -> Extraction:
    """Every documented command of README.md and docs/*.md (see the module docstring)."""
    found = Extraction([], [], [])
    for path in doc_files(root):
        name = path.relative_to(root).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        prose = list(lines)
        for start, block in _fenced_blocks(lines):
            for offset in range(len(block) + 2):
                prose[start - 1 + offset] = ""  # keep the line numbers of the prose
            for line, text in _logical_lines(block, start + 1):
                _add(found, name, line, text, inline=False)
        text = "\n".join(prose)
        for match in INLINE.finditer(text):
            span = match.group(1)
            if "\n\n" in span:
                continue
            span = " ".join(span.replace("\\|", "|").split())
            line = text.count("\n", 0, match.start()) + 1
            if re.match(r"(\S*/)?rnnkit ", span) or span.startswith("python benchmarks/"):
                _add(found, name, line, span, inline=True)
    return found


def _fenced_blocks(lines: list[str]):
    """``(line of the first content line, content lines)`` of every command block."""
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, language = match.group(1), match.group(2).lower()
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if language in COMMAND_LANGUAGES:
            yield index + 1, lines[index + 1 : end]
        index = end + 1


def _logical_lines(block: list[str], first_line: int):
    """Lines with their ``\\`` continuations joined: ``(line number, text)``."""
    pending, start = "", None
    for number, line in enumerate(block, start=first_line):
        if start is None:
            start = number
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield start, pending + line
        pending, start = "", None
    if start is not None:
        yield start, pending


def _add(found: Extraction, name: str, line: int, text: str, inline: bool) -> None:
    elided = re.sub(r"(?<!\S)\.\.\.(?!\S)", " ", text)
    for variant in _alternatives(elided):
        try:
            words = shlex.split(variant, comments=True)
        except ValueError:  # unbalanced quotes: prose or output in an untyped block
            assert not re.match(r"(\S*/)?rnnkit ", text.strip()), f"{name}:{line}: {text!r}"
            return
        for command in _commands(words):
            program = command[0].rpartition("/")[2]
            if program == "rnnkit":
                found.commands.append(DocCommand(name, line, tuple(command[1:]), inline, text))
            elif (
                program.startswith("python")
                and command[1:2]
                and command[1].startswith("benchmarks/")
            ):
                found.benchmarks.append((name, line, shlex.join(command)))
            elif program in OTHER_PROGRAMS:
                found.other.append((name, line, shlex.join(command)))


def _commands(words: list[str]):
    """Split a line's words on ``&&``, ``;`` and ``|``; drop shell loop keywords."""
    current: list[str] = []
    for word in [*words, "&&"]:
        if word in SEPARATORS or word.endswith(";"):
            if word.endswith(";") and word not in SEPARATORS:
                current.append(word[:-1])
            if current and current[0] not in ("for", "do", "done"):
                yield current
            elif current and current[0] == "do":
                yield from _commands(current[1:])
            current = []
        else:
            current.append(word)


def _alternatives(text: str) -> list[str]:
    """``[A | B]`` -> without, with A, with B; ``x|y`` inside a word -> x, y."""
    group = re.search(r"\[([^\]]*--[^\]]*)\]", text)
    if group:
        choices = ["", *(part.strip() for part in group.group(1).split(" | "))]
        return [
            variant
            for choice in choices
            for variant in _alternatives(text[: group.start()] + choice + text[group.end() :])
        ]
    words = text.split(" ")
    options = [w.split("|") if "|" in w.strip("|") and w != "|" else [w] for w in words]
    return [" ".join(choice) for choice in itertools.product(*options)]


# -- the tiny offline world ------------------------------------------------------------------

MARKER = "rnnkit-dataset.json"  # docs/data.md: a fetched data set's provenance record
TEXT = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
    "HAMLET:\nTo be, or not to be, that is the question.\n\n"
) * 300
SURNAMES = {"Nordic": "son", "Polish": "ski", "Japanese": "moto"}
STEMS = ["ander", "kow", "ber", "nak", "ols", "lew", "mur", "tan", "pet", "sam",
         "vin", "dor", "hal", "rig", "fen", "lom", "gar", "tis", "bel", "cor"]  # fmt: skip
NOUNS = {"dog": "perro", "cat": "gato", "man": "hombre", "king": "rey", "horse": "caballo"}
ADJECTIVES = {"red": "rojo", "old": "viejo", "good": "bueno", "small": "chico"}
VERBS = {"sees": "ve", "loves": "ama", "finds": "halla"}
COLOURS = {"red": (220, 30, 30, 255), "blue": (30, 30, 220, 255), "green": (30, 160, 30, 255)}


def sentence_pairs() -> list[tuple[str, str]]:
    """60 (English, Spanish) toy sentences: "The red dog sees the cat." ..."""
    pairs = []
    for k, (noun, adjective, verb) in enumerate(itertools.product(NOUNS, ADJECTIVES, VERBS)):
        other = list(NOUNS)[k % len(NOUNS)]
        english = f"The {adjective} {noun} {verb} the {other}."
        spanish = f"El {NOUNS[noun]} {ADJECTIVES[adjective]} {VERBS[verb]} el {NOUNS[other]}."
        pairs.append((english, spanish))
    return pairs


def tagged_sentences() -> list[list[tuple[str, str]]]:
    """40 sentences: capitalised words after 'in' are places (LOC), after 'met' people."""
    people, places = ["Ann", "Bob", "Cem", "Dua"], ["Oslo", "Rome", "Lima", "Kyiv"]
    sentences = []
    for k in range(40):
        person, place = people[k % 4], places[(k // 4) % 4]
        words = [("I", "O"), ("met", "O"), (person, "B-PER")]
        if k % 3 == 0:
            words.append(("Smith", "I-PER"))
        sentences.append([*words, ("in", "O"), (place, "B-LOC"), (".", "O")])
    return sentences


def monthly_values(count: int, level: float = 100.0) -> list[float]:
    """A seasonal series with a trend (period 12), positive."""
    return [
        level + 0.8 * t + 10 * math.sin(2 * math.pi * t / 12) + 3 * math.sin(t * 1.7)
        for t in range(count)
    ]


def png(colour: tuple, shape: str, corner: tuple[int, int]) -> bytes:
    """A 64x64 RGBA PNG: a filled circle or square on a transparent background, as an emoji."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    box = [corner[0], corner[1], corner[0] + 32, corner[1] + 32]
    draw = ImageDraw.Draw(image)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shape_images():
    """24 (file stem, caption, colour, shape, corner): 12 captions, two images each."""
    corners = ((4, 4), (24, 20))
    for colour, fill in COLOURS.items():
        for shape in ("circle", "square", "ring", "block"):
            drawn = "circle" if shape in ("circle", "ring") else "square"
            for k, corner in enumerate(corners):
                yield f"{colour}-{shape}-{k}", f"{colour} {shape}", fill, drawn, corner


def _fetched(cache: Path, name: str, files: dict[str, bytes], kind: str = "files") -> None:
    """``<cache>/<name>/<kind>/...`` and the marker that says the data set is complete."""
    folder = cache / name
    for relative, data in files.items():
        path = folder / kind / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    digests = {relative: hashlib.sha256(data).hexdigest() for relative, data in files.items()}
    marker = {
        "format": "rnnkit.dataset",
        "version": 1,
        "name": name,
        "registry": "test",
        "package": f"tiny-{name}",
        "package_version": "0",
        "archive": f"tiny-{name}.whl",
        "archive_sha256": "0" * 64,
        "files": len(files),
        "bytes": sum(len(data) for data in files.values()),
        "skipped": [],
        **({"file_sha256": digests} if kind == "files" else {}),
        "licence": "test data",
        "fetched_at": "2026-01-01T00:00:00+00:00",
        "rnnkit_version": "test",
    }
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def write_fake_cache(cache: Path) -> list[str]:
    """Tiny stand-ins of every fetchable data set, as ``rnnkit data fetch`` leaves them in
    ``$RNNKIT_CACHE`` (docs/data.md); returns their names."""
    names = [
        (stem.title() + ending, origin) for stem in STEMS for origin, ending in SURNAMES.items()
    ]
    _fetched(cache, "names", {
        "names.tsv": ("surname\torigin\n" + "".join(f"{s}\t{o}\n" for s, o in names)).encode(),
    })  # fmt: skip
    reviews = []
    for k, stem in enumerate(STEMS * 2):
        word, score = [("good", 2.1), ("awful", -2.3), ("great", 1.8), ("dull", -1.4)][k % 4]
        reviews.append(f"{k + 1}_{k}\t{score}\tThe {stem} film was {word}!\r\n")
    _fetched(cache, "sentiment", {
        "movieReviewSnippets_GroundTruth.txt": "".join(reviews).encode(),
        "tweets_GroundTruth.txt": "".join(reviews[:20]).encode(),
    })  # fmt: skip
    vowels = {"JapaneseVowels_TRAIN.ts": _ts_file(30, 0), "JapaneseVowels_TEST.ts": _ts_file(12, 1)}
    _fetched(cache, "vowels", vowels)
    sentences = tagged_sentences()
    penn = {"I": "PRP", "met": "VBD", "in": "IN", ".": "."}
    word_tag = "".join(
        " ".join(f"{w}/{penn.get(w, 'NNP')}" for w, _ in sentence) + "\n" for sentence in sentences
    ).encode()
    _fetched(cache, "pos", {"tagged-en-wsj.txt": word_tag, "tagged-en-oanc.txt": word_tag})
    conll = "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n"
    _fetched(cache, "ner", {"ner.txt": conll.encode()})
    bible = ["book\tchapter\tverse\ten\tes"]
    bible += [f"Gen\t1\t{k + 1}\t{en}\t{es}" for k, (en, es) in enumerate(sentence_pairs())]
    _fetched(cache, "bible", {"bible.tsv": ("\n".join(bible) + "\n").encode()})
    entries, images = [], {}
    shapes = list(shape_images())
    for k in range(10):  # 10 emoji, a skin-tone variant each: the test split is one emoji
        code, base, variant = f"1F{600 + k:03X}", shapes[2 * k], shapes[2 * k + 1]
        variants = {"1F3FB": {"unified": f"{code}-1F3FB", "image": f"{code.lower()}-1f3fb.png"}}
        entries.append({"unified": code, "image": f"{code.lower()}.png",
                        "name": base[1].upper(), "skin_variations": variants})  # fmt: skip
        for suffix, (_, _, fill, shape, corner) in (("", base), ("-1f3fb", variant)):
            images[f"img/google/64/{code.lower()}{suffix}.png"] = png(fill, shape, corner)
    _fetched(cache, "emoji", {"emoji.json": json.dumps(entries).encode(), **images})
    airline = ["Date,Passengers"] + [
        f"{1949 + t // 12}-{t % 12 + 1:02d},{value:.0f}"
        for t, value in enumerate(monthly_values(144))
    ]
    _fetched(cache, "airline", {"Airline.csv": ("\n".join(airline) + "\n").encode()})
    co2 = ["date,co2"]
    for t, value in enumerate(monthly_values(200, level=315.0)):
        year, month = 1958 + (t + 2) // 12, (t + 2) % 12 + 1
        co2 += [f"{year}{month:02d}{day:02d},{value + day / 100:.2f}" for day in (3, 17)]
    _fetched(cache, "co2", {"co2.csv": ("\n".join(co2) + "\n").encode()})
    sunspots = ['"YEAR","SUNACTIVITY"'] + [
        f"{1700 + t}.0,{50 + 40 * math.sin(2 * math.pi * t / 11):.1f}" for t in range(309)
    ]
    _fetched(cache, "sunspots", {"sunspots.csv": ("\n".join(sunspots) + "\n").encode()})
    _fetched(cache, "digits", {"digits.csv.gz": _image_csv(8, 16, 100)})  # vqa: 1 val a class
    _fetched(cache, "mnist5k", {"mnist_5k.csv.gz": _image_csv(28, 255)})
    c_code = b"int f(int x) { return x * 2; }\nvoid qsort(void) { return; }\n" * 100
    _fetched(cache, "c-code", {"stdlib/qsort.c": c_code}, "text")
    tune = b"X:1\nT:Test tune\nK:G\nGABc d2e2|gfed c2B2|\n"
    _fetched(cache, "abc-music", {"essenFolksong/tune.abc": tune * 150}, "text")
    return sorted(p.name for p in cache.iterdir() if (p / MARKER).is_file())


def _ts_file(count: int, seed: int) -> bytes:
    """sktime's .ts format: 12 dimensions a series, 3 speakers, lengths 4-8."""
    lines = ["@problemName JapaneseVowels", "@timeStamps false", "@univariate false",
             "@dimensions 12", "@equalLength false", "@classLabel true 1 2 3", "@data"]  # fmt: skip
    for k in range(count):
        label, length = k % 3 + 1, 4 + (k + seed) % 5
        dims = [
            ",".join(f"{label + math.sin(t + d + seed):.3f}" for t in range(length))
            for d in range(12)
        ]
        lines.append(":".join([*dims, str(label)]))
    return ("\n".join(lines) + "\n").encode()


def _image_csv(side: int, top: int, count: int = 40) -> bytes:
    """``count`` images of ``side`` x ``side`` pixels and their labels, one a line, gzipped."""
    rows = []
    for k in range(count):
        label = k % 10
        pixels = [(top * ((p * (label + 1) + k) % 7)) // 6 for p in range(side * side)]
        rows.append(",".join(map(str, [*pixels, label])))
    return gzip.compress(("\n".join(rows) + "\n").encode(), mtime=0)


def write_inputs(folder: Path) -> dict[str, Path]:
    """The user files the docs name (``my.txt``, ``notes/``, ``cat.png``, ``pairs.tsv``, ...),
    tiny, under their documented names in ``folder``; returns {name as documented: path}."""
    made = {name: folder / name.rstrip("/") for name in USER_FILES}
    for name in ("my.txt", "my_novel.txt", "other.txt"):
        made[name].write_text(TEXT, encoding="utf-8")
    made["notes/"].mkdir()
    (made["notes/"] / "a.txt").write_text(TEXT[:2000], encoding="utf-8")
    (made["notes/"] / "b.txt").write_text(TEXT[2000:], encoding="utf-8")
    shapes = list(shape_images())
    for name, (_, _, fill, shape, corner) in zip(IMAGES, shapes, strict=False):
        made[name].write_bytes(png(fill, shape, corner))
    lines = ["file\tcaption"]
    made["my-images/"].mkdir()
    for stem, caption, fill, shape, corner in shapes:
        (made["my-images/"] / f"{stem}.png").write_bytes(png(fill, shape, corner))
        lines.append(f"{stem}.png\t{caption}")
    (made["my-images/"] / "captions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    made["pairs.tsv"].write_text("".join(f"{s}\t{t}\n" for s, t in sentence_pairs()), "utf-8")
    series = "".join(f"{value:.3f}\n" for value in monthly_values(120))
    made["my.csv"].write_text(series, encoding="utf-8")  # one value a line
    return made


IMAGES = ("cat.png", "a.png", "b.png", "my-image.png")
USER_FILES = ("my.txt", "my_novel.txt", "other.txt", "notes/", *IMAGES, "my-images/",
              "pairs.tsv", "my.csv")  # fmt: skip
