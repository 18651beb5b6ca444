"""``rnnkit translate RUN_DIR SENTENCE...``: translate with a trained seq2seq run.

    rnnkit translate runs/seq2seq-bible "In the beginning God created the heaven and the earth."
    rnnkit translate runs/seq2seq-bible "And God said, Let there be light." --beam 1   # greedy
    rnnkit translate runs/seq2seq-bible "..." --temperature 0.8 --seed 1      # a sample
    rnnkit translate runs/seq2seq-bible "..." --attention-png attention.png   # the heatmap

Words the model's vocabulary lacks are read as <unk> (listed in a note on stderr). With
several sentences and --attention-png, the k-th heatmap goes to PATH with "-k" before the
suffix. The suffix names the format (.png, .svg, .pdf); a file already there is replaced only
if it is a figure of that format (rnnkit.data.output_paths).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial

from rnnkit.cli.args import (
    add_backend_flag,
    add_device_flag,
    guarded,
    loaded_run,
    positive_int,
    refuse_unused_decoding_flags,
    run_command,
)
from rnnkit.cli.numbers import seed
from rnnkit.data.output_paths import figure_paths


def register(subparsers) -> None:
    parser = run_command(
        subparsers,
        "translate",
        __doc__,
        help="translate sentences with a trained seq2seq run (beam search or sampling)",
    )
    parser.add_argument("sentences", nargs="+", metavar="SENTENCE")
    parser.add_argument("--beam", type=positive_int, metavar="K", help="(5; 1: greedy)")
    parser.add_argument(
        "--temperature", type=float, metavar="T", help="sample at temperature T instead of beam"
    )
    parser.add_argument("--seed", type=seed, help="seed of the sampling (with --temperature)")
    parser.add_argument("--attention-png", metavar="PATH", help="write the attention heatmap")
    add_device_flag(parser)
    add_backend_flag(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=translate_command)


def translate_command(args: argparse.Namespace) -> int:
    from rnnkit.tasks.seq2seq_runs import load_run, translate, translation_heatmap

    refuse_unused_decoding_flags(args, "translation")
    beam = 5 if args.beam is None else args.beam
    labels = [str(k) for k in range(1, len(args.sentences) + 1)]  # heatmap-k.png
    pngs = figure_paths(args.attention_png, labels, "--attention-png")
    run = loaded_run(args, load_run)
    if args.attention_png and run.model.attention is None:
        raise ValueError(f"{args.run_dir} has no attention (attention none): no heatmap to draw")
    results = []
    for sentence, png in zip(args.sentences, pngs, strict=True):
        translation = translate(run, sentence, beam, args.temperature, args.seed)
        entry = {
            "source": sentence,
            "translation": translation.text,
            "unknown_words": translation.unknown_words,
        }
        if png is not None:
            draw = partial(translation_heatmap, translation, run.vocab, png, sentence[:80])
            entry["attention_png"] = str(guarded(draw))
        results.append(entry)
    if args.json:
        print(json.dumps({"run_dir": args.run_dir, "translations": results}, ensure_ascii=False))
        return 0
    for entry in results:
        if entry["unknown_words"]:
            print(
                f"note: not in the vocabulary, read as <unk>: {', '.join(entry['unknown_words'])}",
                file=sys.stderr,
            )
        print(entry["translation"], flush=True)
        if "attention_png" in entry:
            print(f"attention heatmap: {entry['attention_png']}", file=sys.stderr)
    return 0
