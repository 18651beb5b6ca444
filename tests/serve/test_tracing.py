"""The studio's tracer on a stacked bidirectional layer, against torch.nn.LSTM with the same
weights: every cell's states, what each cell read, and the gates the Neurons view plots."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnkit.nn import LSTM
from rnnkit.serve import neurons, tracing
from rnnkit.serve.reading import Reading


class Reader(nn.Module):
    """An embedding and a 2-layer bidirectional rnnkit LSTM, read batch-first."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 3)
        self.recurrent = LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, ids, lengths):
        return self.recurrent(self.embedding(ids), lengths=lengths)


def test_a_stacked_bidirectional_layer_is_traced_cell_by_cell():
    torch.manual_seed(0)
    model = Reader().eval()
    ids = torch.tensor([[1, 4, 2, 8, 5, 7]])
    reading = Reading(
        list("abcdef"), "char", "recurrent", lambda: model(ids, torch.tensor([6])), None
    )
    traced = tracing.trace(model, reading)
    assert traced.cells == [
        "layer 0 forward",
        "layer 0 backward",
        "layer 1 forward",
        "layer 1 backward",
    ]
    weights = model.recurrent.state_dict()
    x = model.embedding(ids).detach()  # (1, T, 3)
    below = x
    for layer in range(2):
        reference = nn.LSTM(below.shape[2], 4, bidirectional=True, batch_first=True)
        reference.load_state_dict(
            {k: weights[k.replace("l0", f"l{layer}")] for k in reference.state_dict()}
        )
        with torch.no_grad():
            out = reference(below)[0][0]  # (T, 8)
        for direction in range(2):
            k = 2 * layer + direction
            h = out[:, 4 * direction : 4 * direction + 4]
            torch.testing.assert_close(torch.from_numpy(traced.values[k, 0]), h, atol=1e-5, rtol=0)
            torch.testing.assert_close(traced.inputs[k].cpu(), below[0], atol=1e-5, rtol=0)
            previous = (
                torch.cat([h[1:], torch.zeros(1, 4)])
                if direction
                else torch.cat([torch.zeros(1, 4), h[:-1]])
            )
            suffix = "_reverse" if direction else ""
            gates = (
                below[0] @ weights[f"weight_ih_l{layer}{suffix}"].T
                + weights[f"bias_ih_l{layer}{suffix}"]
            )
            gates = (
                gates
                + previous @ weights[f"weight_hh_l{layer}{suffix}"].T
                + weights[f"bias_hh_l{layer}{suffix}"]
            )
            forget = torch.sigmoid(gates.chunk(4, dim=1)[1])
            shown = torch.from_numpy(neurons.gate_values(traced)[k]["forget"])
            torch.testing.assert_close(shown, forget, atol=1e-5, rtol=0)
        below = out.unsqueeze(0)


def test_record_steps_takes_full_lengths_and_refuses_padding():
    from rnnkit.diagnostics.recording import record_steps

    model = Reader().eval()
    ids = torch.tensor([[1, 4, 2], [3, 3, 0]])
    with record_steps(model, bidirectional=True) as recording:
        model(ids, torch.tensor([3, 3]))
    assert recording.seq_len == 3 and len(recording.cells) == 4
    with (
        pytest.raises(ValueError, match="unpadded batches"),
        record_steps(model, bidirectional=True),
    ):
        model(ids, torch.tensor([3, 2]))
    with pytest.raises(ValueError, match="bidirectional layers are not supported"):
        with record_steps(model):
            model(ids, torch.tensor([3, 3]))


def test_a_crf_taggers_gradients_use_its_sentence_likelihood():
    from types import SimpleNamespace

    from rnnkit.data.encoders import TagEncoder, build_vocab
    from rnnkit.models.tagger import SequenceTagger, TaggerConfig
    from rnnkit.serve.reading import read

    torch.manual_seed(1)
    words = "Ann met Bob in Oslo on Monday .".split()
    encoder = TagEncoder(
        build_vocab([words], "word"), build_vocab(words, "char"), ["O", "B-PER", "B-LOC"],
        lowercase=False, max_word_chars=8,
    )  # fmt: skip
    config = TaggerConfig(hidden_size=5, num_layers=2, embedding_size=4, crf=True)
    config.char_features, config.char_hidden_size = True, 3
    model = SequenceTagger(config, 3, len(encoder.words), len(encoder.chars)).eval()
    run = SimpleNamespace(model=model, encoder=encoder)
    reading = read(run, "tag", " ".join(words), for_loss=True)
    flow = tracing.gradients(model, reading, "last")  # a CRF: the whole sentence's
    batch = encoder.batch([encoder.encode(words)])
    with torch.no_grad():
        logits, _ = model(**batch)
        _, tags = model.decode(logits, batch["lengths"])
        _, mean = model(**batch, targets=tags)
    assert flow["loss"] == pytest.approx(mean.item() * len(words), rel=1e-5)
    assert flow["cells"][3] == "layer 1 backward" and len(flow["norms"]) == 4
    assert all(max(cell["h"]) > 0 and len(cell["h"]) == len(words) for cell in flow["norms"])


@pytest.mark.parametrize(
    "core, blocks",
    [
        ("mut2", {"update": 0, "reset": 1}),
        ("minlstm", {"forget": 0, "input": 1}),
        ("rglru", {"recurrence": 0, "input": 1}),
    ],
)
def test_the_neurons_view_shows_the_sigmoid_gates_of_every_core(core, blocks):
    """Beyond the LSTM and GRU: MUT2's z and r, minLSTM's f and i, the RG-LRU's recurrence
    and input gates (not a reset gate), each the sigmoid of its block of rows, written here by
    hand: W_ih x_t + b_ih, plus W_hh h_(t-1) + b_hh for a cell whose gates read the state."""
    from rnnkit.models.recurrent import build_recurrent

    torch.manual_seed(0)
    model = Reader().eval()
    model.recurrent = build_recurrent(core, 3, 4).eval()
    ids = torch.tensor([[1, 4, 2, 8, 5, 7]])
    reading = Reading(list("abcdef"), "char", "recurrent", lambda: model(ids, None), None)
    traced = tracing.trace(model, reading)
    (shown,) = neurons.gate_values(traced)
    assert list(shown) == list(blocks)
    cell, x, h = traced.modules[0], traced.inputs[0], traced.previous[0][0][:, 0]  # (T, D), (T, H)
    for title, block in blocks.items():
        rows = slice(4 * block, 4 * block + 4)
        pre = x @ cell.weight_ih[rows].T + cell.bias_ih[rows]
        if hasattr(cell, "weight_hh"):
            pre = pre + h @ cell.weight_hh[rows].T + cell.bias_hh[rows]
        expected = torch.sigmoid(pre).detach()
        torch.testing.assert_close(torch.from_numpy(shown[title]), expected, atol=1e-6, rtol=0)
