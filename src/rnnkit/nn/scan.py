"""The diagonal linear recurrence ``h_t = a_t * h_{t-1} + b_t``, over a whole sequence at once.

Three cells share it: minGRU and minLSTM (Feng et al. 2024, "Were RNNs all we needed?") and
the RG-LRU of Hawk/Griffin (De et al. 2024). Their gates depend on ``x_t`` only, never on
``h_{t-1}``, so ``a`` and ``b`` are known for every step before the recurrence runs, and the
recurrence is elementwise: no matmul inside the loop. Unrolled,

    h_t = A_t h_0 + sum_{s<=t} (A_t / A_s) b_s,        A_t = a_1 a_2 ... a_t,

which can be computed without a step-by-step loop. Three forms, one answer:

* ``"loop"``: the recurrence as written, one step at a time (the reference).
* ``"log"``: the log-space form of Heinsen (2023) that Feng et al. use:
  ``log h_t = log A_t + logcumsumexp_s(log b_s - log A_s)`` with ``log A_t = cumsum(log a)``.
  ``b`` and ``h_0`` may have either sign: their positive and negative parts are scanned apart.
  It needs ``a > 0`` and loses relative precision of about ``|log A_T| * eps`` over long
  sequences with small ``a`` (two large logarithms are subtracted), the price of needing no
  loop at all.
* ``"chunked"``: the sequence cut into K chunks of C steps (C ~ K ~ sqrt(T)). One loop of C
  steps runs all K chunks side by side from a zero state, carrying also the running product
  ``P_t`` of ``a`` within each chunk; one loop of K steps carries the true state across chunk
  boundaries; then ``h_t = local_t + P_t * carry_{k-1}`` in one elementwise step. About
  2 sqrt(T) Python steps instead of T, no division, no logarithm: exact up to rounding, and
  fast on a CPU, where one wide elementwise op costs little more than a narrow one.

* ``"compiled"``: the loop of ``"loop"`` in C++ (``csrc/scan.cpp``, built with the routes'
  loops by :mod:`rnnkit.nn.native`), forward and backward: one pass over a row of N*H values
  per step, vectorised, its columns split between threads, with the state carried in float32
  or float64 (a bfloat16 or float16 scan runs in float32 and rounds its outputs once). Where
  the compiled loops cannot run (not the CPU, not built, ``RNNKIT_NATIVE=0``, inside
  ``torch.compile``) it is ``"loop"``.

``"auto"`` takes the compiled loop on the CPU and the chunked form on other devices. On a CPU
an elementwise step costs little more than its arithmetic, so the parallel forms, which do two
to three times as much of it (the chunked) or need exp and log of everything (the log-space),
lose to a loop that pays no cost per step. Measured on a 2-core AMD EPYC (AVX2 only, torch
2.13, forward + backward of the scan alone, H = 256): the Python loop 10 / 56 / 82 ms at
(T, N) = (100, 32), (512, 32), (2048, 8); the chunked form 17 / 163 / 207 ms; the log-space
form 171 / 900 / 845 ms. The parallel forms are kept for devices where many small steps cost
more than the extra work, and as checks of each other. Every form is differentiable: the
compiled one by its own backward loop, the others by autograd.

Shapes are time-major, as in :mod:`rnnkit.nn.recurrence`: ``a``, ``b`` (T, N, H), ``h0``
(N, H). ``mask`` (T, N, 1), true where ``t < length``: past its length a sequence keeps its
state (``a = 1, b = 0`` there) and its outputs are zero, so padding never leaks into the final
state, and a reversed scan starts at each sequence's own last step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rnnkit.nn.native import first_order_only, ops

METHODS = ("auto", "loop", "compiled", "log", "chunked")
LOG_ZERO = -1e4  # the log form's log 0: exp(-1e4) is 0 in every float type


def linear_scan(
    a: Tensor,
    b: Tensor,
    h0: Tensor | None = None,
    *,
    mask: Tensor | None = None,
    reverse: bool = False,
    method: str = "auto",
) -> tuple[Tensor, Tensor]:
    """``h_t = a_t * h_{t-1} + b_t`` for t = 1..T (t = T..1 with ``reverse``).

    Returns every ``h_t`` (T, N, H), zero past a sequence's length, and the final state (N, H):
    the state after the last real step (for ``reverse``: after step 1)."""
    if method not in METHODS:
        raise ValueError(f"unknown scan method {method!r}; allowed: {', '.join(METHODS)}")
    if a.shape != b.shape or a.dim() != 3:
        raise ValueError(
            f"a and b must both have shape (T, N, H); got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if h0 is None:
        h0 = b.new_zeros(b.shape[1:])
    if a.shape[0] == 0:
        return b.clone(), h0
    if mask is not None:
        a = torch.where(mask, a, torch.ones_like(a))
        b = torch.where(mask, b, torch.zeros_like(b))
    if method == "auto":
        method = "compiled" if a.device.type == "cpu" else "chunked"
    if method == "compiled" and _compiled_fits(a):
        h = scan_compiled(a, b, h0, reverse)
        final = h[0] if reverse else h[-1]
    else:
        method = "loop" if method == "compiled" else method
        if reverse:
            a, b = a.flip(0), b.flip(0)
        h = {"loop": scan_loop, "log": scan_log, "chunked": scan_chunked}[method](a, b, h0)
        final = h[-1]
        if reverse:
            h = h.flip(0)
    if mask is not None:
        h = h * mask
    return h, final


def scan_loop(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The recurrence one step at a time: the reference the other forms are tested against."""
    h, out = h0, []
    for a_t, b_t in zip(a.unbind(0), b.unbind(0), strict=True):
        h = a_t * h + b_t
        out.append(h)
    return torch.stack(out) if out else b.new_zeros(b.shape)


def _compiled_fits(a: Tensor) -> bool:
    return a.device.type == "cpu" and ops() is not None


def scan_compiled(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """The loop compiled (``csrc/scan.cpp``); ``reverse`` runs t = T..1 in place of flips.
    Needs the compiled loops (:func:`rnnkit.nn.native.ops`) and CPU tensors."""
    dtype = torch.promote_types(torch.promote_types(a.dtype, b.dtype), h0.dtype)
    work = dtype if dtype in (torch.float32, torch.float64) else torch.float32
    h = CompiledScan.apply(a.to(work), b.to(work), h0.to(work), reverse)
    return h.to(dtype)


class CompiledScan(torch.autograd.Function):
    """``apply(a, b, h0, reverse) -> h``: the compiled forward loop, and its backward loop."""

    @staticmethod
    def forward(ctx, a, b, h0, reverse):
        a, b, h0 = a.contiguous(), b.contiguous(), h0.contiguous()
        h = ops().scan_forward(a, b, h0, reverse)
        ctx.save_for_backward(a, h, h0)
        ctx.reverse = reverse
        return h

    @staticmethod
    @first_order_only
    def backward(ctx, d_h):
        a, h, h0 = ctx.saved_tensors
        d_a, d_b, d_h0 = ops().scan_backward(d_h.contiguous(), a, h, h0, ctx.reverse)
        return d_a, d_b, d_h0, None


def scan_log(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The log-space form (Heinsen 2023): no loop; ``a`` must be positive."""
    log_a = torch.log(a.clamp_min(torch.finfo(a.dtype).tiny))
    log_A = torch.cumsum(log_a, dim=0)  # (T, N, H): log of a_1 ... a_t
    h = torch.zeros_like(b)
    for sign in (1.0, -1.0):  # the positive and the negative parts of b and h0
        start = _log_positive(sign * h0).unsqueeze(0)  # (1, N, H)
        terms = _log_positive(sign * b) - log_A  # (T, N, H)
        total = torch.logcumsumexp(torch.cat([start, terms]), dim=0)[1:]
        h = h + sign * torch.exp(log_A + total)
    return h


def _log_positive(x: Tensor) -> Tensor:
    """``log x`` where x > 0, else ``LOG_ZERO``: finite, so that no gradient of the
    log-cum-sum-exp is NaN, yet below the log of any float, so it adds nothing."""
    positive = x > 0
    return torch.where(positive, torch.log(torch.where(positive, x, 1.0)), LOG_ZERO)


def scan_chunked(a: Tensor, b: Tensor, h0: Tensor, chunk: int | None = None) -> Tensor:
    """The two-level form: all chunks side by side from zero, then the carries across them."""
    T = a.shape[0]
    C = chunk or max(1, math.isqrt(T))
    K = -(-T // C)  # chunks
    pad = K * C - T
    if pad:  # a = 1, b = 0: steps that change nothing
        a = torch.cat([a, a.new_ones((pad, *a.shape[1:]))])
        b = torch.cat([b, b.new_zeros((pad, *b.shape[1:]))])
    rest = a.shape[1:]
    a = a.reshape(K, C, *rest).transpose(0, 1)  # (C, K, N, H): step c of every chunk
    b = b.reshape(K, C, *rest).transpose(0, 1)
    local, within = [], []  # h from a zero state, and the product of a, inside each chunk
    h, P = torch.zeros_like(b[0]), torch.ones_like(a[0])  # (K, N, H)
    for a_c, b_c in zip(a.unbind(0), b.unbind(0), strict=True):
        h = a_c * h + b_c
        P = a_c * P
        local.append(h)
        within.append(P)
    local_h, products = torch.stack(local), torch.stack(within)  # (C, K, N, H)
    carries, carry = [], h0  # the true state before each chunk
    for k in range(K):
        carries.append(carry)
        carry = products[-1, k] * carry + local_h[-1, k]
    h = local_h + products * torch.stack(carries)  # (C, K, N, H)
    return h.transpose(0, 1).reshape(K * C, *rest)[:T]
