"""``rnnkit serve``: the studio, a local web page that looks inside trained runs.

    rnnkit serve runs/charlm-lstm-20250101-120000        # one run
    rnnkit serve --runs-dir runs                          # every run under runs/
    rnnkit serve --runs-dir runs --port 8123

Binds 127.0.0.1 unless --host says otherwise. The page serves only the runs it was given or
found under --runs-dir, and loads nothing from the internet. Views: the runs with their loss
curves (updated while a run trains); Write, a char model's text streamed with each
character's probability; Neurons (any recurrent run on text: char model, classifier, tagger,
translation encoder), a text coloured by one unit's activation, the units that best track
simple features of the text, and each gate's saturation; Predict, a translation with its
attention heatmap, a classifier's labels as the input is read, a tagger's tags, a caption, a
forecast against the series and the baselines; Gradients, ||dL/dh_t|| of the task's own loss
at every step, as rnnkit diagnose gradients draws it. --device puts the models there (default
auto: cuda if available, else mps, else cpu). Limits: 2,000 characters a generation, 8
generations at once, 5,000 characters of text to trace, 300 to predict, 1,000 steps of
gradients.
"""

from __future__ import annotations

import argparse
import socket
import sys

from rnnkit.cli.args import add_device_flag, command

LOCAL = "127.0.0.1"


def register(subparsers) -> None:
    parser = command(
        subparsers, "serve", __doc__, help="a local web page that looks inside trained runs"
    )
    parser.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="runs to serve")
    parser.add_argument("--runs-dir", metavar="DIR", help="also serve every run under DIR")
    parser.add_argument("--host", default=LOCAL, help=f"address to bind (default {LOCAL})")
    parser.add_argument("--port", type=int, default=8000, help="(default 8000)")
    add_device_flag(parser)
    parser.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    import torch
    import uvicorn

    from rnnkit.serve.app import create_app
    from rnnkit.serve.runs import RunIndex
    from rnnkit.training.devices import resolve_device

    if not args.run_dirs and args.runs_dir is None:
        raise ValueError("name run directories or --runs-dir DIR; see rnnkit serve --help")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    device = str(resolve_device(args.inference_device))  # a missing one: a one-line error
    index = RunIndex.find(args.run_dirs, args.runs_dir)
    if args.host != LOCAL:
        print(
            f"rnnkit serve: warning: binding {args.host}: anyone who can reach this machine "
            "can use the studio",
            file=sys.stderr,
        )
    check_port_free(args.host, args.port)
    torch.set_num_threads(1)  # one character at a time: a second thread only adds waiting
    print(f"rnnkit studio: http://{args.host}:{args.port}/  ({len(index.ids())} runs, {device})")
    sys.stdout.flush()
    uvicorn.run(create_app(index, device), host=args.host, port=args.port, log_level="warning")
    return 0


def check_port_free(host: str, port: int) -> None:
    """A ValueError if ``port`` on ``host`` cannot be bound (another server holds it), before
    the studio's address is printed; uvicorn binds it the same way right after."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(
            f"cannot listen on {host}:{port} ({reason}); another server may hold it: "
            "choose another --port"
        ) from None
