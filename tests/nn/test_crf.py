"""The linear-chain CRF against brute force: every one of the K^T tag sequences scored by hand,
so log Z, the likelihoods, the marginals and the Viterbi path are checked exactly; padding
changes nothing; BIO constraints forbid what they should and decoding never uses it."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch

from rnnkit.nn.crf import LinearChainCRF, bio_constraints

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def random_crf(num_tags: int, seed: int = 0) -> LinearChainCRF:
    torch.manual_seed(seed)
    crf = LinearChainCRF(num_tags)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.normal_()
    return crf


def hand_score(crf: LinearChainCRF, emissions: torch.Tensor, path: tuple[int, ...]) -> float:
    """score(y) of one sentence (T, K), straight from the definition; None if forbidden."""
    if not crf.allowed_start[path[0]] or not crf.allowed_end[path[-1]]:
        return None
    if any(not crf.allowed_transitions[a, b] for a, b in zip(path, path[1:], strict=False)):
        return None
    total = crf.start[path[0]] + crf.end[path[-1]]
    total = total + sum(emissions[t, k] for t, k in enumerate(path))
    total = total + sum(crf.transitions[a, b] for a, b in zip(path, path[1:], strict=False))
    return float(total.detach())


def every_path(crf, emissions):
    """{path: score} over the allowed tag sequences of one sentence (T, K)."""
    steps, tags = emissions.shape
    scores = {}
    for path in itertools.product(range(tags), repeat=steps):
        score = hand_score(crf, emissions, path)
        if score is not None:
            scores[path] = score
    return scores


def batch(lengths, num_tags, seed=1):
    torch.manual_seed(seed)
    steps = max(lengths)
    emissions = torch.randn(len(lengths), steps, num_tags)
    mask = torch.arange(steps)[None] < torch.tensor(lengths)[:, None]
    return emissions, mask


@pytest.mark.parametrize("constrained", [False, True])
def test_log_partition_likelihood_marginals_and_viterbi_equal_brute_force(constrained):
    crf = random_crf(len(TAGS))
    if constrained:
        crf.constrain(*bio_constraints(TAGS))
    lengths = [4, 1, 3]
    emissions, mask = batch(lengths, len(TAGS))
    log_z = crf.log_partition(emissions, mask)
    marginals = crf.marginals(emissions, mask)
    decoded = crf.decode(emissions, mask)
    for n, length in enumerate(lengths):
        paths = every_path(crf, emissions[n, :length])
        scores = torch.tensor(list(paths.values()), dtype=torch.float64)
        torch.testing.assert_close(log_z[n].double(), torch.logsumexp(scores, 0), rtol=1e-5, atol=0)
        best = max(paths, key=paths.get)
        assert tuple(decoded[n, :length].tolist()) == best
        assert decoded[n, length:].eq(0).all()
        # marginals: the probability mass of the paths through (t, k)
        probabilities = torch.softmax(scores, 0)
        expected = torch.zeros(length, len(TAGS), dtype=torch.float64)
        for p, path in zip(probabilities, paths, strict=True):
            for t, k in enumerate(path):
                expected[t, k] += p
        torch.testing.assert_close(marginals[n, :length].double(), expected, atol=1e-5, rtol=0)
        assert marginals[n, length:].eq(0).all()
        # the likelihood of a few paths: exp(score) / Z
        for path in list(paths)[:5]:
            tags = torch.zeros(1, emissions.shape[1], dtype=torch.long)
            tags[0, :length] = torch.tensor(path)
            tags[0, length:] = -100  # whatever the padding holds does not matter
            got = crf.log_likelihood(emissions[n : n + 1], tags, mask[n : n + 1])
            want = paths[path] - torch.logsumexp(scores, 0)
            torch.testing.assert_close(got[0].double(), want, rtol=0, atol=1e-4)


def test_a_padded_batch_gives_each_sentence_what_it_gets_alone():
    crf = random_crf(3, seed=2)
    lengths = [5, 2, 4]
    emissions, mask = batch(lengths, 3, seed=3)
    emissions[~mask] = float("nan")  # the padding is never read
    tags = torch.randint(0, 3, mask.shape)
    together = crf.log_partition(emissions, mask)
    paths = crf.decode(emissions, mask)
    likelihood = crf.log_likelihood(emissions, tags, mask)
    marginals = crf.marginals(emissions, mask)
    assert torch.isfinite(likelihood).all() and not marginals.isnan().any()
    for n, length in enumerate(lengths):
        alone_mask = torch.ones(1, length, dtype=bool)
        alone = crf.log_partition(emissions[n : n + 1, :length], alone_mask)
        torch.testing.assert_close(together[n], alone[0])
        alone_likelihood = crf.log_likelihood(
            emissions[n : n + 1, :length], tags[n : n + 1, :length], alone_mask
        )
        torch.testing.assert_close(likelihood[n], alone_likelihood[0])
        assert torch.equal(
            paths[n, :length], crf.decode(emissions[n : n + 1, :length], alone_mask)[0]
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_the_gpu_a_padded_batch_decodes_and_scores_as_on_the_cpu():
    crf = random_crf(3, seed=2)
    emissions, mask = batch([5, 2, 4], 3, seed=3)
    gpu = copy.deepcopy(crf).cuda()
    for method in ("decode", "log_partition", "marginals"):
        here = getattr(crf, method)(emissions, mask)
        there = getattr(gpu, method)(emissions.cuda(), mask.cuda())
        torch.testing.assert_close(there.cpu(), here, msg=method)


def test_padding_values_do_not_change_the_results():
    crf = random_crf(3, seed=4)
    emissions, mask = batch([4, 2], 3, seed=5)
    other = emissions.clone()
    other[~mask] = 1e3
    torch.testing.assert_close(crf.log_partition(emissions, mask), crf.log_partition(other, mask))
    assert torch.equal(crf.decode(emissions, mask), crf.decode(other, mask))


def test_bio_constraints_forbid_an_inside_tag_without_its_beginning():
    transitions, start, end = bio_constraints(TAGS)
    index = {tag: k for k, tag in enumerate(TAGS)}
    assert not start[index["I-PER"]] and start[index["B-PER"]] and start[index["O"]]
    assert transitions[index["B-PER"], index["I-PER"]]
    assert transitions[index["I-PER"], index["I-PER"]]
    assert not transitions[index["O"], index["I-PER"]]
    assert not transitions[index["B-LOC"], index["I-PER"]]
    assert transitions[index["I-LOC"], index["B-PER"]] and transitions[index["O"], index["O"]]
    assert end.all()


def test_decoding_never_uses_a_forbidden_transition_even_when_emissions_want_it():
    crf = LinearChainCRF(len(TAGS))
    crf.constrain(*bio_constraints(TAGS))
    emissions = torch.full((1, 3, len(TAGS)), -5.0)
    emissions[0, :, TAGS.index("I-PER")] = 5.0  # every token loves I-PER
    path = [TAGS[k] for k in crf.decode(emissions, torch.ones(1, 3, dtype=bool))[0]]
    assert path == ["B-PER", "I-PER", "I-PER"]


def test_training_the_crf_raises_the_likelihood_of_the_truth():
    crf = LinearChainCRF(3)
    emissions, mask = batch([6, 6, 6, 6], 3, seed=6)
    tags = torch.tensor([[0, 1, 2, 0, 1, 2]] * 4)
    optimizer = torch.optim.SGD(crf.parameters(), lr=0.5)
    before = crf.log_likelihood(emissions, tags, mask).mean().item()
    for _ in range(50):
        optimizer.zero_grad()
        (-crf.log_likelihood(emissions, tags, mask).mean()).backward()
        optimizer.step()
    after = crf.log_likelihood(emissions, tags, mask).mean().item()
    assert after > before + 2
    assert crf.decode(emissions, mask)[0].tolist() == tags[0].tolist()


def test_bad_shapes_are_refused():
    crf = LinearChainCRF(3)
    with pytest.raises(ValueError, match=r"emissions must be \(N, T, 3\)"):
        crf.log_partition(torch.zeros(2, 4, 5), torch.ones(2, 4, dtype=bool))
    with pytest.raises(ValueError, match="at least one token"):
        crf.decode(torch.zeros(1, 2, 3), torch.tensor([[False, True]]))
    with pytest.raises(ValueError, match="no tag to start"):
        crf.constrain(
            torch.ones(3, 3, dtype=bool), torch.zeros(3, dtype=bool), torch.ones(3, dtype=bool)
        )
