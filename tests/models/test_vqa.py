"""The VQA model: pointing by dot product in a hand-built case, beam 1 = greedy, padding that
changes nothing, the baselines' ablations, every core, and the scene-size check."""

from __future__ import annotations

import pytest
import torch

from rnnkit.generation.beam_search import beam_search
from rnnkit.models.captioner import CaptionState
from rnnkit.models.vqa import VQAModel, VQAModelConfig

START, END, PAD = 2, 3, 1
TINY = {"embedding_size": 6, "hidden_size": 8, "base_channels": 2, "attention_size": 4}


def model(**overrides) -> VQAModel:
    torch.manual_seed(0)
    return VQAModel(VQAModelConfig(**{**TINY, **overrides}), 12, PAD, grid=3, cell=8).eval()


def test_pointing_picks_the_region_whose_transformed_feature_meets_the_state():
    net = model()
    features, hidden = net.point.in_features, net.point.out_features
    with torch.no_grad():
        net.point.weight.zero_()
        net.point.bias.zero_()
        net.point.weight[0, 0] = net.point.weight[1, 1] = 1.0  # W_p: features 0, 1 -> units 0, 1
    a = torch.zeros(2, 9, features)
    a[0, 4, 0] = 2.0  # scene 0: only the centre has feature 0
    a[1, 6, 1], a[1, 2, 0] = 3.0, 1.0  # scene 1: bottom left has feature 1, top right 0
    h = torch.zeros(2, hidden)
    h[0, 0] = 1.0  # the question's state asks for feature 0 ...
    h[1, 1] = 1.0  # ... and for feature 1
    scores = net.pointing(a, CaptionState(h, None))
    assert scores.argmax(-1).tolist() == [4, 6]
    with torch.no_grad():  # s_i = (W_p a_i + b_p) . h, one region at a time
        by_hand = [[float(net.point(a[n, i]) @ h[n]) for i in range(9)] for n in range(2)]
    torch.testing.assert_close(scores, torch.tensor(by_hand))


def read_inputs(n=3, seed=1):
    generator = torch.Generator().manual_seed(seed)
    scenes = torch.rand(n, 24, 24, generator=generator)
    questions = torch.randint(4, 12, (n, 5), generator=generator)
    return scenes, questions


@pytest.mark.parametrize("attention", ["additive", "multiplicative", "none"])
def test_beam_one_is_greedy(attention):
    net = model(attention=attention)
    scenes, questions = read_inputs(4)
    _, state, _ = net.read(scenes, questions, torch.full((4,), 5))
    greedy = net.greedy(state, START, END, 4, (0, PAD, START))
    for n in range(4):
        beam = beam_search(
            net.decoder,
            [START],
            4,
            beam_size=1,
            eos_id=END,
            state=state.index_select(torch.tensor([n])),
            suppress_ids=(0, PAD, START),
        )
        assert beam.ids == greedy[n]


def test_padding_after_a_question_changes_nothing():
    net = model()
    scenes, questions = read_inputs(2)
    _, alone, _ = net.read(scenes[:1], questions[:1, :3], torch.tensor([3]))
    padded = questions.clone()
    padded[0, 3:] = PAD
    _, batched, weights = net.read(scenes, padded, torch.tensor([3, 5]))
    torch.testing.assert_close(batched.h[:1], alone.h)
    torch.testing.assert_close(batched.c[:1], alone.c)
    assert weights.shape == (2, 5, 9)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5))


def test_the_baselines_ignore_what_they_are_not_given():
    scenes, questions = read_inputs(2)
    other_scenes, other_questions = read_inputs(2, seed=5)
    lengths = torch.full((2,), 5)
    blind = model(inputs="question")
    _, s1, _ = blind.read(scenes, questions, lengths)
    _, s2, _ = blind.read(other_scenes, questions, lengths)
    torch.testing.assert_close(s1.h, s2.h)  # the scene does not matter ...
    deaf = model(inputs="image")
    _, s1, _ = deaf.read(scenes, questions, lengths)
    _, s2, _ = deaf.read(scenes, other_questions, lengths)
    torch.testing.assert_close(s1.h, s2.h)  # ... nor the question here
    full = model()
    _, s1, _ = full.read(scenes, questions, lengths)
    _, s2, _ = full.read(scenes, other_questions, lengths)
    assert not torch.allclose(s1.h, s2.h)


@pytest.mark.parametrize("cell", ["gru", "rnn", "lstm"])
def test_every_core_trains_a_step_with_teacher_forcing_and_pointing(cell):
    net = model(cell=cell).train()
    scenes, questions = read_inputs(3)
    answer_in = torch.tensor([[START, START, START], [5, 6, 7]])
    answer_out = torch.tensor([[5, 6, 7], [END, END, END]])
    inputs = (scenes, questions, torch.tensor([5, 4, 2]), answer_in)
    logits, loss = net(inputs, (answer_out, torch.tensor([-1, 4, -1])))
    assert logits.shape == (2, 3, 12)
    answer_only = torch.nn.functional.cross_entropy(logits.flatten(0, 1), answer_out.flatten())
    assert float(loss.detach()) > float(answer_only.detach())  # the pointing term is added
    loss.backward()
    assert net.point.weight.grad.abs().sum() > 0
    rebuilt = VQAModel.from_dict(net.to_dict())
    assert rebuilt.to_dict() == net.to_dict()


def test_a_scene_of_the_wrong_size_is_refused():
    net = model()
    with pytest.raises(ValueError, match="scenes must be 24x24 pixels, got \\(16, 16\\)"):
        net.features(torch.zeros(1, 16, 16))
    with pytest.raises(ValueError, match="inputs must be one of both, question, image"):
        VQAModelConfig(inputs="neither").validate()
