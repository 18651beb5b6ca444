"""The figure and its PNG: matplotlib's Agg canvas (no pyplot state, no screen), written
atomically so that a reader never sees half a file.

    figure = new_figure(7, 4.5)
    axes = figure.add_subplot()
    ...
    save_png(figure, run_dir / "plots" / "loss.png")
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from rnnkit.data.atomic import atomic_write_bytes


def new_figure(width: float, height: float, dpi: int = 100):
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches with an Agg canvas attached
    (matplotlib is imported here, so importing rnnkit stays quick)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path: str | Path) -> Path:
    """Render ``figure`` to PNG at ``path`` (parents created, written atomically); returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    return path
