"""The LSTM family over a whole sequence with hand-derived BPTT: the fast route of the loop.

:func:`rnnkit.nn.recurrence.run_cell` steps a cell under autograd: every step records some
fifteen autograd nodes, and its backward pass runs them one by one, forming ``dL/dW_hh`` as T
small products added up. For the LSTM cells of rnnkit that have no fused kernel (``lnlstm``,
``peephole``, and ``lstm`` itself with recurrent dropout or zoneout, bare or inside
:class:`rnnkit.nn.Zoneout`) this module runs the same equations as one
``torch.autograd.Function``:

* forward: the time loop under no autograd, keeping only what the backward pass reads;
* backward: an explicit ``for t in reversed(range(T))`` loop (the one
  :mod:`rnnkit.reference.lstm` writes in NumPy), with each step's gate derivative factors
  formed beforehand for all T at once, and ``dL/dW_hh = sum_t dz_t^T h_{t-1}``, the
  peephole, gain and bias gradients each formed after the loop in one batched product.

Backward through one step, given ``dh`` (dL/dh_t) and ``dc`` (dL/dc_t from step t+1)::

    da_o = dh * tanh(c~_t) * o(1 - o)                c~_t: c_t, or LN(c_t) for lnlstm
    dc  += LN'(dh * o * (1 - tanh(c~_t)^2))          LN': the identity without layer norm
    dc  += da_o * w_co                               peephole: o reads c_t
    da_i = dc * g * i(1 - i),  da_f = dc * c_{t-1} * f(1 - f),  da_g = dc * i * (1 - g^2)
    dc_{t-1} = dc * f  (+ da_i * w_ci + da_f * w_cf)
    dh_{t-1} = (LN'(da) @ W_hh) * m                  m: the recurrent dropout mask

Past a sequence's length (``keep`` 0) the step is skipped: the state passes through unchanged
and so does its gradient. Zoneout mixes the old state into the fresh one, ``s = d * s_old +
(1 - d) * s_fresh``: its gradient splits the same way, ``d`` to the old state.

Operations per step (aten calls, views included, counted by ``benchmarks/count_route_ops.py``;
forward / backward): lstm with recurrent dropout 10 / 10 here against 19 / 31 on the autograd
loop, peephole 13 / 14 against 24 / 48, lnlstm 12 / 13 against 21 / 35; zoneout adds 12 / 8
to either. The loop also records an autograd node for each forward operation.
Shape letters: T time, N batch, H hidden units.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import Tensor

from rnnkit.nn.cells import LSTMCell
from rnnkit.nn.native import first_order_only, ops
from rnnkit.nn.variant_cells import LN_EPS, LayerNormLSTMCell, PeepholeLSTMCell

KINDS = {LSTMCell: "lstm", PeepholeLSTMCell: "peephole", LayerNormLSTMCell: "lnlstm"}
PARAMS = {
    "lstm": ("weight_hh", "bias_hh"),
    "peephole": ("weight_hh", "bias_hh", "weight_ci", "weight_cf", "weight_co"),
    "lnlstm": ("weight_hh", "bias_hh", "ln_hh_weight", "ln_c_weight", "ln_c_bias"),
}


def run_lstm_sequence(cell, xp: Tensor, state, keep: Tensor | None, reverse: bool, zone=None):
    """The whole sequence through ``cell`` (one of :data:`KINDS`): ``xp`` (T, N, 4H) its
    projected input, ``state`` (h0, c0), ``keep`` (T, N, 1) 1 where t < length, or None;
    ``zone``: zoneout's ``(hidden, cell_state, training)``, or None. Returns the outputs
    (T, N, H) and the final state (h, c): the loop's numbers, its random draws included."""
    kind = KINDS[type(cell)]
    params = [getattr(cell, name) for name in PARAMS[kind]]
    mask = cell.recurrent_mask()  # this sequence's recurrent dropout mask, or None
    spec = SimpleNamespace(kind=kind, reverse=reverse, zone=zone)
    h0, c0 = state
    device = xp.device.type
    if torch.is_autocast_enabled(device):  # mixed precision: the recurrence in the weights'
        dtype = params[0].dtype  # dtype, as the layer norms and the cell state ask
        xp, h0, c0 = xp.to(dtype), h0.to(dtype), c0.to(dtype)
        with torch.autocast(device, enabled=False):
            output, h, c = LSTMSequence.apply(spec, xp, h0, c0, mask, keep, *params)
        return output, (h, c)
    output, h, c = LSTMSequence.apply(spec, xp, h0, c0, mask, keep, *params)
    return output, (h, c)


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor | None):
    """``(LN(x) * weight + bias, mean, rstd)`` in one kernel (what ``F.layer_norm`` runs)."""
    return torch.native_layer_norm(x, x.shape[-1:], weight, bias, LN_EPS)


def layer_norm_grad(grad: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, weight: Tensor):
    """dL/dx of ``LN(x) * weight`` given dL/d(output): ``rstd * (dx^ - mean(dx^) - x^
    mean(dx^ x^))`` with ``dx^ = grad * weight``, in one kernel (autograd's own)."""
    mask = [True, False, False]
    return torch.ops.aten.native_layer_norm_backward(
        grad, x, x.shape[-1:], mean, rstd, weight, None, mask
    )[0]


class LSTMSequence(torch.autograd.Function):
    """``apply(spec, xp, h0, c0, mask, keep, *params) -> (output, h_T, c_T)``; ``params``
    as :data:`PARAMS` lists them for ``spec.kind``."""

    @staticmethod
    def forward(ctx, spec, xp, h0, c0, mask, keep, *params):
        p = SimpleNamespace(**dict(zip(PARAMS[spec.kind], params, strict=True)), mask=mask)
        p.kind, p.peephole, p.ln = spec.kind, spec.kind == "peephole", spec.kind == "lnlstm"
        p.zone = spec.zone
        p.weight_hh_t = p.weight_hh.t()  # (H, 4H)
        native = ops() if native_fits(xp, params) else None
        if native is None:
            if not p.ln and p.bias_hh is not None:
                xp = xp + p.bias_hh  # (T, N, 4H): W_ih x_t + b_ih + b_hh
            output, h, c, stacked = _forward_loop(p, xp, h0, c0, keep, spec.reverse)
            stacked.update(_factors(p, stacked))
        else:  # the same loop compiled, with the factors formed at each step
            p.mask = mask = None if mask is None else mask.contiguous()
            output, h, c, *values = native.lstm_route_forward(
                xp.contiguous(),
                h0,
                c0,
                mask,
                keep,
                _native_params(p),
                NATIVE_KINDS[p.kind],
                spec.reverse,
                *_zone_args(p),
                LN_EPS,
            )
            stacked = dict(zip(_native_saved(p), values, strict=True))
        ctx.p, ctx.reverse, ctx.native = p, spec.reverse, native
        ctx.names = list(stacked)
        keep_f = () if keep is None else (keep.to(xp.dtype),)
        ctx.save_for_backward(*stacked.values(), *params, *keep_f)
        return output, h, c

    @staticmethod
    @first_order_only
    def backward(ctx, d_output, d_h, d_c):
        p = ctx.p
        tensors = ctx.saved_tensors
        s = dict(zip(ctx.names, tensors, strict=False))
        params = tensors[len(ctx.names) : len(ctx.names) + len(PARAMS[p.kind])]
        p.__dict__.update(zip(PARAMS[p.kind], params, strict=True))
        keep = tensors[-1] if len(tensors) > len(ctx.names) + len(params) else None
        if ctx.native is None:
            d_a, d_z, d_cn, dh, dc = _backward_loop(p, s, d_output, d_h, d_c, keep, ctx.reverse)
        else:
            saved = [s[name] for name in _native_saved(p, backward=True)]
            params = _native_params(p, backward=True)
            d_a, d_z, d_cn, dh, dc = ctx.native.lstm_route_backward(
                d_output.contiguous(),
                d_h,
                d_c,
                saved,
                params,
                p.mask,
                keep,
                NATIVE_KINDS[p.kind],
                ctx.reverse,
                *_zone_args(p),
            )
            d_cn = d_cn if p.ln else None
        weights = _weight_grads(p, s, d_a, d_z, d_cn)
        return (None, d_a, dh, dc, None, None, *weights)


def _forward_loop(p, xp: Tensor, h0: Tensor, c0: Tensor, keep: Tensor | None, reverse: bool):
    """The forward time loop in Python: ``(output, h_T, c_T, saved)``, ``saved`` each of
    :func:`_saved_names` stacked over T."""
    T = xp.shape[0]
    saved = {name: [None] * T for name in _saved_names(p)}
    outputs = [None] * T
    xs = xp.unbind(0)
    keeps = None if keep is None else keep.unbind(0)  # T x (N, 1) bool
    h, c = h0, c0
    for t in range(T - 1, -1, -1) if reverse else range(T):
        h_new, c_new = _step(p, xs[t], h, c, saved, t)
        if p.zone is not None:
            h_new, c_new = _zone(p, h, c, h_new, c_new, saved, t)
        if keeps is None:
            h, c = h_new, c_new
            outputs[t] = h_new
        else:
            k = keeps[t]  # past its length a sequence keeps its state, emits zeros
            outputs[t] = h_new * k
            h, c = torch.where(k, h_new, h), torch.where(k, c_new, c)
    stacked = {name: torch.stack(values) for name, values in saved.items()}
    return torch.stack(outputs), h, c, stacked


def _backward_loop(p, s: dict, d_output: Tensor, d_h: Tensor, d_c: Tensor, keep, reverse: bool):
    """The backward time loop in Python: ``(d_a, d_z, d_cn, dL/dh_0, dL/dc_0)``."""
    T, N, H = d_output.shape
    d_a = d_output.new_empty(T, N, 4 * H)  # dL/d(gate pre-activations), gates i|f|g|o
    d_z = d_output.new_empty(T, N, 4 * H) if p.ln else d_a  # before the layer norm
    d_cn = d_output.new_empty(T, N, H) if p.ln else None  # dL/d LN(c_t)
    steps = {name: value.unbind(0) for name, value in s.items()}
    grads = SimpleNamespace(d_a=d_a.unbind(0), d_z=d_z.unbind(0), d_out=d_output.unbind(0))
    grads.d_cn = None if d_cn is None else d_cn.unbind(0)
    keeps = None if keep is None else keep.unbind(0)
    dh, dc = d_h, d_c
    for t in range(T) if reverse else range(T - 1, -1, -1):
        dh, dc = _step_back(p, steps, grads, t, dh, dc, None if keeps is None else keeps[t])
    return d_a, d_z, d_cn, dh, dc


NATIVE_KINDS = {"lstm": 0, "peephole": 1, "lnlstm": 2}  # csrc/lstm_route.cpp's kinds


def native_fits(xp: Tensor, params) -> bool:
    """Whether the compiled loops take this sequence: CPU, float32 or float64 throughout."""
    dtypes = {xp.dtype, *(param.dtype for param in params if param is not None)}
    return xp.device.type == "cpu" and len(dtypes) == 1 and xp.dtype in NATIVE_DTYPES


NATIVE_DTYPES = (torch.float32, torch.float64)


def _native_params(p, backward: bool = False) -> list[Tensor]:
    """The parameters in the order csrc/lstm_route.cpp reads them."""
    if backward:
        extra = {"peephole": ("weight_ci", "weight_cf", "weight_co")}
        extra["lnlstm"] = ("ln_hh_weight", "ln_c_weight")
        names = ("weight_hh", *extra.get(p.kind, ()))
    else:
        names = PARAMS[p.kind]
    empty = p.weight_hh.new_empty(0)  # no bias
    return [empty if (v := getattr(p, name)) is None else v.contiguous() for name in names]


def _native_saved(p, backward: bool = False) -> list[str]:
    """What the C++ forward loop returns to keep (``backward``: what its backward loop reads
    of it), in its order."""
    names = ["k_ifg", "k_o", "m", "f"]
    if backward and p.ln:
        names += ["c", "c_mean", "c_rstd", "z", "z_mean", "z_rstd"]
    elif not backward:
        names = ["h_prev", "c_prev", "f", "c", "k_ifg", "k_o", "m"]
        names += ["z", "z_mean", "z_rstd", "c_mean", "c_rstd"] if p.ln else []
    return names + [name for name in _saved_names(p) if name.startswith("zone_")]


def _zone_args(p) -> tuple[float, float, bool]:
    """Zoneout's (hidden rate, cell rate, training) as the C++ loops take them."""
    if p.zone is None:
        return 0.0, 0.0, False
    return float(p.zone[0]), float(p.zone[1]), bool(p.zone[2])


def _saved_names(p) -> list[str]:
    names = ["h_prev", "c_prev", "i", "f", "g", "o", "c", "tanh_c"]
    if p.ln:
        names += ["z", "z_mean", "z_rstd", "c_mean", "c_rstd"]
    if p.zone is not None and p.zone[2]:  # zoneout in training: its masks
        names += [name for name, rate in zip(("zone_h", "zone_c"), p.zone, strict=False) if rate]
    return names


def _zone(p, h: Tensor, c: Tensor, h_new: Tensor, c_new: Tensor, saved: dict, t: int):
    """Zoneout of the fresh state (:func:`rnnkit.nn.regularise.zone`, the same draws in the
    same order), keeping its masks: each unit keeps its old value where the mask is 1."""
    rate_h, rate_c, training = p.zone
    pairs = (("zone_h", rate_h, h, h_new), ("zone_c", rate_c, c, c_new))
    zoned = []
    for name, rate, old, fresh in pairs:
        if rate and training:
            keep = torch.bernoulli(torch.full_like(fresh, rate))  # (N, H)
            saved[name][t] = keep
            fresh = keep * old + (1 - keep) * fresh
        elif rate:
            fresh = rate * old + (1 - rate) * fresh  # evaluation: the expectation
        zoned.append(fresh)
    return zoned


def _zone_back(p, s: dict, t: int, d: Tensor, name: str, rate: float):
    """dL/d(zoned state) -> (the fresh state's share, the share passed to the old state)."""
    if not rate:
        return d, None
    keep = s[name][t] if p.zone[2] else rate
    return d * (1 - keep), d * keep


def _step(p, x_t: Tensor, h: Tensor, c: Tensor, saved: dict, t: int):
    """One step forward, the cell's equations, keeping what the backward pass reads."""
    hd = h if p.mask is None else h * p.mask  # h_{t-1} as the recurrent matmul reads it
    if p.ln:
        z = torch.mm(hd, p.weight_hh_t)  # (N, 4H)
        zn, saved["z_mean"][t], saved["z_rstd"][t] = layer_norm(z, p.ln_hh_weight, p.bias_hh)
        saved["z"][t] = z
        gates = x_t + zn
    else:
        gates = torch.addmm(x_t, hd, p.weight_hh_t)  # (N, 4H)
    if p.peephole:
        a_i, a_f, a_g, a_o = gates.chunk(4, 1)
        i = torch.sigmoid(torch.addcmul(a_i, p.weight_ci, c))
        f = torch.sigmoid(torch.addcmul(a_f, p.weight_cf, c))
        g = torch.tanh(a_g)
    else:
        i, f, _, o = torch.sigmoid(gates).chunk(4, 1)
        g = torch.tanh(gates[:, 2 * c.shape[1] : 3 * c.shape[1]])
    c_new = torch.addcmul(f * c, i, g)  # c_t = f * c_{t-1} + i * g
    if p.peephole:
        o = torch.sigmoid(torch.addcmul(a_o, p.weight_co, c_new))
    if p.ln:
        cn, saved["c_mean"][t], saved["c_rstd"][t] = layer_norm(c_new, p.ln_c_weight, p.ln_c_bias)
        tanh_c = torch.tanh(cn)
    else:
        tanh_c = torch.tanh(c_new)
    for name, value in (("h_prev", hd), ("c_prev", c), ("i", i), ("f", f), ("g", g), ("o", o)):
        saved[name][t] = value
    saved["c"][t], saved["tanh_c"][t] = c_new, tanh_c
    return o * tanh_c, c_new  # h_t = o * tanh(c~_t)


def _factors(p, s: dict) -> dict:
    """Each step's derivative factors, for all T at once (T, N, ·): ``k_ifg`` (T, N, 3, H)
    multiplies dL/dc_t into the i, f, g pre-activation gradients, ``k_o`` dL/dh_t into o's,
    ``m`` dL/dh_t into dL/d c~_t."""
    i, f, g, o = s["i"], s["f"], s["g"], s["o"]
    k_ifg = torch.stack((g * i * (1 - i), s["c_prev"] * f * (1 - f), i * (1 - g * g)), dim=2)
    return {
        "k_ifg": k_ifg,
        "k_o": s["tanh_c"] * o * (1 - o),
        "m": o * (1 - s["tanh_c"].square()),
    }


def _step_back(p, s: dict, grads, t: int, dh: Tensor, dc: Tensor, k: Tensor | None):
    """Back through step t, from dL/dh_t and dL/dc_t; returns dL/dh_{t-1}, dL/dc_{t-1}."""
    if k is None:
        dh = dh + grads.d_out[t]
    else:  # where the step was skipped the state's gradient passes through unchanged
        pass_h, pass_c = dh * (1 - k), dc * (1 - k)
        dh, dc = (dh + grads.d_out[t]) * k, dc * k  # the output there is a constant 0
    if p.zone is not None:
        dh, zone_h = _zone_back(p, s, t, dh, "zone_h", p.zone[0])
        dc, zone_c = _zone_back(p, s, t, dc, "zone_c", p.zone[1])
    d_o = dh * s["k_o"][t]  # (N, H)
    if p.ln:
        d_cn = torch.mul(dh, s["m"][t], out=grads.d_cn[t])
        dc = dc + layer_norm_grad(d_cn, s["c"][t], s["c_mean"][t], s["c_rstd"][t], p.ln_c_weight)
    else:
        dc = torch.addcmul(dc, dh, s["m"][t])
    if p.peephole:
        dc = torch.addcmul(dc, d_o, p.weight_co)
    d_ifg = s["k_ifg"][t] * dc.unsqueeze(1)  # (N, 3, H)
    d_a = torch.cat((d_ifg.flatten(1), d_o), dim=1, out=grads.d_a[t])  # (N, 4H)
    dc_prev = dc * s["f"][t]
    if p.peephole:
        dc_prev = torch.addcmul(dc_prev, d_ifg[:, 0], p.weight_ci)  # i and f read c_{t-1}
        dc_prev = torch.addcmul(dc_prev, d_ifg[:, 1], p.weight_cf)
    d_z = d_a
    if p.ln:
        d_z = layer_norm_grad(d_a, s["z"][t], s["z_mean"][t], s["z_rstd"][t], p.ln_hh_weight)
        grads.d_z[t].copy_(d_z)
    dh_prev = torch.mm(d_z, p.weight_hh)  # (N, H)
    if p.mask is not None:
        dh_prev = dh_prev * p.mask
    if k is not None:
        dh_prev, dc_prev = dh_prev + pass_h, dc_prev + pass_c
    if p.zone is not None:
        dh_prev = dh_prev if zone_h is None else dh_prev + zone_h
        dc_prev = dc_prev if zone_c is None else dc_prev + zone_c
    return dh_prev, dc_prev


def _weight_grads(p, s: dict, d_a: Tensor, d_z: Tensor, d_cn: Tensor | None) -> list:
    """The parameters' gradients, each one product or sum over all T steps."""
    H = d_a.shape[2] // 4
    d_weight_hh = d_z.flatten(0, 1).t() @ s["h_prev"].flatten(0, 1)  # (4H, H)
    d_bias = None if p.bias_hh is None else d_a.sum((0, 1))
    grads = [d_weight_hh, d_bias]
    if p.peephole:
        d_i, d_f, _, d_o = d_a.split(H, dim=2)
        c_prev, c = s["c_prev"], s["c"]
        grads += [(d_i * c_prev).sum((0, 1)), (d_f * c_prev).sum((0, 1)), (d_o * c).sum((0, 1))]
    if p.ln:  # sum_t,n dL/dLN(x) * x^ for a gain, sum_t,n dL/dLN(x) for a shift, in one pass
        _, d_ln_hh, d_bias = gain_grads(d_a, s["z"], s["z_mean"], s["z_rstd"])
        _, d_ln_c, d_shift = gain_grads(d_cn, s["c"], s["c_mean"], s["c_rstd"])
        grads = [d_weight_hh, None if p.bias_hh is None else d_bias, d_ln_hh, d_ln_c, d_shift]
    return grads


def gain_grads(grad: Tensor, x: Tensor, mean: Tensor, rstd: Tensor):
    """``(None, dL/d gain, dL/d shift)`` of a layer norm applied to every (t, n) row of ``x``,
    given dL/d(its output) (autograd's own kernel)."""
    rows = lambda v: v.flatten(0, 1)  # noqa: E731  (T, N, ·) -> (T N, ·)
    gain = x.new_empty(x.shape[-1])
    return torch.ops.aten.native_layer_norm_backward(
        rows(grad), rows(x), x.shape[-1:], rows(mean), rows(rstd), gain, gain, [False, True, True]
    )
