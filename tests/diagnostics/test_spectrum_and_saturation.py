"""W_hh spectra against torch.linalg; gate saturation on hand-built cells, and the recomputed
gates against the states the layer actually produced."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import rnnkit.nn as rn
from rnnkit.diagnostics import cell_spectrum, diagnose, record_steps
from rnnkit.diagnostics.report import readout_loss
from rnnkit.diagnostics.saturation import gate_activations, shares
from rnnkit.diagnostics.spectrum import block_spectrum
from rnnkit.models.recurrent import build_recurrent

T, N, D, H = 6, 3, 2, 4
GATES = {rn.RNN: ("h",), rn.LSTM: ("i", "f", "g", "o"), rn.GRU: ("r", "z", "n")}


@pytest.mark.parametrize("layer_class", [rn.RNN, rn.LSTM, rn.GRU])
def test_spectrum_equals_svdvals_and_eigvals_of_each_gate_block(layer_class):
    torch.manual_seed(0)
    layer = layer_class(D, H, num_layers=2)
    x = torch.randn(T, N, D)
    diagnosis = diagnose(layer, readout_loss(x, torch.ones(H) / 2))
    gates = GATES[layer_class]
    for k in range(2):
        blocks = getattr(layer, f"weight_hh_l{k}").detach().double().chunk(len(gates))
        assert list(diagnosis.spectrum[k]) == list(gates)
        for gate, block in zip(gates, blocks, strict=True):
            measured = diagnosis.spectrum[k][gate]
            assert measured["sigma_max"] == pytest.approx(float(torch.linalg.svdvals(block)[0]))
            rho = float(torch.linalg.eigvals(block).abs().max())
            assert measured["spectral_radius"] == pytest.approx(rho)
            assert measured["spectral_radius"] <= measured["sigma_max"] + 1e-12


def test_spectrum_of_known_matrices():
    rotation = torch.tensor([[0.0, -2.0], [2.0, 0.0]])  # eigenvalues +-2i
    assert block_spectrum(rotation) == pytest.approx({"sigma_max": 2.0, "spectral_radius": 2.0})
    nilpotent = torch.tensor([[0.0, 3.0], [0.0, 0.0]])  # sigma_max 3, every eigenvalue 0
    assert block_spectrum(nilpotent) == pytest.approx({"sigma_max": 3.0, "spectral_radius": 0.0})
    with pytest.raises(ValueError, match="square"):
        block_spectrum(torch.zeros(2, 3))


def test_a_custom_cell_with_weight_hh_is_measured_by_blocks():
    class TwoGateCell(nn.Module):
        gate_names = ("a", "b")

        def __init__(self):
            super().__init__()
            self.weight_hh = nn.Parameter(torch.cat([0.5 * torch.eye(3), 2 * torch.eye(3)]))

    spectrum = cell_spectrum(TwoGateCell())
    assert spectrum["a"] == pytest.approx({"sigma_max": 0.5, "spectral_radius": 0.5})
    assert spectrum["b"] == pytest.approx({"sigma_max": 2.0, "spectral_radius": 2.0})


def _constant_layer(layer_class, bias_ih, **options):
    """A layer whose gates see only their bias: W_ih = W_hh = 0, b_hh = 0."""
    layer = layer_class(D, H, **options).double()
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.zero_()
        layer.bias_ih_l0.copy_(torch.tensor(bias_ih, dtype=torch.float64))
    return layer


def _saturation(layer):
    x = torch.randn(T, N, D, dtype=torch.float64)
    return diagnose(layer, readout_loss(x, torch.ones(H, dtype=torch.float64))).saturation[0]


def test_saturation_of_a_hand_built_lstm():
    big = 10.0
    i = [big, big, 0.0, 0.0]  # sigmoid ~1, ~1, 0.5, 0.5: half saturated high
    f = [-big, 0.0, 0.0, 0.0]  # one unit in four forgets everything: low
    g = [big, -big, 0.0, 0.0]  # tanh ~1 and ~-1
    o = [0.0, 0.0, 0.0, 0.0]
    shares_by_gate = _saturation(_constant_layer(rn.LSTM, i + f + g + o))
    assert shares_by_gate["i"] == pytest.approx({"saturated": 0.5, "low": 0.0, "high": 0.5})
    assert shares_by_gate["f"] == pytest.approx({"saturated": 0.25, "low": 0.25, "high": 0.0})
    assert shares_by_gate["g"] == pytest.approx({"saturated": 0.5, "low": 0.25, "high": 0.25})
    assert shares_by_gate["o"]["saturated"] == 0.0
    # tanh(c): unit 0 has c = 1 every step (tanh 0.76); unit 1 has c_t = c_{t-1}/2 - 1,
    # which passes tanh(c) < -0.95 from the step where c < -1.83; units 2, 3 stay at c = 0.
    sig = 1 / (1 + math.exp(-big))
    c, saturated_steps = 0.0, 0
    for _ in range(T):
        c = 0.5 * c + sig * -math.tanh(big)
        saturated_steps += math.tanh(c) < -0.95
    expected = saturated_steps / (T * H)
    assert saturated_steps > 0
    assert shares_by_gate["tanh_c"] == pytest.approx(
        {"saturated": expected, "low": expected, "high": 0.0}
    )


def test_saturation_of_hand_built_gru_and_rnns():
    gru = _saturation(_constant_layer(rn.GRU, [10.0] * 4 + [0.0, 0.0, 0.0, -10.0] + [0.0] * 4))
    assert gru["r"]["high"] == 1.0 and gru["z"]["low"] == 0.25 and gru["n"]["saturated"] == 0.0
    tanh = _saturation(_constant_layer(rn.RNN, [5.0, -5.0, 0.0, 0.1]))
    assert tanh == {"h": pytest.approx({"saturated": 0.5, "low": 0.25, "high": 0.25})}
    relu = _saturation(_constant_layer(rn.RNN, [1.0, -1.0, -1.0, 0.5], nonlinearity="relu"))
    assert relu == {"h": pytest.approx({"saturated": 0.5, "low": 0.5, "high": 0.0})}


def test_shares_thresholds_are_strict():
    values = torch.tensor([0.05, 0.95, 0.0499, 0.9501])
    assert shares(values, "sigmoid") == pytest.approx({"saturated": 0.5, "low": 0.25, "high": 0.25})
    assert shares(torch.tensor([-0.95, 0.95, -0.96, 0.5]), "tanh")["saturated"] == 0.25
    with pytest.raises(ValueError, match="nonlinearity"):
        shares(values, "softplus")


@pytest.mark.parametrize(
    "layer_class, options",
    [
        (rn.RNN, {}),
        (rn.RNN, {"nonlinearity": "relu"}),
        (rn.LSTM, {}),
        (rn.GRU, {}),
        (rn.GRU, {"reset_after": False}),
    ],
)
def test_recomputed_gates_reproduce_the_recorded_states(layer_class, options):
    torch.manual_seed(3)
    layer = layer_class(D, H, num_layers=2, **options).double()
    x = torch.randn(T, N, D, dtype=torch.float64)
    with record_steps(layer) as recording:
        layer(x)
    for k in range(2):
        prev = recording.previous_states(k)
        gates = {
            name: values
            for name, (values, _) in gate_activations(
                recording.cells[k], recording.layer_inputs(k), prev
            ).items()
        }
        states = recording.steps.stacked(k)
        if layer_class is rn.LSTM:
            h, c = states
            assert torch.allclose(gates["o"] * gates["tanh_c"], h)
            assert torch.allclose(gates["f"] * prev[1] + gates["i"] * gates["g"], c)
        elif layer_class is rn.GRU:
            assert torch.allclose((1 - gates["z"]) * gates["n"] + gates["z"] * prev, states)
        else:
            assert torch.allclose(gates["h"], states)


def test_an_unknown_cell_reports_tanh_saturation_of_h():
    class SaturatingCell(nn.Module):
        hidden_size = H

        def forward(self, x, h):
            bias = torch.tensor([5.0, 0.0, 0.0, 0.0], dtype=x.dtype)
            return torch.tanh(bias + 0.01 * x[:, :1] + 0.5 * h)  # only unit 0 saturates

    x = torch.randn(T, N, D, dtype=torch.float64, requires_grad=True)
    layer = rn.Recurrent(SaturatingCell())
    saturation = diagnose(layer, lambda m: m(x)[0][-1].sum()).saturation
    assert saturation == [{"h": pytest.approx({"saturated": 0.25, "low": 0.0, "high": 0.25})}]


def _lstm_states(gates, prev):
    return gates["o"] * gates["tanh_c"], gates["f"] * prev[1] + gates["i"] * gates["g"]


def _gru_states(gates, prev):
    return (1 - gates["z"]) * gates["n"] + gates["z"] * prev


def _mut_states(gates, prev):
    return gates["n"] * gates["z"] + prev * (1 - gates["z"])


GATED_CORES = {
    "peephole": (("i", "f", "g", "o", "tanh_c"), _lstm_states),
    "lnlstm": (("i", "f", "g", "o", "tanh_c"), _lstm_states),
    "gru-lectures": (("r", "z", "n"), _gru_states),
    "lngru": (("r", "z", "n"), _gru_states),
    "mut1": (("z", "r", "n"), _mut_states),
    "mut2": (("z", "r", "n"), _mut_states),
    "mut3": (("z", "r", "n"), _mut_states),
}


def _recorded(name, **options):
    torch.manual_seed(4)
    layer = build_recurrent(name, D, H, num_layers=2, batch_first=False, **options).double()
    x = torch.randn(T, N, D, dtype=torch.float64)
    with record_steps(layer) as recording:
        layer(x)
    return layer, recording


@pytest.mark.parametrize("name", sorted(GATED_CORES))
def test_every_gated_core_reports_its_gates_and_they_rebuild_its_layers_states(name):
    """The gates come from the cell's ``activations``; the states from the layer's own route
    (a compiled loop or a hand-derived whole-sequence backward pass), so a gate computed
    wrongly fails to rebuild them. Its spectrum names the same blocks as its weights."""
    names, rebuild = GATED_CORES[name]
    layer, recording = _recorded(name)
    x, direction = torch.randn(T, N, D).double(), torch.ones(H).double() / 2
    diagnosis = diagnose(layer, readout_loss(x, direction))
    for k in range(2):
        prev = recording.previous_states(k)
        found = gate_activations(recording.cells[k], recording.layer_inputs(k), prev)
        assert tuple(found) == names
        rebuilt = rebuild({gate: values for gate, (values, _) in found.items()}, prev)
        torch.testing.assert_close(rebuilt, recording.steps.stacked(k))
        assert tuple(diagnosis.saturation[k]) == names
        blocks = tuple(gate for gate in names if gate != "tanh_c")  # weight_hh's, in order
        assert tuple(diagnosis.spectrum[k]) == recording.cells[k].gate_names == blocks


@pytest.mark.parametrize(
    "name, rows", [("mingru", {"z": 0}), ("minlstm", {"f": 0, "i": 1}), ("rglru", {"r": 0, "i": 1})]
)
def test_the_scan_cores_gates_are_sigmoids_of_their_input_rows(name, rows):
    """Their gates read x_t only: each is sigmoid(W x_t + b) over its block of weight_ih."""
    layer, recording = _recorded(name)
    for k in range(2):
        cell, x = recording.cells[k], recording.layer_inputs(k)
        found = gate_activations(cell, x, recording.previous_states(k))
        assert list(found) == list(rows)
        for gate, block in rows.items():
            w, b = (p[block * H : (block + 1) * H] for p in (cell.weight_ih, cell.bias_ih))
            torch.testing.assert_close(found[gate][0], torch.sigmoid(x @ w.T + b))
            assert found[gate][1] == "sigmoid"


def test_a_zoneout_cell_is_measured_by_the_cell_inside():
    """In evaluation zoneout keeps p of the old state: s_t = p s_(t-1) + (1 - p) s~_t, where
    s~_t is what the inner cell's gates make."""
    torch.manual_seed(4)
    layer = build_recurrent("peephole", D, H, batch_first=False, zoneout=0.25).double().eval()
    with record_steps(layer) as recording:
        layer(torch.randn(T, N, D, dtype=torch.float64))
    prev = recording.previous_states(0)
    found = gate_activations(recording.cells[0], recording.layer_inputs(0), prev)
    fresh = _lstm_states({gate: values for gate, (values, _) in found.items()}, prev)
    zoned = tuple(0.25 * old + 0.75 * new for old, new in zip(prev, fresh, strict=True))
    torch.testing.assert_close(zoned, recording.steps.stacked(0))
