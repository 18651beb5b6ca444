"""The two benchmark models: shapes, and losses recomputed by hand from their outputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnkit.experiments.models import SequenceTagger, SequenceToOne


@pytest.mark.parametrize("cell", ["rnn", "irnn", "lstm", "gru"])
def test_sequence_to_one_answers_from_the_last_step(cell):
    torch.manual_seed(0)
    model = SequenceToOne(cell, 3, 5, 4, "classification")
    inputs, labels = torch.randn(2, 7, 3), torch.tensor([1, 3])
    logits, loss = model(inputs, labels)
    output, _ = model.core(inputs)
    assert logits.shape == (2, 4)
    torch.testing.assert_close(logits, model.head(output[:, -1]))
    torch.testing.assert_close(loss, F.cross_entropy(logits, labels))


def test_a_single_regression_output_is_squeezed_and_scored_by_mse():
    torch.manual_seed(0)
    model = SequenceToOne("lstm", 2, 6, 1, "regression")
    inputs, targets = torch.randn(3, 5, 2), torch.rand(3)
    values, loss = model(inputs, targets)
    assert values.shape == (3,)
    torch.testing.assert_close(loss, ((values - targets) ** 2).mean())
    assert model(inputs)[1] is None


def test_tagger_scores_every_step():
    torch.manual_seed(0)
    model = SequenceTagger("gru", 4, 6, 10)
    inputs, targets = torch.randn(2, 9, 4), torch.randint(0, 10, (2, 9))
    logits, loss = model(inputs, targets)
    assert logits.shape == (2, 9, 10)
    by_hand = torch.stack(
        [
            F.cross_entropy(logits[n, t : t + 1], targets[n, t : t + 1])
            for n in range(2)
            for t in range(9)
        ]
    ).mean()
    torch.testing.assert_close(loss, by_hand)


def test_an_unknown_objective_or_cell_is_refused():
    with pytest.raises(ValueError, match="objective"):
        SequenceToOne("lstm", 1, 2, 1, "ranking")
    with pytest.raises(ValueError, match="unknown cell"):
        SequenceTagger("transformer", 1, 2, 1)


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    plain = SequenceToOne("lstm", 2, 16, 3, "classification")
    dropped = SequenceToOne("lstm", 2, 16, 3, "classification", dropout=0.5)
    dropped.load_state_dict(plain.state_dict())  # dropout adds no parameters
    inputs = torch.randn(4, 5, 2)
    plain.eval(), dropped.eval()
    torch.testing.assert_close(dropped(inputs)[0], plain(inputs)[0])
    dropped.train()
    last = dropped.core(inputs)[0][:, -1]
    torch.manual_seed(1)
    out = dropped(inputs)[0]
    torch.manual_seed(1)
    mask = torch.nn.functional.dropout(torch.ones_like(last), 0.5)
    torch.testing.assert_close(out, dropped.head(last * mask))
    assert not torch.allclose(out, plain(inputs)[0])
