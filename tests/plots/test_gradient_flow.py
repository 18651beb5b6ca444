"""The gradient-flow plot: curves relative to the last step, in log10."""

import math

from rnnkit.plots.gradient_flow import plot_gradient_flow, relative_log10


def test_relative_log10_divides_by_the_last_step_and_skips_zeros():
    curve = relative_log10([2.0, 0.2, 0.0, math.inf, 2e-3])
    assert curve[0] == 0.0 and math.isclose(curve[1], -1.0) and math.isclose(curve[4], -3.0)
    assert math.isnan(curve[2]) and math.isnan(curve[3])
    assert all(math.isnan(v) for v in relative_log10([0.0, 1.0]))


def test_layers_and_cell_states_draw(tmp_path):
    lstm = [{"h": [1.0, 0.1], "c": [1.0, 0.5]}, {"h": [1.0, 0.01], "c": [1.0, 0.0]}]
    norms = {"lstm": lstm, "rnn": [{"h": [1.0, 1e-5]}]}
    path = plot_gradient_flow(norms, tmp_path / "gradients.png", "title", threshold=1e-3)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
