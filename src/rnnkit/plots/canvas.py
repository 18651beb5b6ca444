"""The figure and its file: matplotlib's Agg canvas (no pyplot state, no screen), written
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
from rnnkit.data.output_paths import figure_format, figure_path


def new_figure(width: float, height: float, dpi: int = 100):
    """A matplotlib ``Figure`` of ``width`` x ``height`` inches with an Agg canvas attached
    (matplotlib is imported here, so importing rnnkit stays quick)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path: str | Path) -> Path:
    """Render ``figure`` at ``path`` (parents created, written atomically); returns it. The
    suffix names the format: .png as every figure of a run, or .svg or .pdf where the user
    names the file. A folder or a file other than a figure of that format (or an empty one) at
    ``path`` is a ValueError and stays as it was (``rnnkit.data.output_paths.figure_path``)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = figure_format(figure_path(path))
    buffer = BytesIO()
    figure.savefig(buffer, format=fmt)
    atomic_write_bytes(path, buffer.getvalue())
    return path
