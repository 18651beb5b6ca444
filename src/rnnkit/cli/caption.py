"""``rnnkit caption RUN_DIR IMAGE...``: caption images with a trained captioner.

    rnnkit caption runs/caption-emoji-attention cat.png                  # beam search, 3 beams
    rnnkit caption runs/caption-emoji-attention cat.png --beam 1         # greedy
    rnnkit caption runs/caption-emoji-attention cat.png --temperature 0.8 --seed 1   # sampled
    rnnkit caption runs/caption-emoji-attention cat.png --attention-png cat-attention.png

An image of any size is made RGB on white and 64x64, as in training. With --json, one JSON
object a line (one per image). --beam and --length-penalty set the beam search, --temperature
and --seed the sampling: the two are refused together. The --attention-png suffix names the
format (.png, .svg, .pdf); a file already there is replaced only if it is a figure of that
format, never if it is one of the images. With several images, map.png becomes map-cat.png,
map-dog.png, ...; where two images share a name (a/x.png b/x.png): map-1-x.png, map-2-x.png.
Every image is opened before the first is captioned: a missing or damaged one prints nothing.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

from rnnkit.cli.args import (
    add_backend_flag,
    add_device_flag,
    backend_model,
    guarded,
    positive_int,
    refuse_unused_decoding_flags,
    run_command,
)
from rnnkit.cli.numbers import seed
from rnnkit.data.output_paths import figure_paths


def register(subparsers) -> None:
    parser = run_command(
        subparsers, "caption", __doc__, help="caption images with a trained captioning run"
    )
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    parser.add_argument(
        "--beam", type=positive_int, metavar="K", help="beam size (default: the run's, 3)"
    )
    parser.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="sample the caption at this temperature instead of beam search (0: greedy)",
    )
    parser.add_argument("--seed", type=seed, help="seed of the sampling (with --temperature)")
    parser.add_argument("--max-length", type=positive_int, metavar="N", help="most words")
    parser.add_argument(
        "--length-penalty",
        type=float,
        metavar="ALPHA",
        help="GNMT's length normalisation of beam search (default: the run's)",
    )
    parser.add_argument(
        "--attention-png",
        metavar="PATH",
        help="draw the attention over the image for each word (attention runs; with several "
        "images, IMAGE's name is added to PATH, and its position where names repeat)",
    )
    add_device_flag(parser)
    add_backend_flag(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    parser.set_defaults(func=caption_command)


def caption_command(args: argparse.Namespace) -> int:
    from rnnkit.tasks.caption_runs import caption_file, check_image_file

    refuse_unused_decoding_flags(args, "caption", search=("beam", "length_penalty"))
    labels = [Path(image).stem for image in args.images]  # map-IMAGE.png
    pngs = figure_paths(args.attention_png, labels, "--attention-png", inputs=args.images)
    for image in args.images:  # all opened before the first is captioned: no partial output
        guarded(partial(check_image_file, image))
    model = backend_model(args)
    for image, png in zip(args.images, pngs, strict=True):
        draw = partial(
            caption_file,
            args.run_dir,
            image,
            beam=args.beam,
            temperature=args.temperature,
            seed=args.seed,
            max_length=args.max_length,
            length_penalty=args.length_penalty,
            attention_png=png,
            checkpoint=args.checkpoint,
            model=model,
        )
        result = guarded(draw)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{image}: {result['caption']}")
            if "attention_png" in result:
                print(f"  attention map: {result['attention_png']}")
    return 0
