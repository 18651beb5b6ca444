"""The tagger: a padded batch equals one-by-one processing, with and without character
features; padding (words, characters, targets) never reaches the logits or the loss."""

import pytest
import torch

from rnnkit.models.tagger import CharFeatures, SequenceTagger, TaggerConfig, tagger_dict

LENGTHS = [4, 1, 6]


def make_batch(seed=0, fill=None):
    """Word ids (N, T), char ids (N, T, C), char lengths (N, T), targets; and each sentence
    alone. The padding holds random ids (or ``fill``)."""
    g = torch.Generator().manual_seed(seed)
    sentences = []
    for n in LENGTHS:
        char_lengths = torch.randint(1, 5, (n,), generator=g)
        sentences.append(
            (
                torch.randint(1, 9, (n,), generator=g),
                torch.randint(1, 7, (n, 4), generator=g),
                char_lengths,
                torch.randint(0, 3, (n,), generator=g),
            )
        )
    steps = max(LENGTHS)
    words = torch.randint(0, 9, (3, steps), generator=g)
    chars = torch.randint(0, 7, (3, steps, 4), generator=g)
    tags = torch.randint(0, 3, (3, steps), generator=g)
    if fill is not None:
        for tensor in (words, chars, tags):
            tensor.fill_(fill)
    char_lengths = torch.zeros(3, steps, dtype=torch.long)
    for i, (w, c, cl, t) in enumerate(sentences):
        n = len(w)
        words[i, :n], chars[i, :n], char_lengths[i, :n], tags[i, :n] = w, c, cl, t
    return (words, chars, char_lengths, tags), sentences


def make_tagger(char_features=True, **options):
    torch.manual_seed(0)
    config = TaggerConfig(
        embedding_size=5,
        char_features=char_features,
        char_embedding_size=3,
        char_hidden_size=2,
        hidden_size=4,
        **options,
    )
    return SequenceTagger(config, num_tags=3, vocab_size=9, char_vocab_size=7).eval()


@pytest.mark.parametrize("char_features", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_padded_batch_equals_one_by_one(char_features, cell):
    model = make_tagger(char_features, cell=cell, num_layers=2)
    (words, chars, char_lengths, _), sentences = make_batch()
    with torch.no_grad():
        together, _ = model(words, torch.tensor(LENGTHS), chars, char_lengths)
        for i, (w, c, cl, _) in enumerate(sentences):
            alone, _ = model(w[None], torch.tensor([len(w)]), c[None], cl[None])
            torch.testing.assert_close(together[i, : len(w)], alone[0], rtol=1e-5, atol=1e-6)


def test_padding_content_does_not_change_logits_or_loss():
    model = make_tagger(True)
    (w0, c0, l0, t0), _ = make_batch(fill=0)
    (w1, c1, l1, t1), _ = make_batch()
    assert not torch.equal(w0, w1) and not torch.equal(t0, t1)
    lengths = torch.tensor(LENGTHS)
    with torch.no_grad():
        a, loss_a = model(w0, lengths, c0, l0, t0)
        b, loss_b = model(w1, lengths, c1, l1, t1)
    for i, n in enumerate(LENGTHS):
        torch.testing.assert_close(a[i, :n], b[i, :n], rtol=0, atol=0)
    torch.testing.assert_close(loss_a, loss_b, rtol=0, atol=0)


def test_loss_is_the_mean_over_real_tokens():
    model = make_tagger(False)
    (words, _, _, tags), _ = make_batch()
    logits, loss = model(words, torch.tensor(LENGTHS), targets=tags)
    terms = [
        -torch.log_softmax(logits[i, t], 0)[tags[i, t]]
        for i, n in enumerate(LENGTHS)
        for t in range(n)
    ]
    torch.testing.assert_close(loss, torch.stack(terms).mean())


def test_char_features_are_the_final_states_of_each_words_bilstm():
    torch.manual_seed(1)
    features = CharFeatures(7, 3, 2).eval()
    word = torch.tensor([3, 1, 4])
    padded = torch.tensor([[[3, 1, 4, 6, 6]]])  # one sentence of one word, 2 padded chars
    with torch.no_grad():
        got = features(padded, torch.tensor([[3]]))[0, 0]
        _, (h_n, _) = features.recurrent(features.embedding(word[None]))
    torch.testing.assert_close(got, torch.cat([h_n[0, 0], h_n[1, 0]]))


def test_missing_chars_is_a_clear_error():
    model = make_tagger(True)
    with pytest.raises(ValueError, match="reads characters"):
        model(torch.zeros(1, 2, dtype=torch.long), torch.tensor([2]))


def test_config_errors():
    with pytest.raises(ValueError, match="unknown cell"):
        TaggerConfig(cell="transformer").validate()
    with pytest.raises(ValueError, match="dropout"):
        SequenceTagger(TaggerConfig(dropout=-0.1), num_tags=3, vocab_size=4)
    with pytest.raises(ValueError, match="char_vocab_size must be a positive integer"):
        SequenceTagger(TaggerConfig(char_features=True), num_tags=3, vocab_size=4)


def test_a_crf_tagger_scores_sentences_alone_as_in_a_padded_batch():
    model = make_tagger(True, crf=True)
    with torch.no_grad():
        for parameter in model.crf.parameters():
            parameter.normal_()
    (words, chars, char_lengths, tags), sentences = make_batch()
    lengths = torch.tensor(LENGTHS)
    logits, loss = model(words, lengths, chars, char_lengths, tags)
    log_probs, decoded = model.decode(logits, lengths)
    nll, tokens = 0.0, 0
    for i, (w, c, cl, t) in enumerate(sentences):
        alone, alone_loss = model(w[None], torch.tensor([len(w)]), c[None], cl[None], t[None])
        alone_log_probs, alone_tags = model.decode(alone, torch.tensor([len(w)]))
        assert torch.equal(decoded[i, : len(w)], alone_tags[0])
        torch.testing.assert_close(log_probs[i, : len(w)], alone_log_probs[0], atol=1e-5, rtol=0)
        nll, tokens = nll + alone_loss * len(w), tokens + len(w)
    torch.testing.assert_close(loss, nll / tokens)  # sentence NLLs summed, per real token
    real = log_probs[0, : LENGTHS[0]].exp().sum(1)
    torch.testing.assert_close(real, torch.ones(LENGTHS[0]))  # marginals: a distribution


def test_without_a_crf_decode_is_softmax_and_argmax():
    model = make_tagger(False)
    (words, _, _, _), _ = make_batch()
    logits, _ = model(words, torch.tensor(LENGTHS))
    log_probs, tags = model.decode(logits, torch.tensor(LENGTHS))
    for i, n in enumerate(LENGTHS):
        torch.testing.assert_close(log_probs[i, :n], torch.log_softmax(logits[i, :n], 1))
        assert torch.equal(tags[i, :n], logits[i, :n].argmax(1))
        assert tags[i, n:].eq(0).all()


@pytest.mark.parametrize("char_features", [False, True])
def test_the_checkpoint_dict_builds_the_model_again_and_reads_older_ones(char_features):
    model = make_tagger(char_features, crf=True)
    values = tagger_dict(model.config, 3, 9, 7 if char_features else None)
    again = SequenceTagger.from_dict(values)
    assert again.config == model.config
    again.load_state_dict(model.state_dict())
    older = {key: value for key, value in values.items() if key != "char_features"}
    assert SequenceTagger.from_dict(older).config.char_features is char_features
    with pytest.raises(ValueError, match="unknown tagger config keys: colour"):
        SequenceTagger.from_dict({**values, "colour": "red"})
