"""The GRU (torch's form) and the layer-normalised GRU over a whole sequence with
hand-derived BPTT: the fast route of the loop, as :mod:`rnnkit.nn.lstm_bptt` is for the LSTM
cells (read that module first). ``lngru`` has no fused kernel; ``gru`` takes this route when
the kernels cannot run it (recurrent dropout, zoneout).

With ``x = (x_r, x_z, x_n)`` the projected input (``lngru``: ``LN(W_ih x_t) + b_ih``) and
``hp = (h_r, h_z, h_n) = W_hh (m * h_{t-1}) + b_hh`` (``lngru``: ``LN(W_hh (m * h_{t-1})) +
b_hh``; ``m`` the recurrent dropout mask)::

    r = sigmoid(x_r + h_r),  z = sigmoid(x_z + h_z),  n = tanh(x_n + r * h_n)
    h_t = (1 - z) * n + z * h_{t-1}

Backward through one step, given ``dh`` (dL/dh_t)::

    da_n = dh * (1 - z) * (1 - n^2),  da_z = dh * (h_{t-1} - n) * z(1 - z)
    da_r = da_n * h_n * r(1 - r),     dh_n = da_n * r
    dh_{t-1} = dh * z + m * (LN'(da_r, da_z, dh_n) @ W_hh)

``dL/dx = (da_r, da_z, da_n)`` goes back to autograd (``W_ih``, ``b_ih``, the input norm);
``dL/dW_hh``, ``dL/db_hh`` and the gain are each one product or sum over all T steps.
Shape letters: T time, N batch, H hidden units.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import Tensor

from rnnkit.nn.bptt_steps import run_steps, split_back, zone_args
from rnnkit.nn.cells import GRUCell
from rnnkit.nn.lstm_bptt import gain_grads, layer_norm, layer_norm_grad, native_fits
from rnnkit.nn.native import first_order_only, ops
from rnnkit.nn.variant_cells import LN_EPS, LayerNormGRUCell


def gru_kind(cell) -> str | None:
    """``"gru"`` for exactly rnnkit's GRUCell in torch's form, ``"lngru"`` for exactly
    LayerNormGRUCell, else None."""
    if type(cell) is GRUCell and cell.reset_after:
        return "gru"
    return "lngru" if type(cell) is LayerNormGRUCell else None


def run_gru_sequence(cell, xp: Tensor, h0: Tensor, keep: Tensor | None, reverse: bool, zone=None):
    """The whole sequence through ``cell`` (:func:`gru_kind` not None): ``xp`` (T, N, 3H)
    its projected input (rows r|z|n), ``keep`` (T, N, 1) 1 where t < length, or None;
    ``zone``: zoneout's ``(hidden, _, training)``, or None. Returns the outputs (T, N, H) and
    the final state: the loop's numbers, its random draws included."""
    mask = cell.recurrent_mask()  # this sequence's recurrent dropout mask, or None
    spec = SimpleNamespace(kind=gru_kind(cell), reverse=reverse, zone=zone)
    gain = getattr(cell, "ln_hh_weight", None)
    args = (cell.weight_hh, cell.bias_hh, gain)
    device = xp.device.type
    if torch.is_autocast_enabled(device):  # mixed precision: the recurrence in fp32
        xp, h0 = xp.to(cell.weight_hh.dtype), h0.to(cell.weight_hh.dtype)
        with torch.autocast(device, enabled=False):
            return GRUSequence.apply(spec, xp, h0, mask, keep, *args)
    return GRUSequence.apply(spec, xp, h0, mask, keep, *args)


class GRUSequence(torch.autograd.Function):
    """``apply(spec, xp, h0, mask, keep, weight_hh, bias_hh, ln_hh_weight) -> (output, h_T)``
    (``bias_hh``, ``ln_hh_weight`` may be None)."""

    @staticmethod
    def forward(ctx, spec, xp, h0, mask, keep, weight_hh, bias_hh, gain):
        p = SimpleNamespace(kind=spec.kind, mask=mask, zone=spec.zone, H=h0.shape[1])
        p.weight_hh, p.weight_hh_t, p.bias_hh, p.gain = weight_hh, weight_hh.t(), bias_hh, gain
        params = [weight_hh, bias_hh, gain]
        native = ops() if native_fits(xp, params) else None
        if native is None:
            output, h, order, s = _forward_loop(p, xp, h0, keep, spec.reverse)
        else:  # the same loop compiled, with the factors formed at each step
            p.mask = mask = None if mask is None else mask.contiguous()
            empty = weight_hh.new_empty(0)  # no bias
            args = [weight_hh, empty if bias_hh is None else bias_hh.contiguous()]
            args += [gain.contiguous()] if spec.kind == "lngru" else []
            output, h, *values = native.gru_route_forward(
                xp.contiguous(),
                h0,
                mask,
                keep,
                args,
                NATIVE_KINDS[p.kind],
                spec.reverse,
                *zone_args(p),
                LN_EPS,
            )
            s = dict(zip(_native_saved(p), values, strict=True))
            order = range(xp.shape[0] - 1, -1, -1) if spec.reverse else range(xp.shape[0])
        ctx.p, ctx.order, ctx.names, ctx.native = p, order, list(s), native
        keep_f = () if keep is None else (keep.to(xp.dtype),)
        ctx.save_for_backward(*s.values(), *keep_f)
        return output, h

    @staticmethod
    @first_order_only
    def backward(ctx, d_output, d_h):
        p, order = ctx.p, ctx.order
        tensors = ctx.saved_tensors
        s = dict(zip(ctx.names, tensors, strict=False))
        keep = tensors[-1] if len(tensors) > len(ctx.names) else None
        if ctx.native is None:
            d_x, d_hp, d_pre, dh = _backward_loop(p, s, d_output, d_h, keep, order)
        else:
            saved = [s[name] for name in _native_saved(p)]
            args = [p.weight_hh] + ([p.gain.contiguous()] if p.kind == "lngru" else [])
            d_x, d_hp, d_pre, dh = ctx.native.gru_route_backward(
                d_output.contiguous(),
                d_h,
                saved,
                args,
                p.mask,
                keep,
                NATIVE_KINDS[p.kind],
                order.step < 0,
                *zone_args(p),
            )
        return (None, d_x, dh, None, None, *_weight_grads(p, s, d_hp, d_pre))


NATIVE_KINDS = {"gru": 0, "lngru": 1}  # csrc/gru_route.cpp's kinds


def _native_saved(p) -> list[str]:
    """What the C++ forward loop returns to keep, in its order."""
    names = ["hd", "r", "z", "k_n", "k_z", "k_r"]
    names += ["pre", "mean", "rstd"] if p.kind == "lngru" else []
    return names + (["zone"] if p.zone is not None and p.zone[0] and p.zone[2] else [])


def _forward_loop(p, xp: Tensor, h0: Tensor, keep: Tensor | None, reverse: bool):
    """The forward time loop in Python: ``(output, h_T, order, saved)``, ``saved`` stacked
    over T with the derivative factors."""
    T = xp.shape[0]
    names = ["h_prev", "hd", "r", "z", "n", "h_n", "pre", "mean", "rstd", "zone"]
    saved = {name: [None] * T for name in names}
    output, h, order = run_steps(
        lambda x_t, h, t: _step(p, x_t, h, saved, t), xp.unbind(0), h0, keep, reverse
    )
    s = {name: torch.stack(v) for name, v in saved.items() if v[0] is not None}
    s.update(_factors(s))
    return output, h, order, s


def _backward_loop(p, s: dict, d_output: Tensor, d_h: Tensor, keep, order):
    """The backward time loop in Python: ``(d_x, d_hp, d_pre, dL/dh_0)``."""
    T, N, H = d_output.shape
    d_x = d_output.new_empty(T, N, 3 * H)  # dL/d(projected input), rows r|z|n
    d_hp = d_output.new_empty(T, N, 3 * H)  # dL/d(W_hh h + b_hh), after any norm
    d_pre = d_output.new_empty(T, N, 3 * H) if p.kind == "lngru" else d_hp  # before it
    steps = {name: value.unbind(0) for name, value in s.items()}
    grads = SimpleNamespace(d_x=d_x.unbind(0), d_hp=d_hp.unbind(0), d_pre=d_pre.unbind(0))
    d_outs, keeps = d_output.unbind(0), None if keep is None else keep.unbind(0)
    dh = d_h
    for t in reversed(order):
        k = None if keeps is None else keeps[t]
        dh = _step_back(p, steps, grads, t, dh, d_outs[t], k)
    return d_x, d_hp, d_pre, dh


def _step(p, x_t: Tensor, h: Tensor, saved: dict, t: int) -> Tensor:
    """One step forward, the cell's equations, keeping what the backward pass reads."""
    H = p.H
    hd = h if p.mask is None else h * p.mask  # h_{t-1} as the recurrent matmul reads it
    if p.kind == "lngru":
        pre = torch.mm(hd, p.weight_hh_t)  # (N, 3H)
        hp, saved["mean"][t], saved["rstd"][t] = layer_norm(pre, p.gain, p.bias_hh)
        saved["pre"][t] = pre
    elif p.bias_hh is None:
        hp = torch.mm(hd, p.weight_hh_t)
    else:
        hp = torch.addmm(p.bias_hh, hd, p.weight_hh_t)  # (N, 3H)
    r, z = torch.sigmoid(x_t[:, : 2 * H] + hp[:, : 2 * H]).chunk(2, 1)
    h_n = hp[:, 2 * H :]
    n = torch.tanh(torch.addcmul(x_t[:, 2 * H :], r, h_n))
    h_new = (1 - z) * n + z * h
    if p.zone is not None and p.zone[0]:
        rate, training = p.zone[0], p.zone[2]
        if training:  # as rnnkit.nn.regularise.zone: the same draw, the same arithmetic
            saved["zone"][t] = keep = torch.bernoulli(torch.full_like(h_new, rate))
            h_new = keep * h + (1 - keep) * h_new
        else:
            h_new = rate * h + (1 - rate) * h_new
    for name, value in (("h_prev", h), ("hd", hd), ("r", r), ("z", z), ("n", n), ("h_n", h_n)):
        saved[name][t] = value
    return h_new


def _factors(s: dict) -> dict:
    """Each step's derivative factors for all T at once (T, N, H): ``k_n``, ``k_z`` multiply
    dL/dh_t into n's and z's pre-activation gradients, ``k_r`` n's into r's."""
    r, z, n = s["r"], s["z"], s["n"]
    return {
        "k_n": (1 - z) * (1 - n * n),
        "k_z": (s["h_prev"] - n) * z * (1 - z),
        "k_r": s["h_n"] * r * (1 - r),
    }


def _step_back(p, s, grads, t: int, dh: Tensor, d_out: Tensor, k: Tensor | None) -> Tensor:
    """Back through step t from dL/dh_t and the output's gradient; writes the step's input
    and recurrent pre-activation gradients, returns dL/dh_{t-1}."""
    H = p.H
    dh, dh_pass = split_back(p, s, t, dh, d_out, k)
    d_x, d_hp = grads.d_x[t], grads.d_hp[t]
    d_a_n = torch.mul(dh, s["k_n"][t], out=d_x[:, 2 * H :])
    torch.mul(d_a_n, s["k_r"][t], out=d_x[:, :H])
    torch.mul(dh, s["k_z"][t], out=d_x[:, H : 2 * H])
    d_hp[:, : 2 * H] = d_x[:, : 2 * H]
    torch.mul(d_a_n, s["r"][t], out=d_hp[:, 2 * H :])
    d_pre = d_hp
    if p.kind == "lngru":
        d_pre = layer_norm_grad(d_hp, s["pre"][t], s["mean"][t], s["rstd"][t], p.gain)
        grads.d_pre[t].copy_(d_pre)
    dhd = torch.mm(d_pre, p.weight_hh)  # (N, H)
    if p.mask is not None:
        dhd = dhd * p.mask
    dh_prev = torch.addcmul(dhd, dh, s["z"][t])
    return dh_prev if dh_pass is None else dh_prev + dh_pass


def _weight_grads(p, s: dict, d_hp: Tensor, d_pre: Tensor) -> list:
    """dL/dW_hh, dL/db_hh and (lngru) dL/d gain: each one product or sum over all T steps."""
    d_weight = d_pre.flatten(0, 1).t() @ s["hd"].flatten(0, 1)  # (3H, H)
    d_bias = None if p.bias_hh is None else d_hp.sum((0, 1))
    d_gain = None
    if p.kind == "lngru":  # sum_t,n dL/dLN(pre) * pre^, in one pass
        d_gain = gain_grads(d_hp, s["pre"], s["mean"], s["rstd"])[1]
    return [d_weight, d_bias, d_gain]
