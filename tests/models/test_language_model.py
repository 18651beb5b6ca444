"""The language model against hand computations: torch.nn layers with copied weights, the
lectures' one-hot loop, F.cross_entropy, token-by-token stepping, and a run that must overfit."""

from __future__ import annotations

import json

import pytest
import safetensors.torch
import torch
import torch.nn.functional as F

import rnnkit.nn as rn
from rnnkit.models import CELLS, EMBEDDINGS, LanguageModel, LanguageModelConfig
from rnnkit.models.recurrent import cell_choices, get_core
from tests.conftest import needs_bf16_kernels

V, H, T, B = 7, 6, 5, 3
NAMES = cell_choices(CELLS)  # every core the char model builds, and the old name rnn-relu


def make_model(cell="lstm", embedding="learned", seed=0, **options) -> LanguageModel:
    torch.manual_seed(seed)
    options = {"hidden_size": H, "num_layers": 2, **options}
    config = LanguageModelConfig(cell=cell, embedding=embedding, **options)
    return LanguageModel(config, V).eval()


def random_ids(*shape, seed=1) -> torch.Tensor:
    return torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))


class StepByStep(torch.nn.Module):
    """A ``Recurrent`` run on its readable loop (``return_states``: every step, no scan)."""

    def __init__(self, layer: rn.Recurrent):
        super().__init__()
        self.layer = layer

    def load_state_dict(self, state):
        return self.layer.load_state_dict(state)

    def forward(self, x):
        output, state, _ = self.layer(x, return_states=True)
        return output, state


def torch_reference(cell: str, input_size: int, num_layers: int = 2):
    """The torch.nn layer with the same parameters (the lectures' GRU: rnnkit's loop path)."""
    if cell == "lstm":
        return torch.nn.LSTM(input_size, H, num_layers)
    if cell == "gru":
        return torch.nn.GRU(input_size, H, num_layers)
    if cell == "gru-lectures":
        return rn.GRU(input_size, H, num_layers, reset_after=False, impl="loop")
    core = get_core(cell)
    if core.cell is not None:  # no torch.nn layer: the cell stepped one step at a time
        return StepByStep(rn.Recurrent(core.cell, input_size, H, num_layers))
    nonlinearity = get_core(cell).options["nonlinearity"]  # rnn, relu (rnn-relu), irnn
    return torch.nn.RNN(input_size, H, num_layers, nonlinearity=nonlinearity)


def hand_logits(model: LanguageModel, idx: torch.Tensor) -> torch.Tensor:
    """embedding or F.one_hot -> reference layer with copied weights -> decoder by hand."""
    config = model.config
    reference = torch_reference(config.cell, config.input_size(V))
    reference.load_state_dict(model.recurrent.state_dict())
    if config.embedding == "onehot":
        x = F.one_hot(idx, V).float()  # (T, B, V), as the lectures write it
    else:
        x = model.embedding.weight[idx]  # (T, B, E)
    output, _ = reference(x)  # (T, B, H)
    return output @ model.decoder.weight.T + model.decoder.bias  # (T, B, V)


@pytest.mark.parametrize("embedding", EMBEDDINGS)
@pytest.mark.parametrize("cell", NAMES)
def test_logits_and_loss_match_hand_computation(cell, embedding):
    model = make_model(cell, embedding)
    idx, targets = random_ids(T, B, seed=1), random_ids(T, B, seed=2)
    logits, loss, state = model(idx, targets)
    assert logits.shape == (T, B, V) and logits.dtype == torch.float32
    expected = hand_logits(model, idx)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-6)
    log_p = torch.log_softmax(expected, dim=-1)
    hand_loss = -log_p.gather(-1, targets.unsqueeze(-1)).mean()  # nats per token
    torch.testing.assert_close(loss, hand_loss, rtol=1e-5, atol=1e-6)
    assert loss.dim() == 0
    assert model(idx)[1] is None


def test_onehot_input_is_the_lectures_rnn():
    """h_t = tanh(U x_t + b + W h_{t-1}) with x_t one-hot, i.e. U's column w_t, by hand."""
    model = make_model("rnn", "onehot", num_layers=1)
    layer = model.recurrent
    idx = random_ids(T, B)
    h = torch.zeros(B, H)
    expected = []
    for t in range(T):
        u_column = layer.weight_ih_l0[:, idx[t]].T  # (B, H): U x_t for a one-hot x_t
        a = u_column + layer.bias_ih_l0 + h @ layer.weight_hh_l0.T + layer.bias_hh_l0
        h = torch.tanh(a)
        expected.append(h @ model.decoder.weight.T + model.decoder.bias)
    logits, _, state = model(idx)
    torch.testing.assert_close(logits, torch.stack(expected), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state, h.unsqueeze(0), rtol=1e-5, atol=1e-6)


def test_state_dict_keys():
    learned = make_model("gru", "learned", num_layers=1)
    expected = {"embedding.weight", "decoder.weight", "decoder.bias"} | {
        f"recurrent.{name}_l0" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }
    assert set(learned.state_dict()) == expected
    onehot = make_model("gru", "onehot", num_layers=1)
    assert set(onehot.state_dict()) == expected - {"embedding.weight"}
    assert onehot.recurrent.weight_ih_l0.shape == (3 * H, V)


def test_tie_weights_shares_one_tensor(tmp_path):
    model = make_model("lstm", "learned", tie_weights=True)
    assert model.decoder.weight is model.embedding.weight
    state = model.state_dict()
    assert state["decoder.weight"].data_ptr() == state["embedding.weight"].data_ptr()
    assert "decoder.bias" in state and "recurrent.weight_ih_l1" in state
    untied_count = sum(p.numel() for p in make_model("lstm", "learned").parameters())
    assert sum(p.numel() for p in model.parameters()) == untied_count - V * H
    # Still one tensor after training: a step updates both uses at once.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(random_ids(T, B), random_ids(T, B, seed=2))[1].backward()
    optimizer.step()
    assert model.decoder.weight is model.embedding.weight
    # safetensors' save_model/load_model store the shared tensor once and restore the tie.
    path = tmp_path / "tied.safetensors"
    safetensors.torch.save_model(model, str(path))
    loaded = make_model("lstm", "learned", seed=5, tie_weights=True)
    safetensors.torch.load_model(loaded, str(path))
    assert loaded.decoder.weight is loaded.embedding.weight
    torch.testing.assert_close(loaded.embedding.weight, model.embedding.weight)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "rnn-relu"])
def test_recurrent_state_dict_loads_into_torch_nn(cell):
    model = make_model(cell, "onehot")
    reference = torch_reference(cell, V)
    reference.load_state_dict(model.recurrent.state_dict(), strict=True)
    x = F.one_hot(random_ids(T, B), V).float()
    torch.testing.assert_close(model.recurrent(x)[0], reference(x)[0])


@pytest.mark.parametrize("embedding", EMBEDDINGS)
@pytest.mark.parametrize("cell", NAMES)
def test_step_by_step_equals_whole_sequence(cell, embedding):
    model = make_model(cell, embedding)
    idx = random_ids(T, B)
    logits, _, final = model(idx)
    state = None
    for t in range(T):
        step_logits, state = model.step(idx[t], state)
        assert step_logits.shape == (B, V)
        torch.testing.assert_close(step_logits, logits[t], rtol=1e-5, atol=1e-6)
    for expected, got in zip(_tensors(final), _tensors(state), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru-lectures"])
def test_chunks_with_carried_state_equal_one_pass(cell):
    model = make_model(cell)
    idx = random_ids(2 * T, B)
    whole, _, _ = model(idx)
    first, _, state = model(idx[:T])
    second, _, _ = model(idx[T:], state=state)
    torch.testing.assert_close(torch.cat([first, second]), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", NAMES)
def test_initial_state_is_zeros_in_the_layer_layout(cell):
    model = make_model(cell)
    state = model.initial_state(B)
    for tensor in _tensors(state):
        assert tensor.shape == (2, B, H) and tensor.dtype == torch.float32
        assert not tensor.any()
    assert isinstance(state, tuple) == (cell in ("lstm", "peephole", "lnlstm"))  # (h, c)
    idx = random_ids(T, B)
    torch.testing.assert_close(model(idx, state=state)[0], model(idx)[0])


def test_dropout_goes_between_layers_and_on_the_top_output():
    model = make_model("lstm", dropout=0.5)
    assert model.recurrent.dropout == 0.5 and model.dropout.p == 0.5
    assert make_model("lstm", dropout=0.5, num_layers=1).recurrent.dropout == 0
    idx = random_ids(T, B)
    model.train()
    assert not torch.equal(model(idx)[0], model(idx)[0])
    model.eval()
    assert torch.equal(model(idx)[0], model(idx)[0])


@pytest.mark.parametrize(
    "cell", [pytest.param(c, marks=needs_bf16_kernels) if c == "lstm" else c for c in CELLS]
)
def test_bf16_autocast(cell):
    model = make_model(cell, "onehot" if cell == "rnn" else "learned")
    idx, targets = random_ids(T, B), random_ids(T, B, seed=2)
    _, reference_loss, _ = model(idx, targets)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, loss, state = model(idx, targets)
        _, loss, state = model(idx, targets, state)  # the carried state goes back in
    loss.backward()
    assert logits.dtype == torch.float32 and loss.dtype == torch.float32
    assert abs(loss.item() - reference_loss.item()) < 0.1
    assert all(t.dtype == torch.float32 for t in _tensors(state))
    model(idx, state=state)  # and into a float32 call, as evaluation after training does
    assert model.decoder.weight.grad is not None


def test_tiny_model_overfits_a_repeated_string():
    text = "hello world, " * 4
    ids = torch.tensor([ord(c) % V for c in text])
    starts = (0, 5, 10, 15)  # four streams of 24 steps, each read from its own offset
    inputs = torch.stack([ids[s : s + 24] for s in starts], dim=1)  # (T, B)
    targets = torch.stack([ids[s + 1 : s + 25] for s in starts], dim=1)  # (T, B)
    torch.manual_seed(0)
    config = LanguageModelConfig(cell="lstm", hidden_size=32, num_layers=1)
    model = LanguageModel(config, V)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    start = model(inputs, targets)[1].item()
    for _ in range(150):
        optimizer.zero_grad()
        loss = model(inputs, targets)[1]
        loss.backward()
        optimizer.step()
    assert start > 1.5 and loss.item() < 0.05  # ln 7 = 1.95 at the start


# -- the config --------------------------------------------------------------------------------


def test_config_round_trip_through_json():
    config = LanguageModelConfig(
        cell="gru-lectures",
        hidden_size=32,
        num_layers=3,
        dropout=0.25,
        embedding_size=32,
        tie_weights=True,
    )
    record = json.loads(json.dumps(config.to_dict(65)))
    assert list(record)[0] == "vocab_size"  # a checkpoint's model, as before the split
    assert LanguageModelConfig.from_dict(record) == (config, 65)
    assert LanguageModelConfig.from_dict({"vocab_size": 5}) == (LanguageModelConfig(), 5)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"vocab_size": 0}, r"vocab_size must be a positive integer, got 0"),
        ({"vocab_size": 2.0}, r"vocab_size must be a positive integer"),
        ({"cell": "lstmm"}, r"unknown cell 'lstmm'; allowed: rnn, relu \(alias rnn-relu\)"),
        ({"cell": "clstm"}, r"cell 'clstm' does not fit the char language model \(it needs"),
        ({"hidden_size": -1}, r"hidden_size must be a positive integer, got -1"),
        ({"num_layers": True}, r"num_layers must be a positive integer, got True"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": "0.1"}, r"dropout must be a number in \[0, 1\)"),
        ({"embedding": "one-hot"}, r"embedding must be one of learned, onehot; got 'one-hot'"),
        ({"embedding_size": 0}, r"embedding_size must be a positive integer, got 0"),
        ({"embedding": "onehot", "embedding_size": 8}, r"embedding_size applies to .*learned"),
        ({"tie_weights": 1}, r"tie_weights must be true or false"),
        ({"tie_weights": True, "embedding": "onehot"}, r"tie_weights needs embedding='learned'"),
        (
            {"tie_weights": True, "embedding_size": 8},
            r"tie_weights needs embedding_size == hidden_size.*embedding_size=8, hidden_size=6",
        ),
    ],
)
def test_config_validation(options, message):
    with pytest.raises(ValueError, match=message):
        options = {"vocab_size": V, "hidden_size": H, **options}
        vocab_size = options.pop("vocab_size")
        LanguageModel(LanguageModelConfig(**options), vocab_size)


def test_config_from_dict_errors():
    with pytest.raises(ValueError, match=r"unknown language model config keys: cel, nhid"):
        LanguageModelConfig.from_dict({"vocab_size": V, "cel": "gru", "nhid": 3})
    with pytest.raises(ValueError, match="needs vocab_size"):
        LanguageModelConfig.from_dict({"cell": "gru"})
    with pytest.raises(ValueError, match="must be a dict, got list"):
        LanguageModelConfig.from_dict([V])


def test_input_errors():
    model = make_model("gru")
    idx = random_ids(T, B)
    with pytest.raises(ValueError, match=r"idx must be a \(T, B\) int64 tensor.*got 1-D"):
        model(idx[0])
    with pytest.raises(ValueError, match=r"int64.*torch.float32"):
        model(idx.float())
    with pytest.raises(ValueError, match=rf"outside \[0, {V}\): min 0, max {V}"):
        model(torch.full((T, B), V).index_fill_(0, torch.tensor([0]), 0))
    with pytest.raises(ValueError, match=r"targets must have the shape of idx \(5, 3\), got"):
        model(idx, idx[:-1])
    with pytest.raises(ValueError, match=r"step takes token ids of shape \(B,\), got \(5, 3\)"):
        model.step(idx, None)
    with pytest.raises(ValueError, match=r"expected initial state"):
        model(idx, state=torch.zeros(1, B, H))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.initial_state(0)


def _tensors(state) -> list[torch.Tensor]:
    return [state] if isinstance(state, torch.Tensor) else list(state)
