"""The encoder-decoder: teacher-forced loss against a step-by-step loop, attention weights,
padding, greedy against beam search of width 1, scheduled sampling."""

import pytest
import torch
import torch.nn.functional as F

from rnnkit.generation.beam_search import beam_search
from rnnkit.generation.sampling import generate
from rnnkit.models.seq2seq import DecoderSteps, Seq2Seq, Seq2SeqConfig

PAD, BOS, EOS = 1, 2, 3
VARIANTS = [
    ("none", "lstm", True),
    ("additive", "lstm", True),
    ("multiplicative", "lstm", True),
    ("none", "gru", False),
    ("additive", "gru", False),
    ("multiplicative", "rnn", True),
]


def make_model(attention, cell="lstm", bidirectional=True, layers=2, seed=0) -> Seq2Seq:
    torch.manual_seed(seed)
    config = Seq2SeqConfig(
        attention=attention,
        cell=cell,
        embedding_size=6,
        hidden_size=8,
        num_layers=layers,
        bidirectional=bidirectional,
        dropout=0.0,
    )
    return Seq2Seq(config, source_vocab_size=17, target_vocab_size=13).double().eval()


def padded_batch(seed=1):
    """Three sources of lengths 5, 3, 1 and targets <bos> y.. <eos> of lengths 6, 4, 3."""
    generator = torch.Generator().manual_seed(seed)
    src = torch.randint(4, 17, (3, 5), generator=generator)
    lengths = torch.tensor([5, 3, 1])
    for row, length in enumerate(lengths.tolist()):
        src[row, length:] = PAD
    tgt = torch.randint(4, 13, (3, 6), generator=generator)
    tgt[:, 0] = BOS
    for row, length in enumerate([6, 4, 3]):
        tgt[row, length - 1] = EOS
        tgt[row, length:] = PAD
    return src, lengths, tgt


@pytest.mark.parametrize(("attention", "cell", "bidirectional"), VARIANTS)
def test_teacher_forced_loss_equals_step_by_step_decoding(attention, cell, bidirectional):
    model = make_model(attention, cell, bidirectional)
    src, lengths, tgt = padded_batch()
    with torch.no_grad():
        _, loss = model(src, lengths, tgt)
    total, count = 0.0, 0
    for row in range(3):
        n = int(lengths[row])
        target = tgt[row][tgt[row] != PAD]  # <bos> y_1 .. <eos>
        state = model.encode(src[row : row + 1, :n], lengths[row : row + 1])
        decoder = DecoderSteps(model)
        for t in range(len(target) - 1):  # the generation protocol's step, in a loop
            with torch.no_grad():
                logits, state = decoder.step(target[t : t + 1], state)
            total += float(F.cross_entropy(logits, target[t + 1 : t + 2], reduction="sum"))
            count += 1
    assert float(loss) == pytest.approx(total / count, rel=1e-6)


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
def test_attention_sums_to_one_and_ignores_source_padding(attention):
    model = make_model(attention)
    src, lengths, tgt = padded_batch()
    weights = model.attention_weights(src, lengths, tgt)  # (3, 5, 5)
    assert weights.shape == (3, 5, 5)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 5, dtype=weights.dtype))
    for row, length in enumerate(lengths.tolist()):
        assert (weights[row, :, length:] == 0).all()
        assert (weights[row, :, :length] > 0).all()
    # a padded batch gives every row what it gets alone
    logits, _ = model(src, lengths, tgt)
    for row, length in enumerate(lengths.tolist()):
        alone = src[row : row + 1, :length]
        one_logits, _ = model(alone, lengths[row : row + 1], tgt[row : row + 1])
        torch.testing.assert_close(one_logits[0], logits[row])
        one_weights = model.attention_weights(alone, lengths[row : row + 1], tgt[row : row + 1])
        torch.testing.assert_close(one_weights[0], weights[row, :, :length])


def test_changing_source_padding_changes_nothing():
    model = make_model("additive")
    src, lengths, tgt = padded_batch()
    other = src.clone()
    other[1, 3:] = 9  # different tokens where row 1 is padding
    torch.testing.assert_close(model(other, lengths, tgt)[0], model(src, lengths, tgt)[0])


@pytest.mark.parametrize(("attention", "cell", "bidirectional"), VARIANTS)
def test_beam_of_one_equals_batched_greedy(attention, cell, bidirectional):
    for seed in range(3):
        model = make_model(attention, cell, bidirectional, seed=seed)
        src, lengths, _ = padded_batch(seed)
        greedy = model.greedy(src, lengths, max_length=8)
        for row, length in enumerate(lengths.tolist()):
            state = model.encode(src[row : row + 1, :length], lengths[row : row + 1])
            result = beam_search(
                DecoderSteps(model), [BOS], 8, beam_size=1, eos_id=EOS, state=state
            )
            ids = result.ids[:-1] if result.ids[-1:] == [EOS] else result.ids
            assert ids == greedy[row]


def test_sampling_at_temperature_zero_is_greedy():
    model = make_model("multiplicative")
    src, lengths, _ = padded_batch()
    greedy = model.greedy(src[:1], lengths[:1], max_length=8)[0]
    ids = generate(
        DecoderSteps(model), [BOS], 8, temperature=0, state=model.encode(src[:1], lengths[:1])
    )
    assert (ids[: ids.index(EOS)] if EOS in ids else ids) == greedy


@pytest.mark.parametrize("attention", ["none", "additive"])
def test_teacher_forcing_zero_feeds_the_models_own_argmax(attention):
    model = make_model(attention, layers=1)
    src, lengths, _ = padded_batch()
    tgt = torch.full((3, 7), 5)
    tgt[:, 0] = BOS
    logits, _ = model(src, lengths, tgt, teacher_forcing=0.0)  # (3, 6, V)
    state = model.encode(src, lengths)
    token = torch.full((3,), BOS)
    for t in range(6):
        step_logits, state, _ = model.step(token, state)
        torch.testing.assert_close(logits[:, t], step_logits)
        token = step_logits.argmax(-1)
    gold, _ = model(src, lengths, tgt, teacher_forcing=1.0)
    assert not torch.allclose(gold, logits)  # the gold token 5 was not fed


def test_training_learns_to_copy():
    """A tiny attention model learns to copy short sequences (the loss must fall)."""
    torch.manual_seed(0)
    config = Seq2SeqConfig("additive", "gru", 8, 16, bidirectional=True, dropout=0.0)
    model = Seq2Seq(config, 9, 9)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    src = torch.randint(4, 9, (16, 4))
    tgt = torch.cat([torch.full((16, 1), BOS), src, torch.full((16, 1), EOS)], 1)
    lengths = torch.full((16,), 4)
    first = None
    for _ in range(60):
        _, loss = model(src, lengths, tgt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.3 * first
    assert model.eval().greedy(src, lengths, 8) == src.tolist()


def test_config_errors():
    with pytest.raises(ValueError, match="attention"):
        Seq2SeqConfig(attention="dot").validate()
    with pytest.raises(ValueError, match="cell"):
        Seq2Seq(Seq2SeqConfig(cell="clstm"), 5, 5)
    with pytest.raises(ValueError, match="hidden_size"):
        Seq2SeqConfig(hidden_size=0).validate()
    with pytest.raises(ValueError, match="target_vocab_size"):
        Seq2Seq(Seq2SeqConfig(), 5, 0)
    with pytest.raises(ValueError, match="unknown seq2seq config keys"):
        Seq2Seq.from_dict({"source_vocab_size": 5, "target_vocab_size": 5, "x": 1})
    model = Seq2Seq(Seq2SeqConfig(attention="none", cell="gru"), 5, 6, pad_id=0)
    again = Seq2Seq.from_dict(model.to_dict())
    assert again.to_dict() == model.to_dict() and again.pad_id == 0
    model = make_model("none")
    with pytest.raises(ValueError, match="int64 ids"):
        model.encode(torch.zeros(2, 3), torch.tensor([3, 3]))
    with pytest.raises(ValueError, match="encoder's state"):
        DecoderSteps(model)(torch.tensor([[BOS]]))
