"""The scan forms of ``h_t = a_t h_{t-1} + b_t`` against the plain loop: values, gradients,
initial states, lengths, reversal, T = 1 and T = 4096."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import native, scan
from rnnkit.nn.scan import linear_scan

FORMS = ("compiled", "log", "chunked")


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
    tolerance = 2e-2 if method == "log" else 1e-4
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


@pytest.fixture
def compiled_calls(monkeypatch):
    """How many times the compiled loop ran (it must be built here: the tests above would
    otherwise check the Python loop twice)."""
    assert native.ops() is not None, "the compiled loops did not build"
    calls = []
    apply = scan.CompiledScan.apply
    monkeypatch.setattr(scan.CompiledScan, "apply", lambda *args: calls.append(1) or apply(*args))
    return calls


@pytest.mark.parametrize("reverse", (False, True))
def test_compiled_splits_columns_between_threads(compiled_calls, reverse, two_threads):
    """More columns (N * H) than one thread's share, in uneven parts: every part is the loop,
    forward and backward."""
    a, b, h0 = (t.requires_grad_() for t in coefficients(20, N=3, H=1433, seed=1))
    weights = torch.randn(20, 3, 1433, dtype=torch.float64)
    results = {}
    for form in ("loop", "compiled"):
        h, final = linear_scan(a, b, h0, reverse=reverse, method=form)
        loss = (h * weights).sum() + final.square().sum()
        results[form] = (h, *torch.autograd.grad(loss, (a, b, h0)))
    assert compiled_calls == [1]
    for ours, loop in zip(results["compiled"], results["loop"], strict=True):
        torch.testing.assert_close(ours, loop, rtol=1e-12, atol=1e-12)


def test_auto_takes_the_compiled_loop_on_the_cpu_and_keeps_the_dtype(compiled_calls):
    a, b, h0 = coefficients(30)
    expected, _ = linear_scan(a, b, h0, method="loop")
    h, final = linear_scan(a.bfloat16(), b.bfloat16(), h0.bfloat16())
    assert compiled_calls == [1] and h.dtype == final.dtype == torch.bfloat16
    # carried in float32 and rounded once: the error of bfloat16 inputs, not of 30 roundings
    assert (h.double() - expected).abs().max() < 0.05 * expected.abs().max()


def test_compiled_without_the_compiled_loops_is_the_loop(monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    monkeypatch.setattr(scan.CompiledScan, "apply", lambda *args: pytest.fail("compiled ran"))
    a, b, h0 = coefficients(12)
    for method in ("auto", "compiled"):
        h, _ = linear_scan(a, b, h0, method=method, reverse=True)
        expected, _ = linear_scan(a, b, h0, method="loop", reverse=True)
        torch.testing.assert_close(h, expected, rtol=0, atol=0)
