"""A model whose weights are not finite (a diverged run) is diagnosed, not crashed on: its
non-finite numbers are NaN / inf in the library, null in the JSON and '-' in the table, and the
largest sigma_max over the blocks is non-finite as soon as one block's is."""

from __future__ import annotations

import json
import math

import pytest
import torch

import rnnkit.nn as rn
from rnnkit.cli.diagnose import format_table
from rnnkit.diagnostics import diagnose_layer
from rnnkit.diagnostics.gradient_flow import GradientFlow
from rnnkit.diagnostics.gradients import write_report
from rnnkit.diagnostics.report import Diagnosis
from rnnkit.diagnostics.spectrum import block_spectrum, cell_spectrum

D, H = 4, 5


def _two_layer_lstm(bad: float) -> rn.LSTM:
    """A 2-layer LSTM with ``bad`` at entry (0, 0) of layer 1's ``weight_hh``: block ``i``."""
    torch.manual_seed(3)
    layer = rn.LSTM(D, H, num_layers=2).double()
    with torch.no_grad():
        layer.weight_hh_l1[0, 0] = bad
    return layer


def test_a_nan_weight_is_reported_as_nan_not_a_linalg_error():
    layer = _two_layer_lstm(math.nan)
    diagnosis = diagnose_layer(layer, seq_len=6, batch_size=2)

    top = diagnosis.spectrum[1]
    assert math.isnan(top["i"]["sigma_max"]) and math.isnan(top["i"]["spectral_radius"])
    finite_f = block_spectrum(layer.weight_hh_l1.detach()[H : 2 * H])  # a block without the NaN
    assert top["f"] == finite_f and math.isfinite(finite_f["sigma_max"])
    bottom = diagnosis.spectrum[0]  # layer 0 is untouched: its numbers stay
    assert bottom == cell_spectrum(layer.cells()[0])
    assert all(math.isfinite(b["sigma_max"]) for b in bottom.values())
    assert math.isnan(diagnosis.largest("sigma_max"))
    summary = diagnosis.summary()
    assert summary["sigma_max"] is None and summary["spectral_radius"] is None
    assert summary["layers"][1]["spectrum"]["i"] == {"sigma_max": None, "spectral_radius": None}
    json.dumps(summary, allow_nan=False)  # valid JSON: no NaN literal
    assert diagnosis.record()["sigma_max/l1/i"] is None


def test_an_inf_weight_gives_an_infinite_sigma_max():
    diagnosis = diagnose_layer(_two_layer_lstm(math.inf), seq_len=6, batch_size=2)
    assert diagnosis.spectrum[1]["i"]["sigma_max"] == math.inf  # sigma_max >= max |w_ij|
    assert math.isnan(diagnosis.spectrum[1]["i"]["spectral_radius"])
    assert diagnosis.largest("sigma_max") == math.inf
    assert diagnosis.summary()["sigma_max"] is None


@pytest.mark.parametrize("order", [(2.0, math.nan), (math.nan, 2.0)])
def test_the_largest_value_is_nan_wherever_the_nan_block_stands(order):
    spectrum = [{"i": {"sigma_max": value, "spectral_radius": 1.0}} for value in order]
    flow = GradientFlow([{"h": [1.0, 0.5]}, {"h": [1.0, 0.5]}])
    diagnosis = Diagnosis("last", flow, spectrum, [{}, {}])
    assert math.isnan(diagnosis.largest("sigma_max"))  # plain max() gave 2.0 for one order
    assert diagnosis.largest("spectral_radius") == 1.0


def test_the_written_report_of_an_infinite_model_prints_as_a_table(tmp_path):
    diagnosis = diagnose_layer(_two_layer_lstm(math.inf), seq_len=6, batch_size=2)
    written = write_report({"lstm": diagnosis}, tmp_path, "inf", {"seq_len": 6, "loss": "last"})
    report = json.loads((tmp_path / "gradients.json").read_text())  # nulls, as the CLI reads
    assert report["cells"] == written["cells"]

    rows = format_table(report).splitlines()
    bottom, top = rows[1].split(), rows[3].split()  # lstm 0 h ..., lstm 1 h ...
    sigma_bottom = max(b["sigma_max"] for b in diagnosis.spectrum[0].values())
    assert bottom[:3] == ["lstm", "0", "h"] and f"{sigma_bottom:.3f}" in bottom
    assert top[:3] == ["lstm", "1", "h"] and top[-4:-2] == ["-", "-"]  # sigma_max, rho
