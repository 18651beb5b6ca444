"""MUT1, MUT2, MUT3 over a whole sequence with hand-derived BPTT: the fast route of the loop,
as :mod:`rnnkit.nn.lstm_bptt` is for the LSTM cells (read that module first). The lectures'
GRU (``reset_after=False``) is MUT2 with its update gate flipped, and takes this route too
(:func:`run_lectures_gru_sequence`).

The three cells of Jozefowicz et al. (2015) (:mod:`rnnkit.nn.variant_cells`) share one step,
with ``u = (u_z, u_r, u_n)`` their input terms and biases, formed for all T before the loop::

    z = sigmoid(u_z + W_hz s_z)         s_z: nothing (MUT1), m * h_{t-1} (MUT2),
                                            m * tanh(h_{t-1}) (MUT3); m the dropout mask
    r = sigmoid(u_r + W_hr (m * h_{t-1}))
    q = r * m * h_{t-1}
    n = tanh(u_n + W_hn q)
    h_t = n * z + h_{t-1} * (1 - z)

Backward through one step, given ``dh`` (dL/dh_t)::

    da_z = dh * (n - h_{t-1}) * z(1 - z),  da_n = dh * z * (1 - n^2)
    dq = da_n @ W_hn,  da_r = dq * m h_{t-1} * r(1 - r)
    dh_{t-1} = dh * (1 - z) + m * (dq * r + da_r @ W_hr + da_z @ W_hz ...)

the last term as ``s_z`` reads ``h_{t-1}`` (MUT3: times ``1 - tanh(h_{t-1})^2``). Then
``dL/dW_hh`` is three products over all T steps, ``dL/du`` is returned for autograd to carry
into ``W_ih``, the biases and MUT1's ``tanh(x_t)``. Shape letters: T time, N batch, H hidden.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import Tensor

from rnnkit.nn.bptt_steps import run_steps, split_back, zone_args
from rnnkit.nn.lstm_bptt import native_fits
from rnnkit.nn.native import first_order_only, ops
from rnnkit.nn.variant_cells import MUT1Cell, MUT2Cell, MUT3Cell

KINDS = {MUT1Cell: "mut1", MUT2Cell: "mut2", MUT3Cell: "mut3"}


def run_mut_sequence(cell, xp: Tensor, h0: Tensor, keep: Tensor | None, reverse: bool, zone=None):
    """The whole sequence through ``cell`` (one of :data:`KINDS`): ``xp`` (T, N, 3H) its
    projected input (rows z|r|n), ``keep`` (T, N, 1) 1 where t < length, or None; ``zone``:
    zoneout's ``(hidden, _, training)``, or None. Returns the outputs (T, N, H) and the final
    state: the loop's numbers, its random draws included."""
    kind = KINDS[type(cell)]
    x_z, x_r, x_n = xp.chunk(3, dim=2)  # each (T, N, H)
    if kind == "mut1":
        x_n = torch.tanh(x_n)  # the paper's tanh(x_t)
    if cell.bias_hh is not None:
        b_z, b_r, b_n = cell.bias_hh.chunk(3)
        x_z = x_z if kind == "mut1" else x_z + b_z  # MUT1's z reads no state, no b_hz
        x_r, x_n = x_r + b_r, x_n + b_n
    u = torch.cat((x_z, x_r, x_n), dim=2)  # (T, N, 3H)
    return _run(kind, cell, u, h0, keep, reverse, zone, cell.weight_hh)


def run_lectures_gru_sequence(
    cell, xp: Tensor, h0: Tensor, keep: Tensor | None, reverse: bool, zone=None
):
    """:func:`run_mut_sequence` for the lectures' GRU (``GRUCell`` with ``reset_after=False``,
    rows r|z|n): its step is MUT2's with the update gate's two roles swapped. MUT2 keeps
    ``h_{t-1}`` where ``z`` is 0, the GRU where it is 1, so MUT2's ``z`` is the GRU's
    ``1 - z = sigmoid(-(x_z + W_hz h_{t-1} + b_hz))``: MUT2 runs the GRU with its z rows
    negated and moved first (and autograd carries the gradients back through both)."""
    x_r, x_z, x_n = xp.chunk(3, dim=2)  # each (T, N, H)
    w_r, w_z, w_n = cell.weight_hh.chunk(3)  # each (H, H)
    if cell.bias_hh is not None:
        b_r, b_z, b_n = cell.bias_hh.chunk(3)
        x_r, x_z, x_n = x_r + b_r, x_z + b_z, x_n + b_n
    u = torch.cat((-x_z, x_r, x_n), dim=2)  # (T, N, 3H), rows z|r|n
    return _run("mut2", cell, u, h0, keep, reverse, zone, torch.cat((-w_z, w_r, w_n)))


def _run(kind: str, cell, u: Tensor, h0: Tensor, keep, reverse: bool, zone, weight_hh: Tensor):
    """:class:`MUTSequence` of ``kind`` on ``u`` (T, N, 3H), rows z|r|n, with the cell's
    recurrent dropout mask; under autocast the recurrence in the weights' dtype."""
    mask = cell.recurrent_mask()  # this sequence's recurrent dropout mask, or None
    spec = SimpleNamespace(kind=kind, reverse=reverse, zone=zone)
    device = u.device.type
    if torch.is_autocast_enabled(device):  # mixed precision: the recurrence in fp32
        u, h0 = u.to(weight_hh.dtype), h0.to(weight_hh.dtype)
        with torch.autocast(device, enabled=False):
            return MUTSequence.apply(spec, u, h0, mask, keep, weight_hh)
    return MUTSequence.apply(spec, u, h0, mask, keep, weight_hh)


class MUTSequence(torch.autograd.Function):
    """``apply(spec, u, h0, mask, keep, weight_hh) -> (output, h_T)``."""

    @staticmethod
    def forward(ctx, spec, u, h0, mask, keep, weight_hh):
        H = h0.shape[1]
        p = SimpleNamespace(kind=spec.kind, mask=mask, zone=spec.zone, H=H)
        p.w_z, p.w_r, p.w_n = (w.t() for w in weight_hh.chunk(3))  # each (H, H)
        native = ops() if native_fits(u, [weight_hh]) else None
        if native is None:
            output, h, order, s = _forward_loop(p, u, h0, keep, spec.reverse)
        else:  # the same loop compiled, with the factors formed at each step
            p.mask = mask = None if mask is None else mask.contiguous()
            output, h, *values = native.mut_route_forward(
                u.contiguous(),
                h0,
                mask,
                keep,
                weight_hh,
                NATIVE_KINDS[p.kind],
                spec.reverse,
                *zone_args(p),
            )
            s = dict(zip(_native_saved(p), values, strict=True))
            order = range(u.shape[0] - 1, -1, -1) if spec.reverse else range(u.shape[0])
        ctx.p, ctx.order, ctx.names, ctx.native = p, order, list(s), native
        keep_f = () if keep is None else (keep.to(u.dtype),)
        ctx.save_for_backward(*s.values(), weight_hh, *keep_f)
        return output, h

    @staticmethod
    @first_order_only
    def backward(ctx, d_output, d_h):
        p, order = ctx.p, ctx.order
        tensors = ctx.saved_tensors
        s = dict(zip(ctx.names, tensors, strict=False))
        weight_hh = tensors[len(ctx.names)]
        keep = tensors[-1] if len(tensors) > len(ctx.names) + 1 else None
        if ctx.native is None:
            d_u, dh = _backward_loop(p, s, weight_hh, d_output, d_h, keep, order)
        else:
            saved = [s[name] for name in _native_saved(p)]
            d_u, dh = ctx.native.mut_route_backward(
                d_output.contiguous(),
                d_h,
                saved,
                weight_hh,
                p.mask,
                keep,
                NATIVE_KINDS[p.kind],
                order.step < 0,
                *zone_args(p),
            )
        return None, d_u, dh, None, None, _weight_grad(p, s, d_u)


NATIVE_KINDS = {"mut1": 1, "mut2": 2, "mut3": 3}  # csrc/mut_route.cpp's kinds


def _native_saved(p) -> list[str]:
    """What the C++ forward loop returns to keep, in its order."""
    names = ["hd", "q", "r", "k_z", "k_n", "k_r", "keep_z"]
    names += ["s_z"] if p.kind != "mut1" else []
    names += ["k_tanh"] if p.kind == "mut3" else []
    return names + (["zone"] if p.zone is not None and p.zone[0] and p.zone[2] else [])


def _forward_loop(p, u: Tensor, h0: Tensor, keep: Tensor | None, reverse: bool):
    """The forward time loop in Python: ``(output, h_T, order, saved)``, ``saved`` stacked
    over T with the derivative factors."""
    names = ["h_prev", "hd", "s_z", "tanh_h", "z", "r", "q", "n", "zone"]
    saved = {name: [None] * u.shape[0] for name in names}
    output, h, order = run_steps(
        lambda x_t, h, t: _step(p, x_t, h, saved, t), u.unbind(0), h0, keep, reverse
    )
    s = {name: torch.stack(v) for name, v in saved.items() if v[0] is not None}
    s.update(_factors(p, s))
    for name in ("z", "n", "h_prev", "tanh_h"):  # in the factors now
        s.pop(name, None)
    return output, h, order, s


def _backward_loop(p, s: dict, weight_hh: Tensor, d_output: Tensor, d_h: Tensor, keep, order):
    """The backward time loop in Python: ``(d_u, dL/dh_0)``."""
    p.w_z, p.w_r, p.w_n = weight_hh.chunk(3)  # each (H, H), as the backward pass reads them
    T, N, H = d_output.shape
    d_u = d_output.new_empty(T, N, 3 * H)  # dL/d(pre-activations), rows z|r|n
    steps = {name: value.unbind(0) for name, value in s.items()}
    d_us, d_outs = d_u.unbind(0), d_output.unbind(0)
    keeps = None if keep is None else keep.unbind(0)
    dh = d_h
    for t in reversed(order):
        k = None if keeps is None else keeps[t]
        dh = _step_back(p, steps, t, dh, d_outs[t], d_us[t], k)
    return d_u, dh


def _step(p, u_t: Tensor, h: Tensor, saved: dict, t: int) -> Tensor:
    """One step forward, the cells' equations, keeping what the backward pass reads."""
    H = p.H
    hd = h if p.mask is None else h * p.mask  # h_{t-1} as the recurrent matmuls read it
    tanh_h = None
    if p.kind == "mut1":
        s_z, z_pre = None, u_t[:, :H]
    else:
        if p.kind == "mut2":
            s_z = hd
        else:
            tanh_h = torch.tanh(h)
            s_z = tanh_h if p.mask is None else tanh_h * p.mask
        z_pre = torch.addmm(u_t[:, :H], s_z, p.w_z)
    z = torch.sigmoid(z_pre)
    r = torch.sigmoid(torch.addmm(u_t[:, H : 2 * H], hd, p.w_r))
    q = r * hd
    n = torch.tanh(torch.addmm(u_t[:, 2 * H :], q, p.w_n))
    h_new = n * z + h * (1 - z)
    if p.zone is not None and p.zone[0]:
        rate, training = p.zone[0], p.zone[2]
        if training:  # as rnnkit.nn.regularise.zone: the same draw, the same arithmetic
            saved["zone"][t] = keep = torch.bernoulli(torch.full_like(h_new, rate))
            h_new = keep * h + (1 - keep) * h_new
        else:
            h_new = rate * h + (1 - rate) * h_new
    for name, value in (("h_prev", h), ("hd", hd), ("s_z", s_z), ("z", z), ("r", r)):
        saved[name][t] = value
    saved["q"][t], saved["n"][t], saved["tanh_h"][t] = q, n, tanh_h
    return h_new


def _step_back(p, s, t: int, dh: Tensor, d_out: Tensor, d_u: Tensor, k: Tensor | None):
    """Back through step t from dL/dh_t (and the output's gradient); writes dL/du_t into
    ``d_u`` and returns dL/dh_{t-1}."""
    H = p.H
    dh, dh_pass = split_back(p, s, t, dh, d_out, k)
    d_a_z = torch.mul(dh, s["k_z"][t], out=d_u[:, :H])
    d_a_n = torch.mul(dh, s["k_n"][t], out=d_u[:, 2 * H :])
    dq = torch.mm(d_a_n, p.w_n)  # (N, H)
    d_a_r = torch.mul(dq, s["k_r"][t], out=d_u[:, H : 2 * H])
    dhd = torch.addmm(dq * s["r"][t], d_a_r, p.w_r)
    if p.kind == "mut2":
        dhd = torch.addmm(dhd, d_a_z, p.w_z)
    if p.mask is not None:
        dhd = dhd * p.mask
    dh_prev = torch.addcmul(dhd, dh, s["keep_z"][t])
    if p.kind == "mut3":  # z reads m * tanh(h_{t-1})
        dh_prev = torch.addcmul(dh_prev, torch.mm(d_a_z, p.w_z), s["k_tanh"][t])
    return dh_prev if dh_pass is None else dh_prev + dh_pass


def _factors(p, s: dict) -> dict:
    """Each step's derivative factors, for all T at once (T, N, H): ``k_z`` multiplies
    dL/dh_t into z's pre-activation gradient, ``k_n`` into n's, ``k_r`` dL/dq into r's,
    ``keep_z`` (1 - z) dL/dh_t into dL/dh_{t-1}; ``k_tanh`` (MUT3) m (1 - tanh^2)."""
    z, r, n = s["z"], s["r"], s["n"]
    factors = {
        "k_z": (n - s["h_prev"]) * z * (1 - z),
        "k_n": z * (1 - n * n),
        "k_r": s["hd"] * r * (1 - r),
        "keep_z": 1 - z,
        "r": r,
    }
    if p.kind == "mut3":
        tanh_h = s["tanh_h"]
        factors["k_tanh"] = (1 - tanh_h * tanh_h) * (1 if p.mask is None else p.mask)
    return factors


def _weight_grad(p, s: dict, d_u: Tensor) -> Tensor:
    """dL/dW_hh (3H, H), rows z|r|n: one product over all T steps each."""
    H = p.H
    d_z, d_r, d_n = (d_u[..., k * H : (k + 1) * H].flatten(0, 1) for k in range(3))
    grad_r = d_r.t() @ s["hd"].flatten(0, 1)
    grad_n = d_n.t() @ s["q"].flatten(0, 1)
    if p.kind == "mut1":
        grad_z = torch.zeros_like(grad_r)  # MUT1's z reads no state
    else:
        grad_z = d_z.t() @ s["s_z"].flatten(0, 1)
    return torch.cat((grad_z, grad_r, grad_n))
