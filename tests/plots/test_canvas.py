"""The Agg figure and its atomically written PNG."""

from rnnkit.plots.canvas import new_figure, save_png


def test_save_png_creates_folders_and_writes_a_whole_png(tmp_path):
    figure = new_figure(3, 2)
    figure.add_subplot().plot([0, 1], [1, 0])
    path = save_png(figure, tmp_path / "a" / "b" / "plot.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    assert [p.name for p in path.parent.iterdir()] == ["plot.png"]  # no temporary left behind
