"""The classifier and its poolings: a padded batch equals one-by-one processing, the padding
never reaches the result, and each pooling computes what its formula says."""

import math

import numpy as np
import pytest
import torch

from rnnkit.models.classifier import ClassifierConfig, SequenceClassifier, classifier_dict
from rnnkit.models.pooling import POOLINGS, AttentionPool, Pooling, last_pool

LENGTHS = [5, 2, 7, 1]


def padded_ids(vocab_size=11, lengths=LENGTHS, fill=None, seed=0):
    """(N, T) ids and the list of unpadded rows; padding is ``fill`` or random ids."""
    generator = torch.Generator().manual_seed(seed)
    rows = [torch.randint(1, vocab_size, (n,), generator=generator) for n in lengths]
    batch = torch.randint(0, vocab_size, (len(rows), max(lengths)), generator=generator)
    if fill is not None:
        batch.fill_(fill)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = row
    return batch, rows


def make_classifier(**options):
    torch.manual_seed(1)
    config = ClassifierConfig(**{"embedding_size": 6, "hidden_size": 5, **options})
    return SequenceClassifier(config, num_classes=3, input_size=11).eval()


def vector_classifier(**options) -> SequenceClassifier:
    """Two classes of 3-feature frames."""
    return SequenceClassifier(ClassifierConfig(embedding="vectors", **options), 2, 3)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_batch_equals_one_by_one(pooling, bidirectional):
    model = make_classifier(pooling=pooling, bidirectional=bidirectional, num_layers=2)
    batch, rows = padded_ids()
    with torch.no_grad():
        together, _ = model(batch, torch.tensor(LENGTHS))
        alone = torch.cat([model(row.unsqueeze(0), torch.tensor([len(row)]))[0] for row in rows])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "gru", "irnn"])
def test_padding_equivalence_for_other_cells(cell):
    model = make_classifier(cell=cell, pooling="mean", bidirectional=True)
    batch, rows = padded_ids(seed=3)
    with torch.no_grad():
        together, _ = model(batch, torch.tensor(LENGTHS))
        alone = torch.cat([model(row.unsqueeze(0), torch.tensor([len(row)]))[0] for row in rows])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_content_does_not_matter(pooling):
    model = make_classifier(pooling=pooling, bidirectional=True)
    zeros, _ = padded_ids(fill=0)
    garbage, _ = padded_ids(seed=0)  # the same rows, random ids in the padding
    assert not torch.equal(zeros, garbage)
    with torch.no_grad():
        a, _ = model(zeros, torch.tensor(LENGTHS))
        b, _ = model(garbage, torch.tensor(LENGTHS))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_ignores_garbage_in_padding(pooling, bidirectional):
    torch.manual_seed(0)
    outputs = torch.randn(4, 7, 6)
    lengths = torch.tensor(LENGTHS)
    dirty = outputs.clone()
    for i, n in enumerate(LENGTHS):
        dirty[i, n:] = torch.tensor([float("nan"), float("inf"), -1e9, 1e9, 5.0, -float("inf")])
    pool = Pooling(pooling, 6, bidirectional)
    got = pool(dirty, lengths)
    expected = torch.stack(
        [pool(outputs[i : i + 1, :n], torch.tensor([n]))[0] for i, n in enumerate(LENGTHS)]
    )
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_pooling_formulas_against_a_hand_loop():
    torch.manual_seed(2)
    outputs = torch.randn(4, 7, 6)
    lengths = torch.tensor(LENGTHS)
    for i, n in enumerate(LENGTHS):
        real = outputs[i, :n]
        torch.testing.assert_close(Pooling("mean", 6)(outputs, lengths)[i], real.mean(0))
        torch.testing.assert_close(Pooling("max", 6)(outputs, lengths)[i], real.max(0).values)
        torch.testing.assert_close(Pooling("last", 6)(outputs, lengths)[i], real[-1])
        both = Pooling("last", 6, bidirectional=True)(outputs, lengths)[i]
        torch.testing.assert_close(both, torch.cat([real[-1, :3], real[0, 3:]]))


def test_attention_weights_are_a_distribution_over_the_real_steps():
    torch.manual_seed(3)
    pool = AttentionPool(6, attention_size=4)
    outputs = torch.randn(4, 7, 6)
    alpha = pool.weights(outputs, torch.tensor(LENGTHS))
    torch.testing.assert_close(alpha.sum(1), torch.ones(4))
    for i, n in enumerate(LENGTHS):
        assert (alpha[i, n:] == 0).all() and (alpha[i, :n] > 0).all()
        scores = torch.stack(
            [pool.query.weight @ torch.tanh(pool.projection(outputs[i, t])) for t in range(n)]
        ).squeeze(1)
        torch.testing.assert_close(alpha[i, :n], scores.softmax(0))
        torch.testing.assert_close(
            pool(outputs, torch.tensor(LENGTHS))[i], alpha[i, :n] @ outputs[i, :n]
        )


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_last_is_each_directions_final_state(cell):
    model = make_classifier(cell=cell, bidirectional=True)
    batch, _ = padded_ids()
    lengths = torch.tensor(LENGTHS)
    with torch.no_grad():
        x = model.embed(batch)
        outputs, state = model.recurrent(x, lengths=lengths)
        h_n = state[0] if cell == "lstm" else state  # (2, N, H): forward, backward
        pooled = last_pool(outputs, lengths, bidirectional=True)
    torch.testing.assert_close(pooled, torch.cat([h_n[0], h_n[1]], dim=1))


def test_vector_input_is_standardised_and_padding_ignored():
    torch.manual_seed(4)
    model = vector_classifier(hidden_size=4).eval()
    model.set_input_scale(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 0.0, 0.5]))
    rows = [torch.randn(n, 3) for n in (4, 2)]
    batch = torch.full((2, 4, 3), 1e6)
    for i, row in enumerate(rows):
        batch[i, : len(row)] = row
    with torch.no_grad():
        together, _ = model(batch, torch.tensor([4, 2]))
        alone = torch.cat([model(r.unsqueeze(0), torch.tensor([len(r)]))[0] for r in rows])
        x = model.embed(rows[0].unsqueeze(0))[0]
    torch.testing.assert_close(together, alone)
    expected = (rows[0] - torch.tensor([1.0, 2.0, 3.0])) / torch.tensor([2.0, 1.0, 0.5])
    torch.testing.assert_close(x, expected)


def test_onehot_input_and_loss():
    model = make_classifier(embedding="onehot")
    batch, _ = padded_ids()
    logits, loss = model(batch, torch.tensor(LENGTHS), torch.tensor([0, 1, 2, 1]))
    assert logits.shape == (4, 3)
    expected = -torch.log_softmax(logits, 1)[torch.arange(4), torch.tensor([0, 1, 2, 1])].mean()
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-6)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"pooling": "sum"}, "unknown pooling"),
        ({"cell": "tlstm"}, "unknown cell"),
        ({"num_classes": 1}, "at least 2 classes"),
        ({"dropout": 1.0}, "dropout"),
        ({"embedding_dropout": -0.1}, "embedding_dropout"),
        ({"embedding_dropout": 1.0}, "embedding_dropout"),
        ({"embedding": "glove"}, "unknown embedding"),
        ({"embedding": "vectors", "input_noise": -0.5}, "input_noise must be >= 0"),
        ({"input_noise": 0.1}, "input_noise is for real-valued"),
        ({"input_shift": 0.1}, "input_shift is for real-valued"),
        ({"embedding": "vectors", "input_shift": -1.0}, "input_shift must be >= 0"),
        ({"random_crop": 1.0}, "random_crop must be in"),
        ({"random_crop": -0.2}, "random_crop must be in"),
        ({"embedding": "vectors", "time_warp": 1.0}, "time_warp must be in"),
        ({"time_warp": 0.1}, "time_warp is for real-valued"),
        ({"label_smoothing": 1.0}, "label_smoothing must be in"),
        ({"label_smoothing": -0.1}, "label_smoothing must be in"),
        ({"conv_channels": -1}, "conv_channels must be an integer >= 0"),
        ({"conv_width": 4}, "conv_width must be odd"),
        ({"conv_width": 0}, "conv_width must be a positive integer"),
        ({"conv_layers": 0}, "conv_layers must be a positive integer"),
    ],
)
def test_config_errors(options, message):
    classes = options.pop("num_classes", 3)
    with pytest.raises(ValueError, match=message):
        SequenceClassifier(ClassifierConfig(**options), classes, input_size=5)


def test_embedding_dropout_drops_whole_steps_in_training_only():
    model = make_classifier(embedding_dropout=0.5)
    batch, _ = padded_ids()
    x = model.embed(batch)  # (N, T, E)
    assert torch.equal(model.drop_steps(x), x)  # evaluation: the identity
    model.train()
    torch.manual_seed(0)
    dropped = model.drop_steps(x)
    zeroed = (dropped == 0).all(dim=2)  # (N, T): every feature of a step at once, or none
    kept = ~zeroed
    torch.testing.assert_close(dropped[kept], 2.0 * x[kept])
    assert 0 < int(zeroed.sum()) < zeroed.numel()
    assert (dropped[~zeroed] != 0).any(dim=1).all()


def test_input_noise_is_gaussian_on_the_standardised_frames_in_training_only():
    torch.manual_seed(2)
    model = vector_classifier(input_noise=0.3)
    model.set_input_scale(torch.tensor([1.0, -2.0, 0.5]), torch.tensor([2.0, 4.0, 0.1]))
    frames = torch.randn(64, 50, 3) * 5
    clean = (frames - torch.tensor([1.0, -2.0, 0.5])) / torch.tensor([2.0, 4.0, 0.1])
    model.eval()
    torch.testing.assert_close(model.embed(frames), clean)  # evaluation: no noise
    model.train()
    noise = model.embed(frames) - clean  # added after standardising: the same scale per feature
    assert abs(noise.mean().item()) < 0.01
    for feature in range(3):
        assert abs(noise[..., feature].std().item() - 0.3) < 0.01
    assert not torch.equal(model.embed(frames), model.embed(frames))  # a new draw each call


def test_input_shift_is_one_gaussian_offset_per_sequence_in_training_only():
    torch.manual_seed(3)
    model = vector_classifier(input_shift=0.4)
    frames = torch.randn(4000, 6, 3)  # input scale: the identity
    model.eval()
    torch.testing.assert_close(model.embed(frames), frames)
    model.train()
    shift = model.embed(frames) - frames  # (N, T, F)
    torch.testing.assert_close(shift, shift[:, :1].expand_as(shift))  # the same for every frame
    per_sequence = shift[:, 0]  # (N, F): independent draws, sd 0.4
    assert abs(per_sequence.mean().item()) < 0.02
    for feature in range(3):
        assert abs(per_sequence[:, feature].std().item() - 0.4) < 0.02


def test_wrong_input_kind_is_a_clear_error():
    model = make_classifier()
    with pytest.raises(ValueError, match="int64 ids"):
        model(torch.zeros(2, 3, 4), torch.tensor([3, 3]))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_readable_loop_gives_the_fused_result(cell):
    model = make_classifier(cell=cell, bidirectional=True, num_layers=2, pooling="attention")
    batch, _ = padded_ids(seed=5)
    with torch.no_grad():
        fused, _ = model(batch, torch.tensor(LENGTHS))
        model.recurrent.impl = "loop"
        loop, _ = model(batch, torch.tensor(LENGTHS))
    torch.testing.assert_close(loop, fused, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("vectors", [False, True])
def test_random_crop_reads_a_window_of_each_sequence_in_training_only(vectors):
    lengths = torch.tensor([10, 4, 1, 7])
    steps = int(lengths.max())
    if vectors:
        inputs = torch.arange(4 * steps * 2, dtype=torch.float32).view(4, steps, 2)
        model = SequenceClassifier(ClassifierConfig(embedding="vectors", random_crop=0.5), 2, 2)
    else:
        inputs = torch.arange(4 * steps).view(4, steps)
        model = make_classifier(random_crop=0.5)
    model.eval()
    same, same_lengths = model.crop(inputs, lengths)
    assert same is inputs and same_lengths is lengths
    model.train()
    seen = set()
    for _ in range(200):
        cropped, kept = model.crop(inputs, lengths)
        for n, length in enumerate(lengths.tolist()):
            k = int(kept[n])
            assert math.ceil(0.5 * length) <= k <= length
            window = cropped[n, :k]
            rows = inputs[n, :length]
            starts = [a for a in range(length - k + 1) if torch.equal(rows[a : a + k], window)]
            assert starts, "not a contiguous window of the real steps"
            seen.add((n, k, starts[0]))
    # every length and start that fits turns up: 10 steps, windows of 5-10
    assert {(k, a) for n, k, a in seen if n == 0} == {
        (k, a) for k in range(5, 11) for a in range(10 - k + 1)
    }
    assert {(n, k) for n, k, a in seen if n == 2} == {(2, 1)}


def test_time_warp_resamples_each_sequence_by_linear_interpolation_in_training_only():
    """Against numpy's interp of each feature at the evenly spaced positions; garbage in the
    padding never reaches a warped sequence."""
    lengths = torch.tensor([12, 5, 1, 2, 9])
    torch.manual_seed(4)
    inputs = torch.randn(5, 12, 3, dtype=torch.float64)
    for n, length in enumerate(lengths.tolist()):
        inputs[n, length:] = 1e6  # padding
    model = vector_classifier(time_warp=0.4)
    model.eval()
    same, same_lengths = model.warp(inputs, lengths)
    assert same is inputs and same_lengths is lengths
    model.train()
    seen = set()
    for _ in range(300):
        warped, new = model.warp(inputs, lengths)
        assert warped.shape[1] == int(new.max())
        for n, length in enumerate(lengths.tolist()):
            m = int(new[n])
            assert max(1, round(0.6 * length - 1e-9)) <= m <= round(1.4 * length + 1e-9)
            seen.add((n, m))
            at = np.linspace(0, length - 1, m) if m > 1 else np.zeros(1)
            rows = inputs[n, :length].numpy()
            expected = np.stack([np.interp(at, np.arange(length), rows[:, f]) for f in range(3)], 1)
            np.testing.assert_allclose(warped[n, :m].numpy(), expected, rtol=1e-12, atol=1e-12)
    # 12 frames: every length from round(7.2) = 7 to round(16.8) = 17 turns up
    assert {m for n, m in seen if n == 0} == set(range(7, 18))
    assert {m for n, m in seen if n == 2} == {1}


def test_time_warp_trains_through_the_forward_pass():
    torch.manual_seed(0)
    model = vector_classifier(time_warp=0.3, pooling="max").train()
    inputs, lengths = torch.randn(4, 6, 3), torch.tensor([6, 3, 1, 5])
    _, loss = model(inputs, lengths, torch.tensor([0, 1, 0, 1]))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("pooling", POOLINGS)
def test_conv_front_end_padded_batch_equals_one_by_one(pooling):
    """Zero padding at each sequence's own end: a padded batch (with garbage in the padding)
    gives every sequence what it gets alone."""
    model = make_classifier(
        pooling=pooling, bidirectional=True, conv_channels=4, conv_width=5, conv_layers=2
    )
    batch, rows = padded_ids(seed=7)  # random ids in the padding
    with torch.no_grad():
        together, _ = model(batch, torch.tensor(LENGTHS))
        alone = torch.cat([model(row.unsqueeze(0), torch.tensor([len(row)]))[0] for row in rows])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_conv_front_end_computes_a_centred_zero_padded_convolution_by_hand():
    """Two layers of width 3 against a hand loop over the steps and channels."""
    torch.manual_seed(4)
    model = vector_classifier(conv_channels=2, conv_layers=2).eval()
    frames = torch.randn(1, 6, 3)
    x = frames[0]  # the input scale is the identity (mean 0, std 1)
    for layer in model.convolutions:
        weight, bias = layer.weight.detach(), layer.bias.detach()  # (C, D, 3), (C,)
        padded = torch.cat([torch.zeros(1, x.shape[1]), x, torch.zeros(1, x.shape[1])])
        out = torch.empty(len(x), weight.shape[0])
        for t in range(len(x)):
            for c in range(weight.shape[0]):
                window = padded[t : t + 3]  # steps t-1, t, t+1 of x: (3, D)
                out[t, c] = bias[c] + (weight[c].T * window).sum()
        x = out.clamp(min=0)
    with torch.no_grad():
        got = model.convolve(model.embed(frames), torch.tensor([6]))[0]
    torch.testing.assert_close(got, x, rtol=1e-5, atol=1e-6)
    assert model.recurrent.input_size == 2  # the core reads the C channels


def test_no_conv_front_end_by_default():
    model = make_classifier()
    assert len(model.convolutions) == 0
    x = torch.randn(2, 4, 6)
    assert model.convolve(x, torch.tensor([4, 2])) is x


@pytest.mark.parametrize("bidirectional", [False, True])
def test_concat_pooling_is_last_max_and_mean_side_by_side(bidirectional):
    torch.manual_seed(5)
    outputs, lengths = torch.randn(4, 7, 6), torch.tensor(LENGTHS)
    pool = Pooling("concat", 6, bidirectional)
    assert pool.output_size == 18
    got = pool(outputs, lengths)
    for i, n in enumerate(LENGTHS):
        real = outputs[i, :n]  # (n, 6)
        last = real[-1]
        if bidirectional:  # the backward half's final state sits at step 0
            last = torch.cat([real[-1, :3], real[0, 3:]])
        expected = torch.cat([last, real.max(dim=0).values, real.mean(dim=0)])
        torch.testing.assert_close(got[i], expected)
    model = make_classifier(pooling="concat", bidirectional=True)
    assert model.head.in_features == 3 * 2 * 5


@pytest.mark.parametrize("points", [2, 3, 5])
def test_points_pooling_reads_evenly_spaced_steps_first_and_last_included(points):
    """Against a hand loop; the positions of a 5- and a 9-step sequence by hand as well."""
    torch.manual_seed(6)
    lengths = torch.tensor([5, 9, 1, 2])
    outputs = torch.randn(4, 9, 6)
    pool = Pooling("points", 6, bidirectional=True, points=points)
    assert pool.output_size == 6 * points
    got = pool(outputs, lengths)
    assert got.shape == (4, 6 * points)
    for i, n in enumerate(lengths.tolist()):
        steps = [round(k * (n - 1) / (points - 1)) for k in range(points)]
        assert steps[0] == 0 and steps[-1] == n - 1
        torch.testing.assert_close(got[i], outputs[i, steps].flatten())
    if points == 5:
        picked = got.view(4, 5, 6)
        torch.testing.assert_close(picked[0], outputs[0, [0, 1, 2, 3, 4]])
        torch.testing.assert_close(picked[1], outputs[1, [0, 2, 4, 6, 8]])
        torch.testing.assert_close(picked[2], outputs[2, [0, 0, 0, 0, 0]])
    model = make_classifier(pooling="points", pool_points=points, bidirectional=True)
    assert model.head.in_features == points * 2 * 5


@pytest.mark.parametrize("points", [1, 0, 2.5, True])
def test_points_pooling_needs_two_integer_points(points):
    with pytest.raises(ValueError, match="pool_points must be an integer >= 2"):
        Pooling("points", 6, points=points)
    with pytest.raises(ValueError, match="pool_points must be an integer >= 2"):
        ClassifierConfig(pooling="points", pool_points=points).validate()


def test_label_smoothing_by_hand_in_training_and_plain_cross_entropy_in_evaluation():
    model = make_classifier(label_smoothing=0.2, pooling="mean")
    batch, _ = padded_ids(seed=8)
    targets = torch.tensor([0, 2, 1, 2])
    model.eval()
    logits, plain = model(batch, torch.tensor(LENGTHS), targets)
    log_p = torch.log_softmax(logits, 1)  # (4, 3)
    torch.testing.assert_close(plain, -log_p[torch.arange(4), targets].mean())
    model.train()  # no dropout configured: the same logits
    _, smoothed = model(batch, torch.tensor(LENGTHS), targets)
    soft = torch.full((4, 3), 0.2 / 3)
    soft[torch.arange(4), targets] += 0.8  # 1 - e + e / K on the true class
    torch.testing.assert_close(smoothed, -(soft * log_p).sum(1).mean())


def test_the_checkpoint_dict_holds_the_sizes_and_the_config_and_builds_the_model_again():
    model = make_classifier(pooling="attention", bidirectional=True)
    values = classifier_dict(model.config, model.num_classes, model.input_size)
    assert values["num_classes"] == 3 and values["input_size"] == 11
    assert values["pooling"] == "attention" and values["hidden_size"] == 5
    again = SequenceClassifier.from_dict(values)
    assert again.config == model.config
    again.load_state_dict(model.state_dict())  # the same parameters, the same shapes
    with pytest.raises(ValueError, match="unknown classifier config keys: colour"):
        SequenceClassifier.from_dict({**values, "colour": "red"})
