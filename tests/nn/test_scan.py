"""The scan forms of ``h_t = a_t h_{t-1} + b_t`` against the plain loop: values, gradients,
initial states, lengths, reversal, T = 1 and T = 4096."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn.scan import linear_scan

FORMS = ("log", "chunked")


def coefficients(T, N=3, H=4, dtype=torch.float64, seed=0, low=0.005):
    generator = torch.Generator().manual_seed(seed)
    a = low + (0.999 - low) * torch.rand(T, N, H, generator=generator, dtype=dtype)
    b = torch.randn(T, N, H, generator=generator, dtype=dtype)
    h0 = torch.randn(N, H, generator=generator, dtype=dtype)
    return a, b, h0


def by_hand(a, b, h0):
    """The recurrence for one sequence, written out: (T, H), (T, H), (H,) -> (T, H)."""
    h, out = h0, []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("method", ("loop", *FORMS))
@pytest.mark.parametrize("T", (1, 2, 7, 31, 32, 100))
def test_every_form_is_the_recurrence(method, T):
    a, b, h0 = coefficients(T)
    h, final = linear_scan(a, b, h0, method=method)
    expected = torch.stack([by_hand(a[:, n], b[:, n], h0[n]) for n in range(3)], dim=1)
    torch.testing.assert_close(h, expected, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(final, expected[-1], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", FORMS)
def test_gradients_equal_the_loop(method):
    a, b, h0 = (t.requires_grad_() for t in coefficients(50))
    weights = torch.randn(50, 3, 4, dtype=torch.float64)
    grads = {}
    for form in ("loop", method):
        h, final = linear_scan(a, b, h0, method=form)
        loss = (h * weights).sum() + final.square().sum()
        grads[form] = torch.autograd.grad(loss, (a, b, h0))
    for ours, loop in zip(grads[method], grads["loop"], strict=True):
        torch.testing.assert_close(ours, loop, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", FORMS)
def test_gradcheck(method):
    a, b, h0 = (t.requires_grad_() for t in coefficients(9, N=2, H=2, low=0.2))
    assert torch.autograd.gradcheck(lambda *t: linear_scan(*t, method=method), (a, b, h0))


@pytest.mark.parametrize("method", ("loop", *FORMS))
@pytest.mark.parametrize("reverse", (False, True))
def test_padding_never_leaks(method, reverse):
    a, b, h0 = coefficients(40)
    lengths = [40, 17, 1]
    mask = (torch.arange(40)[:, None] < torch.tensor(lengths)[None, :]).unsqueeze(-1)
    h, final = linear_scan(a, b, h0, mask=mask, reverse=reverse, method=method)
    for n, length in enumerate(lengths):
        steps = range(length)[::-1] if reverse else range(length)
        alone = by_hand(a[list(steps), n], b[list(steps), n], h0[n])
        if reverse:
            alone = alone.flip(0)
        torch.testing.assert_close(h[:length, n], alone, rtol=1e-10, atol=1e-10)
        assert torch.equal(h[length:, n], torch.zeros_like(h[length:, n]))
        last = alone[0] if reverse else alone[-1]
        torch.testing.assert_close(final[n], last, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", FORMS)
def test_reverse_is_the_loop_backwards(method):
    a, b, h0 = coefficients(33)
    h, final = linear_scan(a, b, h0, reverse=True, method=method)
    expected, expected_final = linear_scan(a.flip(0), b.flip(0), h0, method="loop")
    torch.testing.assert_close(h, expected.flip(0), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(final, expected_final, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", FORMS)
@pytest.mark.parametrize("low", (0.005, 0.9))  # products that underflow, and ones that do not
def test_long_sequences_in_float32(method, low):
    a, b, h0 = coefficients(4096, low=low)
    expected, _ = linear_scan(a, b, h0, method="loop")  # float64
    h, final = linear_scan(a.float(), b.float(), h0.float(), method=method)
    assert torch.isfinite(h).all() and torch.isfinite(final).all()
    # the log form subtracts logarithms as large as |log A_T|: its error grows with T
    tolerance = 1e-4 if method == "chunked" else 2e-2
    scale = expected.abs().max()
    assert (h.double() - expected).abs().max() / scale < tolerance


def test_zero_steps_and_bad_input():
    a, b, h0 = coefficients(0)
    h, final = linear_scan(a, b, h0)
    assert h.shape == (0, 3, 4) and torch.equal(final, h0)
    with pytest.raises(ValueError, match="unknown scan method 'fast'; allowed: auto, loop"):
        linear_scan(*coefficients(3), method="fast")
    with pytest.raises(ValueError, match=r"shape \(T, N, H\)"):
        linear_scan(a[:, 0], b[:, 0])
