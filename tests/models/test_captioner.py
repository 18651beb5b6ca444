"""The captioner against hand computations of its three conditionings, its teacher-forced loss
against step-by-step decoding, and its decoders against rnnkit.generation (beam 1 = greedy)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.generation.beam_search import beam_search
from rnnkit.generation.sampling import generate
from rnnkit.models.captioner import CONDITIONINGS, Captioner, CaptionerConfig

PAD, START, END = 1, 2, 3


def tiny(conditioning: str, seed: int = 0) -> Captioner:
    """8x8 images, two conv blocks: a 4x4 grid of 16 positions with 4 features; float64."""
    torch.manual_seed(seed)
    config = CaptionerConfig(
        conditioning=conditioning,
        embedding_size=3,
        hidden_size=5,
        base_channels=2,
        conv_blocks=2,
        attention_size=3,
        input_pool=1,
        dropout=0.0,
    )
    model = Captioner(config, vocab_size=9, pad_id=PAD, image_size=8).double().eval()
    with torch.no_grad():  # batch-norm statistics that are not the identity
        for module in model.encoder.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    return model


def images(n: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed)).double()


def lstm_by_hand(gate_input, h, c, cell):
    """i|f|g|o from a given input term ``W_ih x + b_ih`` and ``W_hh h + b_hh``."""
    gates = gate_input + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


@torch.no_grad()
def test_init_gives_the_image_once_as_the_first_input():
    model = tiny("init")
    x = images()
    v = model.features(x).mean(dim=1)  # (N, C)
    cell, decoder = model.decoder.cell, model.decoder
    assert cell.input_size == 3  # the word only: no image input at any later step
    x_image = v @ model.image_input.weight.T + model.image_input.bias  # x_{-1} = W_I v + b_I
    zeros = torch.zeros(3, 5, dtype=torch.float64)
    h, c = lstm_by_hand(x_image @ cell.weight_ih.T + cell.bias_ih, zeros, zeros, cell)
    state = model.start_state(x)
    torch.testing.assert_close(state.h, h)
    torch.testing.assert_close(state.c, c)
    assert state.image is None and state.memory is None
    for token in (START, 5, 6):
        word = decoder.embedding.weight[[token] * 3]
        h, c = lstm_by_hand(word @ cell.weight_ih.T + cell.bias_ih, h, c, cell)
        logits, state = decoder.step(torch.full((3,), token), state)
        torch.testing.assert_close(logits, h @ decoder.output.weight.T + decoder.output.bias)


@torch.no_grad()
def test_every_step_adds_the_image_term_at_each_step():
    model = tiny("every-step")
    x = images()
    v = model.features(x).mean(dim=1)  # (N, 4)
    decoder, cell = model.decoder, model.decoder.cell
    w_ix, w_iv = cell.weight_ih[:, :3], cell.weight_ih[:, 3:]  # W_ih = [W_ix | W_iv]
    h = c = torch.zeros(3, 5, dtype=torch.float64)
    state = model.start_state(x)
    for token in (START, 4, 7):
        word = decoder.embedding.weight[[token] * 3]
        gate_input = word @ w_ix.T + v @ w_iv.T + cell.bias_ih  # W_xh x + W_ih v
        h, c = lstm_by_hand(gate_input, h, c, cell)
        logits, state = decoder.step(torch.full((3,), token), state)
        torch.testing.assert_close(logits, h @ decoder.output.weight.T + decoder.output.bias)
    # the image itself, not only the state it left, drives a later step
    other = model.start_state(images(seed=9)).image
    swapped = type(state)(state.h, state.c, other)
    assert not torch.allclose(decoder.step(torch.full((3,), 5), state)[0],
                              decoder.step(torch.full((3,), 5), swapped)[0])  # fmt: skip


@torch.no_grad()
def test_attention_follows_show_attend_and_tell():
    model = tiny("attention")
    x = images()
    a = model.features(x)  # (N, S, C) = (3, 16, 4)
    assert a.shape == (3, 16, 4)
    v = a.mean(dim=1)
    decoder, cell, attention = model.decoder, model.decoder.cell, model.decoder.attention
    h = torch.tanh(v @ model.init_h.weight.T + model.init_h.bias)
    c = torch.tanh(v @ model.init_c.weight.T + model.init_c.bias)
    state = model.start_state(x)
    torch.testing.assert_close(state.h, h)
    for token in (START, 6, 8):
        keys = a @ attention.key_proj.weight.T + attention.key_proj.bias  # W_k a_i + b
        query = h @ attention.query_proj.weight.T  # W_q h_{t-1}
        scores = torch.tanh(keys + query[:, None]) @ attention.score.weight[0]  # (N, S)
        alpha = torch.softmax(scores, dim=1)
        z = (alpha[:, :, None] * a).sum(dim=1)  # z_t = sum_i alpha_ti a_i
        word = decoder.embedding.weight[[token] * 3]
        h, c = lstm_by_hand(torch.cat([word, z], 1) @ cell.weight_ih.T + cell.bias_ih, h, c, cell)
        logits, state, weights = decoder.step_with_weights(torch.full((3,), token), state)
        torch.testing.assert_close(weights, alpha)
        torch.testing.assert_close(logits, h @ decoder.output.weight.T + decoder.output.bias)


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
@torch.no_grad()
def test_teacher_forced_loss_equals_step_by_step_decoding(conditioning):
    model = tiny(conditioning)
    captions = [[4, 5, 6], [7], [8, 4]]
    steps = 4
    inputs = torch.full((steps, 3), PAD)
    targets = torch.full((steps, 3), PAD)
    for n, words in enumerate(captions):
        inputs[: len(words) + 1, n] = torch.tensor([START, *words])
        targets[: len(words) + 1, n] = torch.tensor([*words, END])
    _, loss = model(images(), inputs, targets)
    total, count = 0.0, 0
    for n, words in enumerate(captions):  # one image at a time, one word at a time
        state = model.start_state(images()[n : n + 1])
        for token, target in zip([START, *words], [*words, END], strict=True):
            logits, state = model.decoder.step(torch.tensor([token]), state)
            total -= float(torch.log_softmax(logits[0], dim=0)[target])
            count += 1
    assert float(loss) == pytest.approx(total / count, rel=1e-10)


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_beam_of_one_and_temperature_zero_equal_batched_greedy(conditioning):
    model = tiny(conditioning, seed=3)
    with torch.no_grad():
        model.decoder.output.bias[END] += 1.0  # some captions end before the length limit
    x = images(6, seed=4)
    greedy, _ = model.greedy(x, START, END, max_length=6, suppress_ids=(PAD, START))
    assert any(row[-1] == END for row in greedy)
    for n, row in enumerate(greedy):
        state = model.start_state(x[n : n + 1])
        result = beam_search(
            model.decoder, [START], 6, beam_size=1, eos_id=END, state=state, suppress_ids=(1, 2)
        )
        assert result.ids == row
        sampled = generate(model.decoder, [START], 6, temperature=0, state=state,
                           suppress_ids=(1, 2))  # fmt: skip
        assert sampled[: len(row)] == row


@torch.no_grad()
def test_attention_weights_are_a_distribution_over_positions_per_word():
    model = tiny("attention", seed=5)
    x = images(4)
    ids, weights = model.greedy(x, START, END, max_length=5)
    assert weights.shape == (4, len(max(ids, key=len)), 16)
    assert (weights >= 0).all()
    torch.testing.assert_close(
        weights.sum(dim=2), torch.ones(weights.shape[:2], dtype=weights.dtype)
    )
    # re-reading the caption gives the weights greedy decoding used
    again = model.attention_weights(x[0], START, ids[0])
    torch.testing.assert_close(again, weights[0, : len(ids[0])])
    with pytest.raises(ValueError, match="has no attention weights"):
        tiny("init").attention_weights(x[0], START, ids[0])


def test_config_checks_and_round_trip():
    with pytest.raises(ValueError, match="conditioning must be one of"):
        CaptionerConfig(conditioning="show-and-tell").validate()
    with pytest.raises(ValueError, match="divisible"):
        Captioner(CaptionerConfig(), vocab_size=5, image_size=60)
    config = CaptionerConfig(base_channels=8, conv_blocks=2, conditioning="every-step")
    model = Captioner(config, vocab_size=5)
    assert Captioner.from_dict(model.to_dict()).to_dict() == model.to_dict()
    old = {**model.to_dict(), "channels": [8, 16]}  # a checkpoint of before: the channels
    del old["base_channels"], old["conv_blocks"]
    assert Captioner.from_dict(old).config == config
    with pytest.raises(ValueError, match="double"):
        Captioner.from_dict({**old, "channels": [8, 12]})
    with pytest.raises(ValueError, match="needs Captioner.start_state"):
        model.decoder(torch.zeros(2, 1, dtype=torch.long))
