// The time loops of rnnkit's LSTM route (src/rnnkit/nn/lstm_bptt.py), fused, for the CPU.
//
// lstm_bptt.py runs an LSTM cell without a fused kernel (peephole, lnlstm, lstm with
// recurrent dropout or zoneout) as one autograd Function: a forward loop that keeps what the
// backward pass reads, and a backward loop with the hand-derived BPTT. Its docstring derives
// the equations. Written as tensor operations, a step at batch 8 is some forty small calls,
// each costing more than its arithmetic. Here each step is the matrix product, then, for the
// step's batch rows (shared between the threads where there are enough: for_rows), the
// arithmetic in plain loops over their units, which the compiler vectorises, sigmoid and tanh
// included (activations.h). The derivative factors are formed in the forward loop, while the
// gates are in cache (lstm_bptt._factors forms them over all T afterwards). The random draws
// of zoneout, lengths and recurrent dropout are tensor operations as in Python, in the same
// order. CPU tensors of float32 or float64 only (Python checks); the weight gradients stay in
// Python, one product over all T each.
//
// Shapes: T time, N batch, H hidden units; gates in torch's i|f|g|o order. Kinds: 0 lstm,
// 1 peephole, 2 lnlstm.

#include <ATen/ATen.h>
#include <torch/library.h>

#include <optional>
#include <vector>

#include "activations.h"
#include "route_common.h"

namespace lstm_route {

using namespace rnnkit_native;

constexpr int64_t kPeephole = 1;
constexpr int64_t kLayerNorm = 2;

// The loops of a forward step, each over the N x H units (restrict: no argument overlaps
// another, so the compiler may vectorise them).

// gates (N, 4H) W_hh h_{t-1} (or its layer norm), xs (N, 4H) W_ih x_t + b_ih, bias (4H) or
// null -> the pre-activation blocks i, f, o, g (N, H each), the peepholes on c_{t-1} added.
template <typename S>
void split_gates(int64_t N, int64_t H, const S* __restrict__ gates, const S* __restrict__ xs,
                 const S* __restrict__ bias, const S* __restrict__ c, const S* __restrict__ w_ci,
                 const S* __restrict__ w_cf, S* __restrict__ i, S* __restrict__ f,
                 S* __restrict__ o, S* __restrict__ g) {
  for (int64_t n = 0; n < N; ++n) {
    const S* p = gates + n * 4 * H;
    const S* x = xs + n * 4 * H;
    const int64_t r = n * H;
    for (int64_t j = 0; j < H; ++j) {
      i[r + j] = p[j] + x[j];
      f[r + j] = p[H + j] + x[H + j];
      g[r + j] = p[2 * H + j] + x[2 * H + j];
      o[r + j] = p[3 * H + j] + x[3 * H + j];
    }
    if (bias) {
      for (int64_t j = 0; j < H; ++j) {
        i[r + j] += bias[j], f[r + j] += bias[H + j];
        g[r + j] += bias[2 * H + j], o[r + j] += bias[3 * H + j];
      }
    }
    if (w_ci) {
      for (int64_t j = 0; j < H; ++j) {
        i[r + j] += w_ci[j] * c[r + j];
        f[r + j] += w_cf[j] * c[r + j];
      }
    }
  }
}

template <typename S>
void cell_state(int64_t NH, const S* __restrict__ f, const S* __restrict__ c,
                const S* __restrict__ i, const S* __restrict__ g, S* __restrict__ c_new) {
  for (int64_t k = 0; k < NH; ++k) c_new[k] = f[k] * c[k] + i[k] * g[k];  // c_t
}

template <typename S>
void peep_output(int64_t N, int64_t H, const S* __restrict__ w_co, const S* __restrict__ c,
                 S* __restrict__ o) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t j = 0; j < H; ++j) o[n * H + j] += w_co[j] * c[n * H + j];
  }
}

// h_t = o tanh(c~_t), f kept, and the derivative factors (lstm_bptt._factors): k_ifg
// (N, 3, H) = (g i(1 - i), c_{t-1} f(1 - f), i(1 - g^2)), k_o = tanh(c~_t) o(1 - o),
// m = o(1 - tanh(c~_t)^2).
template <typename S>
void factors(int64_t N, int64_t H, const S* __restrict__ i, const S* __restrict__ f,
             const S* __restrict__ g, const S* __restrict__ o, const S* __restrict__ tc,
             const S* __restrict__ c, S* __restrict__ kf, S* __restrict__ kifg,
             S* __restrict__ ko, S* __restrict__ km, S* __restrict__ h) {
  for (int64_t n = 0; n < N; ++n) {
    S* k3 = kifg + n * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = n * H + j;
      kf[k] = f[k];
      k3[j] = g[k] * i[k] * (1 - i[k]);
      k3[H + j] = c[k] * f[k] * (1 - f[k]);
      k3[2 * H + j] = i[k] * (1 - g[k] * g[k]);
      ko[k] = tc[k] * o[k] * (1 - o[k]);
      km[k] = o[k] * (1 - tc[k] * tc[k]);
      h[k] = o[k] * tc[k];
    }
  }
}

struct Forward {
  int64_t T, N, H;
  bool peephole, ln, reverse;
  double zone_h, zone_c, eps;
  bool zone_training;
};

// params: weight_hh, bias_hh (empty for none; lnlstm: the shift of its first layer norm),
// then peephole: weight_ci, weight_cf, weight_co; lnlstm: ln_hh_weight, ln_c_weight,
// ln_c_bias. Returns (output (T, N, H), h_T, c_T, then what the backward pass reads, in
// lstm_bptt._native_saved's order: h_prev, c_prev, f, c, k_ifg (T, N, 3, H), k_o, m
// [, z, z_mean, z_rstd, c_mean, c_rstd] [, zone_h] [, zone_c]).
template <typename S>
std::vector<at::Tensor> forward(const Forward& a, const at::Tensor& xs, const at::Tensor& h0,
                                const at::Tensor& c0, const std::optional<at::Tensor>& mask,
                                const std::optional<at::Tensor>& keep, at::TensorList params) {
  const int64_t T = a.T, N = a.N, H = a.H, NH = N * H, G = 4 * H;
  const StepProduct recurrent(params[0].contiguous());  // h (N, H) -> W_hh h (N, 4H)
  const bool has_bias = params[1].numel() > 0;
  const S* bias = has_bias ? params[1].data_ptr<S>() : nullptr;
  const S *ln_hh = nullptr, *ln_c = nullptr, *ln_c_shift = nullptr;
  if (a.ln) {
    ln_hh = params[2].data_ptr<S>(), ln_c = params[3].data_ptr<S>();
    ln_c_shift = params[4].data_ptr<S>();
  }
  const S *w_ci = nullptr, *w_cf = nullptr, *w_co = nullptr;
  if (a.peephole) {
    w_ci = params[2].data_ptr<S>(), w_cf = params[3].data_ptr<S>(), w_co = params[4].data_ptr<S>();
  }
  const auto options = h0.options();
  auto buffer = [&](int64_t width) { return take({T, N, width}, options); };
  at::Tensor out = at::empty({T, N, H}, options), h_prev = buffer(H), c_prev = buffer(H), f_all = buffer(H),
             c_all = buffer(H), k_ifg = take({T, N, 3, H}, options), k_o = buffer(H),
             m = buffer(H);
  std::vector<at::Tensor> saved = {h_prev, c_prev, f_all, c_all, k_ifg, k_o, m};
  at::Tensor z, z_mean, z_rstd, c_mean, c_rstd, mask_h, mask_c;
  if (a.ln) {
    z = buffer(G), z_mean = buffer(1), z_rstd = buffer(1), c_mean = buffer(1), c_rstd = buffer(1);
    saved.insert(saved.end(), {z, z_mean, z_rstd, c_mean, c_rstd});
  }
  if (a.zone_training && a.zone_h > 0) saved.push_back(mask_h = buffer(H));
  if (a.zone_training && a.zone_c > 0) saved.push_back(mask_c = buffer(H));
  // scratch: lnlstm's normalised product (N, 4H); the gates as blocks i, f, o, g (each
  // N x H, contiguous), so that a thread's rows of a block are one run of values
  at::Tensor gates = at::empty({N, G}, options), blocks = at::empty({4, N, H}, options);
  at::Tensor tanh_c = at::empty({N, H}, options), h_new = at::empty({N, H}, options);
  at::Tensor h = h0.contiguous().clone(), c = c0.contiguous().clone();
  S *pi = row<S>(blocks, 0), *pf = row<S>(blocks, 1), *po = row<S>(blocks, 2);
  S *pg = row<S>(blocks, 3), *pgates = gates.data_ptr<S>(), *ptc = tanh_c.data_ptr<S>();
  S *ph = h.data_ptr<S>(), *pc = c.data_ptr<S>(), *phn = h_new.data_ptr<S>();
  const S* pmask = mask ? mask->data_ptr<S>() : nullptr;
  const bool plain = !keep && a.zone_h == 0 && a.zone_c == 0;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? T - 1 - s : s;
    S* hd = row<S>(h_prev, t);  // h_{t-1} as the recurrent product reads it
    masked_state(NH, ph, pmask, hd);
    S* cp = row<S>(c_prev, t);
    copy_rows(cp, pc, NH);
    const at::Tensor product = recurrent(h_prev[t]).contiguous();  // W_hh h_{t-1}, (N, 4H)
    S* cn = row<S>(c_all, t);
    for_rows(N, G, [&](int64_t n0, int64_t n1) {  // rows n0..n1-1 of the step, r/q: offsets
      const int64_t M = n1 - n0, r = n0 * H, q = n0 * G;
      const S* pre = product.data_ptr<S>() + q;
      if (a.ln) {  // kept, and its layer norm, shifted by bias_hh, into the gates scratch
        copy_rows(row<S>(z, t) + q, pre, M * G);
        layer_norm_rows<S>(M, G, pre, ln_hh, bias, a.eps, pgates + q, row<S>(z_mean, t) + n0,
                           row<S>(z_rstd, t) + n0);
        pre = pgates + q;
      }
      split_gates<S>(M, H, pre, row<S>(xs, t) + q, a.ln ? nullptr : bias, cp + r, w_ci, w_cf,
                     pi + r, pf + r, po + r, pg + r);
      sigmoid_in_place(pi + r, M * H);
      sigmoid_in_place(pf + r, M * H);
      if (!a.peephole) sigmoid_in_place(po + r, M * H);
      tanh_in_place(pg + r, M * H);
      cell_state<S>(M * H, pf + r, cp + r, pi + r, pg + r, cn + r);
      if (a.peephole) {  // o reads c_t
        peep_output<S>(M, H, w_co, cn + r, po + r);
        sigmoid_in_place(po + r, M * H);
      }
      if (a.ln) {  // tanh(LN(c_t)), LN(c_t) in the tanh scratch first
        layer_norm_rows<S>(M, H, cn + r, ln_c, ln_c_shift, a.eps, ptc + r,
                           row<S>(c_mean, t) + n0, row<S>(c_rstd, t) + n0);
        tanh_in_place(ptc + r, M * H);
      } else {
        tanh_into(ptc + r, cn + r, M * H);
      }
      factors<S>(M, H, pi + r, pf + r, pg + r, po + r, ptc + r, cp + r, row<S>(f_all, t) + r,
                 row<S>(k_ifg, t) + 3 * r, row<S>(k_o, t) + r, row<S>(m, t) + r, phn + r);
      if (plain) {  // the new state, and the output row
        copy_rows(row<S>(out, t) + r, phn + r, M * H);
        copy_rows(ph + r, phn + r, M * H);
        copy_rows(pc + r, cn + r, M * H);
      }
    });
    if (plain) continue;
    at::Tensor hz = h_new, cz = c_all[t];
    auto slot = [&](const at::Tensor& masks) {
      return masks.defined() ? std::optional<at::Tensor>(masks[t]) : std::nullopt;
    };
    if (a.zone_h > 0) hz = zone(h, hz, a.zone_h, a.zone_training, slot(mask_h));
    if (a.zone_c > 0) cz = zone(c, cz, a.zone_c, a.zone_training, slot(mask_c));
    if (keep) {  // past its length a sequence keeps its state and emits zeros
      const at::Tensor k = (*keep)[t];
      at::Tensor out_t = out[t];
      at::mul_out(out_t, hz, k);
      h.copy_(at::where(k, hz, h));
      c.copy_(at::where(k, cz, c));
    } else {
      out[t].copy_(hz);
      h.copy_(hz);
      c.copy_(cz);
    }
  }
  return with_saved({out, h, c}, saved);
}

std::vector<at::Tensor> lstm_route_forward(
    const at::Tensor& xs, const at::Tensor& h0, const at::Tensor& c0,
    const std::optional<at::Tensor>& mask, const std::optional<at::Tensor>& keep,
    at::TensorList params, int64_t kind, bool reverse, double zone_h, double zone_c,
    bool zone_training, double eps) {
  const Forward a{xs.size(0), xs.size(1), h0.size(1), kind == kPeephole, kind == kLayerNorm,
                  reverse, zone_h, zone_c, eps, zone_training};
  return on_floats(xs, "lstm_route_forward", [&](auto s) {
    return forward<decltype(s)>(a, xs, h0, c0, mask, keep, params);
  });
}

// The loops of a backward step. From dL/dh_t (plus the output's gradient, if not yet added):
// dL/da_o into d_a's o block, and dL/dh_t m added into dc (dL/dc_t) or, for lnlstm, written to
// it (``add`` false: dL/dLN(c_t), for its layer norm's backward pass); a peephole's w_co dL/da_o
// too.
template <typename S>
void output_back(int64_t N, int64_t H, const S* __restrict__ dh, const S* __restrict__ d_out,
                 const S* __restrict__ ko, const S* __restrict__ m, const S* __restrict__ w_co,
                 S* __restrict__ d_a, S* __restrict__ dc, bool add) {
  for (int64_t n = 0; n < N; ++n) {
    S* d_o = d_a + n * 4 * H + 3 * H;
    const int64_t r = n * H;
    for (int64_t j = 0; j < H; ++j) {
      const S dht = d_out ? dh[r + j] + d_out[r + j] : dh[r + j];
      d_o[j] = dht * ko[r + j];
      dc[r + j] = add ? dc[r + j] + dht * m[r + j] : dht * m[r + j];
    }
    if (w_co) {
      for (int64_t j = 0; j < H; ++j) dc[r + j] += d_o[j] * w_co[j];
    }
  }
}

// dc (dL/dc_t) -> dL/da_i, a_f, a_g into d_a, and dc becomes dL/dc_{t-1}.
template <typename S>
void state_back(int64_t N, int64_t H, const S* __restrict__ kifg, const S* __restrict__ f,
                const S* __restrict__ w_ci, const S* __restrict__ w_cf, S* __restrict__ dc,
                S* __restrict__ d_a) {
  for (int64_t n = 0; n < N; ++n) {
    const S* k3 = kifg + n * 3 * H;
    S* dan = d_a + n * 4 * H;
    const int64_t r = n * H;
    for (int64_t j = 0; j < H; ++j) {
      const S dct = dc[r + j];
      dan[j] = k3[j] * dct;
      dan[H + j] = k3[H + j] * dct;
      dan[2 * H + j] = k3[2 * H + j] * dct;
      dc[r + j] = dct * f[r + j];
    }
    if (w_ci) {
      for (int64_t j = 0; j < H; ++j) dc[r + j] += dan[j] * w_ci[j] + dan[H + j] * w_cf[j];
    }
  }
}

// saved: k_ifg (T, N, 3, H), k_o, m, f [, c, c_mean, c_rstd, z, z_mean, z_rstd]
// [, zone_h] [, zone_c]; params: weight_hh [, weight_ci, weight_cf, weight_co]
// [, ln_hh_weight, ln_c_weight]; keep (T, N, 1) in the gradients' dtype.
// Returns (d_a, d_z, d_cn (empty unless lnlstm), dL/dh_0, dL/dc_0); d_z is d_a without
// layer norm.
template <typename S>
std::vector<at::Tensor> backward(const Forward& a, const at::Tensor& d_output,
                                 const at::Tensor& d_h, const at::Tensor& d_c,
                                 at::TensorList saved, at::TensorList params,
                                 const std::optional<at::Tensor>& mask,
                                 const std::optional<at::Tensor>& keep) {
  const int64_t T = a.T, N = a.N, H = a.H;
  const at::Tensor &k_ifg = saved[0], &k_o = saved[1], &m = saved[2], &f = saved[3];
  size_t next = 4;
  at::Tensor c, c_mean, c_rstd, z, z_mean, z_rstd, mask_h, mask_c;
  if (a.ln) {
    c = saved[4], c_mean = saved[5], c_rstd = saved[6];
    z = saved[7], z_mean = saved[8], z_rstd = saved[9];
    next = 10;
  }
  if (a.zone_training && a.zone_h > 0) mask_h = saved[next++];
  if (a.zone_training && a.zone_c > 0) mask_c = saved[next++];
  const S *w_ci = nullptr, *w_cf = nullptr, *w_co = nullptr;
  if (a.peephole) {
    w_ci = params[1].data_ptr<S>(), w_cf = params[2].data_ptr<S>(), w_co = params[3].data_ptr<S>();
  }
  const StepProduct recurrent(params[0].t().contiguous());  // dz (N, 4H) -> dz W_hh (N, H)
  const S* ln_hh = a.ln ? params[1].data_ptr<S>() : nullptr;
  const S* ln_c = a.ln ? params[2].data_ptr<S>() : nullptr;
  const auto options = d_output.options();
  at::Tensor d_a = take({T, N, 4 * H}, options);
  at::Tensor d_z = a.ln ? take({T, N, 4 * H}, options) : d_a;
  at::Tensor d_cn = a.ln ? take({T, N, H}, options) : at::empty({0}, options);
  at::Tensor dh = d_h.contiguous().clone(), dc = d_c.contiguous().clone();
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? s : T - 1 - s;  // the forward order, backwards
    at::Tensor pass_h, pass_c, share_h, share_c;
    const S* d_out = row<S>(d_output, t);  // added to dh below, unless added here
    if (keep) {  // where the step was skipped the state's gradient passes through unchanged
      const at::Tensor k = (*keep)[t], skipped = 1 - k;
      pass_h = dh * skipped, pass_c = dc * skipped;
      dh.copy_((dh + d_output[t]) * k);
      dc.mul_(k);
      d_out = nullptr;
    }
    if (a.zone_h > 0) {
      at::Tensor fresh;
      if (d_out) dh.add_(d_output[t]), d_out = nullptr;
      const at::Tensor drawn = mask_h.defined() ? mask_h[t] : dh;
      std::tie(fresh, share_h) = zone_back(dh, a.zone_h, a.zone_training, drawn);
      dh.copy_(fresh);
    }
    if (a.zone_c > 0) {
      at::Tensor fresh;
      const at::Tensor drawn = mask_c.defined() ? mask_c[t] : dc;
      std::tie(fresh, share_c) = zone_back(dc, a.zone_c, a.zone_training, drawn);
      dc.copy_(fresh);
    }
    S *pdh = dh.data_ptr<S>(), *pdc = dc.data_ptr<S>(), *da = row<S>(d_a, t);
    const S *kifg = row<S>(k_ifg, t), *ko = row<S>(k_o, t), *km = row<S>(m, t), *kf = row<S>(f, t);
    S* dcn = a.ln ? row<S>(d_cn, t) : nullptr;
    for_rows(N, 4 * H, [&](int64_t n0, int64_t n1) {  // rows n0..n1-1, r/q: offsets
      const int64_t M = n1 - n0, r = n0 * H, q = n0 * 4 * H;
      output_back<S>(M, H, pdh + r, d_out ? d_out + r : nullptr, ko + r, km + r, w_co, da + q,
                     a.ln ? dcn + r : pdc + r, !a.ln);
      if (a.ln) {
        layer_norm_rows_back<S>(M, H, dcn + r, row<S>(c, t) + r, row<S>(c_mean, t) + n0,
                                row<S>(c_rstd, t) + n0, ln_c, pdc + r, true);
      }
      state_back<S>(M, H, kifg + 3 * r, kf + r, w_ci, w_cf, pdc + r, da + q);
      if (a.ln) {
        layer_norm_rows_back<S>(M, 4 * H, da + q, row<S>(z, t) + q, row<S>(z_mean, t) + n0,
                                row<S>(z_rstd, t) + n0, ln_hh, row<S>(d_z, t) + q, false);
      }
    });
    const at::Tensor d_zt = a.ln ? d_z[t] : d_a[t];
    dh = recurrent(d_zt).contiguous();  // dL/dh_{t-1}, (N, H)
    if (mask) dh.mul_(*mask);
    if (keep) dh.add_(pass_h), dc.add_(pass_c);
    if (share_h.defined()) dh.add_(share_h);
    if (share_c.defined()) dc.add_(share_c);
  }
  return {d_a, d_z, d_cn, dh, dc};
}

std::vector<at::Tensor> lstm_route_backward(
    const at::Tensor& d_output, const at::Tensor& d_h, const at::Tensor& d_c,
    at::TensorList saved, at::TensorList params, const std::optional<at::Tensor>& mask,
    const std::optional<at::Tensor>& keep, int64_t kind, bool reverse, double zone_h,
    double zone_c, bool zone_training) {
  const Forward a{d_output.size(0), d_output.size(1), d_output.size(2), kind == kPeephole,
                  kind == kLayerNorm, reverse, zone_h, zone_c, 0.0, zone_training};
  return on_floats(d_output, "lstm_route_backward", [&](auto s) {
    return backward<decltype(s)>(a, d_output, d_h, d_c, saved, params, mask, keep);
  });
}

}  // namespace lstm_route

TORCH_LIBRARY_FRAGMENT(rnnkit_native, m) {
  m.def("lstm_route_forward", &lstm_route::lstm_route_forward);
  m.def("lstm_route_backward", &lstm_route::lstm_route_backward);
  m.def("release_buffers", &rnnkit_native::release_buffers);
  m.def("pooled_buffers", &rnnkit_native::pooled_buffers);
  m.def("split_rows_from", &rnnkit_native::split_rows_from);
}
