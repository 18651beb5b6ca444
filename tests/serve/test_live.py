"""The studio's server as it runs (``rnnkit serve`` in its own process, the ``server``
fixture): what only a real connection shows, such as a page that hangs up mid-stream."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request


def test_a_stream_the_page_leaves_gives_its_generation_slot_back_at_once(server):
    """Eight streams (the most the studio runs at once) read a little and hang up, as a
    page that is closed or stopped does: the next Write is served, not refused with 429
    (the old stream held its slot until garbage collection, minutes later)."""
    host, port = server.removeprefix("http://").split(":")
    streams = []
    for seed in range(8):
        stream = socket.create_connection((host, int(port)))
        request = f"GET /api/runs/charlm/write?length=2000&seed={seed} HTTP/1.1\r\nHost: x\r\n\r\n"
        stream.sendall(request.encode())
        stream.recv(100)
        streams.append(stream)
    for stream in streams:
        stream.close()
    deadline = time.time() + 15
    while True:
        try:
            with urllib.request.urlopen(f"{server}/api/runs/charlm/write?length=2") as answer:
                assert answer.status == 200
                return
        except urllib.error.HTTPError as error:
            assert error.code == 429 and time.time() < deadline, "the slots were not given back"
            time.sleep(0.2)
