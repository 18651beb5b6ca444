// The time loops of rnnkit's GRU route (src/rnnkit/nn/gru_bptt.py), fused, for the CPU: what
// lstm_route.cpp is for the LSTM route (read it first; a step's rows are shared between the
// threads in the same way), for the GRU in torch's form with recurrent dropout or zoneout
// (kind 0) and the layer-normalised GRU (kind 1). gru_bptt.py's docstring derives the
// equations; rows of the projected input and of W_hh are r|z|n.

#include <ATen/ATen.h>
#include <torch/library.h>

#include <optional>
#include <vector>

#include "activations.h"
#include "route_common.h"

namespace gru_route {

using namespace rnnkit_native;

constexpr int64_t kLayerNormGRU = 1;

struct Run {
  int64_t T, N, H;
  bool ln, reverse;
  double zone_h;
  bool zone_training;
  double eps;
};

// hp (N, 3H) W_hh h_{t-1} (or its layer norm, already shifted), bias (3H) b_hh or null, x
// (N, 3H) the projected input -> the r and z pre-activations (blocks of rz, N x H each) and
// h_n, the n rows of W_hh h_{t-1} + b_hh.
template <typename S>
void split_gates(int64_t N, int64_t H, const S* __restrict__ hp, const S* __restrict__ bias,
                 const S* __restrict__ x, S* __restrict__ r, S* __restrict__ z,
                 S* __restrict__ h_n) {
  for (int64_t n = 0; n < N; ++n) {
    const S *p = hp + n * 3 * H, *xn = x + n * 3 * H;
    const int64_t o = n * H;
    for (int64_t j = 0; j < H; ++j) {
      r[o + j] = xn[j] + p[j] + (bias ? bias[j] : S(0));
      z[o + j] = xn[H + j] + p[H + j] + (bias ? bias[H + j] : S(0));
      h_n[o + j] = p[2 * H + j] + (bias ? bias[2 * H + j] : S(0));
    }
  }
}

// n's pre-activation x_n + r h_n.
template <typename S>
void candidate(int64_t N, int64_t H, const S* __restrict__ x, const S* __restrict__ r,
               const S* __restrict__ h_n, S* __restrict__ n_pre) {
  for (int64_t n = 0; n < N; ++n) {
    const S* xn = x + n * 3 * H + 2 * H;
    for (int64_t j = 0; j < H; ++j) n_pre[n * H + j] = xn[j] + r[n * H + j] * h_n[n * H + j];
  }
}

// h_t = (1 - z) n + z h_{t-1}, r and z kept, and the derivative factors (gru_bptt._factors):
// k_n = (1 - z)(1 - n^2), k_z = (h_{t-1} - n) z(1 - z), k_r = h_n r(1 - r).
template <typename S>
void mix(int64_t NH, const S* __restrict__ r, const S* __restrict__ z, const S* __restrict__ n,
         const S* __restrict__ h_n, const S* __restrict__ h, S* __restrict__ h_new,
         S* __restrict__ r_kept, S* __restrict__ z_kept, S* __restrict__ k_n,
         S* __restrict__ k_z, S* __restrict__ k_r) {
  for (int64_t k = 0; k < NH; ++k) {
    h_new[k] = (1 - z[k]) * n[k] + z[k] * h[k];
    r_kept[k] = r[k], z_kept[k] = z[k];
    k_n[k] = (1 - z[k]) * (1 - n[k] * n[k]);
    k_z[k] = (h[k] - n[k]) * z[k] * (1 - z[k]);
    k_r[k] = h_n[k] * r[k] * (1 - r[k]);
  }
}

// params: weight_hh (3H, H), bias_hh (3H, or empty for none), ln_hh_weight (3H, lngru only).
// Returns (output (T, N, H), h_T, then in gru_bptt._native_saved's order: hd, r, z, k_n, k_z,
// k_r [, pre, mean, rstd] [, zone]).
template <typename S>
std::vector<at::Tensor> forward(const Run& a, const at::Tensor& xs, const at::Tensor& h0,
                                const std::optional<at::Tensor>& mask,
                                const std::optional<at::Tensor>& keep, at::TensorList params) {
  const int64_t T = a.T, N = a.N, H = a.H, NH = N * H;
  const StepProduct recurrent(params[0].contiguous());  // h (N, H) -> W_hh h (N, 3H)
  const S* bias = params[1].numel() ? params[1].data_ptr<S>() : nullptr;
  const S* gain = a.ln ? params[2].data_ptr<S>() : nullptr;
  const auto options = h0.options();
  auto buffer = [&](int64_t width) { return take({T, N, width}, options); };
  at::Tensor out = at::empty({T, N, H}, options), hd_all = buffer(H), r_all = buffer(H),
             z_all = buffer(H), k_n = buffer(H), k_z = buffer(H), k_r = buffer(H);
  std::vector<at::Tensor> saved = {hd_all, r_all, z_all, k_n, k_z, k_r};
  at::Tensor pre, mean, rstd, zone_masks;
  if (a.ln) {
    pre = buffer(3 * H), mean = buffer(1), rstd = buffer(1);
    saved.insert(saved.end(), {pre, mean, rstd});
  }
  if (a.zone_training && a.zone_h > 0) saved.push_back(zone_masks = buffer(H));
  at::Tensor normed = at::empty({N, 3 * H}, options), rz = at::empty({2, N, H}, options);
  at::Tensor cand = at::empty({N, H}, options), h_n = at::empty({N, H}, options);
  at::Tensor h_new = at::empty({N, H}, options), h = h0.contiguous().clone();
  S *pr = row<S>(rz, 0), *pz = row<S>(rz, 1), *pn = cand.data_ptr<S>();
  S *phn = h_n.data_ptr<S>(), *pnew = h_new.data_ptr<S>(), *ph = h.data_ptr<S>();
  S* pnormed = normed.data_ptr<S>();
  const S* pmask = mask ? mask->data_ptr<S>() : nullptr;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? T - 1 - s : s;
    S* hd = row<S>(hd_all, t);  // h_{t-1} as the recurrent product reads it
    masked_state(NH, ph, pmask, hd);
    const at::Tensor product = recurrent(hd_all[t]).contiguous();  // W_hh h_{t-1}, (N, 3H)
    for_rows(N, 3 * H, [&](int64_t n0, int64_t n1) {  // rows n0..n1-1, o/q: offsets
      const int64_t M = n1 - n0, o = n0 * H, q = n0 * 3 * H;
      const S *hp = product.data_ptr<S>() + q, *x = row<S>(xs, t) + q, *gate_bias = bias;
      if (a.ln) {  // kept, and its layer norm, shifted by b_hh
        copy_rows(row<S>(pre, t) + q, hp, M * 3 * H);
        layer_norm_rows<S>(M, 3 * H, hp, gain, bias, a.eps, pnormed + q, row<S>(mean, t) + n0,
                           row<S>(rstd, t) + n0);
        hp = pnormed + q, gate_bias = nullptr;
      }
      split_gates<S>(M, H, hp, gate_bias, x, pr + o, pz + o, phn + o);
      sigmoid_in_place(pr + o, M * H);
      sigmoid_in_place(pz + o, M * H);
      candidate<S>(M, H, x, pr + o, phn + o, pn + o);
      tanh_in_place(pn + o, M * H);
      mix<S>(M * H, pr + o, pz + o, pn + o, phn + o, ph + o, pnew + o, row<S>(r_all, t) + o,
             row<S>(z_all, t) + o, row<S>(k_n, t) + o, row<S>(k_z, t) + o, row<S>(k_r, t) + o);
    });
    settle_state<S>(h, h_new, out, t, keep, a.zone_h, a.zone_training, zone_masks);
  }
  return with_saved({out, h}, saved);
}

std::vector<at::Tensor> gru_route_forward(const at::Tensor& xs, const at::Tensor& h0,
                                          const std::optional<at::Tensor>& mask,
                                          const std::optional<at::Tensor>& keep,
                                          at::TensorList params, int64_t kind, bool reverse,
                                          double zone_h, bool zone_training, double eps) {
  const Run a{xs.size(0), xs.size(1), h0.size(1), kind == kLayerNormGRU, reverse, zone_h,
              zone_training, eps};
  return on_floats(xs, "gru_route_forward", [&](auto s) {
    return forward<decltype(s)>(a, xs, h0, mask, keep, params);
  });
}

// From dL/dh_t (plus the output's gradient, if not yet added): dL/dx_t (rows r|z|n) into
// d_x, dL/d(W_hh h_{t-1} + b_hh) into d_hp, and the gradient h_{t-1} gets directly, dh z.
template <typename S>
void gates_back(int64_t N, int64_t H, const S* __restrict__ dh, const S* __restrict__ d_out,
                const S* __restrict__ k_n, const S* __restrict__ k_z, const S* __restrict__ k_r,
                const S* __restrict__ r, const S* __restrict__ z, S* __restrict__ d_x,
                S* __restrict__ d_hp, S* __restrict__ direct) {
  for (int64_t n = 0; n < N; ++n) {
    S *dx = d_x + n * 3 * H, *dp = d_hp + n * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = n * H + j;
      const S dht = d_out ? dh[k] + d_out[k] : dh[k];
      const S d_a_n = dht * k_n[k];
      dx[2 * H + j] = d_a_n;
      dx[j] = dp[j] = d_a_n * k_r[k];
      dx[H + j] = dp[H + j] = dht * k_z[k];
      dp[2 * H + j] = d_a_n * r[k];
      direct[k] = dht * z[k];
    }
  }
}

// saved: hd, r, z, k_n, k_z, k_r [, pre, mean, rstd] [, zone]; params: weight_hh
// [, ln_hh_weight]; keep (T, N, 1) in the gradients' dtype. Returns (d_x, d_hp, d_pre (d_hp
// without layer norm), dL/dh_0).
template <typename S>
std::vector<at::Tensor> backward(const Run& a, const at::Tensor& d_output, const at::Tensor& d_h,
                                 at::TensorList saved, at::TensorList params,
                                 const std::optional<at::Tensor>& mask,
                                 const std::optional<at::Tensor>& keep) {
  const int64_t T = a.T, N = a.N, H = a.H;
  const at::Tensor &r = saved[1], &z = saved[2], &k_n = saved[3], &k_z = saved[4];
  const at::Tensor& k_r = saved[5];
  at::Tensor pre, mean, rstd, zone_masks;
  size_t next = 6;
  if (a.ln) pre = saved[6], mean = saved[7], rstd = saved[8], next = 9;
  if (a.zone_training && a.zone_h > 0) zone_masks = saved[next];
  const StepProduct recurrent(params[0].t().contiguous());  // dp (N, 3H) -> dp W_hh (N, H)
  const S* gain = a.ln ? params[1].data_ptr<S>() : nullptr;
  const auto options = d_output.options();
  at::Tensor d_x = take({T, N, 3 * H}, options), d_hp = take({T, N, 3 * H}, options);
  at::Tensor d_pre = a.ln ? take({T, N, 3 * H}, options) : d_hp;
  at::Tensor direct = at::empty({N, H}, options), dh = d_h.contiguous().clone();
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? s : T - 1 - s;  // the forward order, backwards
    at::Tensor pass, share;
    const bool added = split_back(dh, d_output, t, keep, a.zone_h, a.zone_training, zone_masks,
                                  pass, share);
    const S* d_out = added ? nullptr : row<S>(d_output, t);
    const S* pdh = dh.data_ptr<S>();
    S* pdirect = direct.data_ptr<S>();
    for_rows(N, 3 * H, [&](int64_t n0, int64_t n1) {  // rows n0..n1-1, o/q: offsets
      const int64_t M = n1 - n0, o = n0 * H, q = n0 * 3 * H;
      gates_back<S>(M, H, pdh + o, d_out ? d_out + o : nullptr, row<S>(k_n, t) + o,
                    row<S>(k_z, t) + o, row<S>(k_r, t) + o, row<S>(r, t) + o, row<S>(z, t) + o,
                    row<S>(d_x, t) + q, row<S>(d_hp, t) + q, pdirect + o);
      if (a.ln) {
        layer_norm_rows_back<S>(M, 3 * H, row<S>(d_hp, t) + q, row<S>(pre, t) + q,
                                row<S>(mean, t) + n0, row<S>(rstd, t) + n0, gain,
                                row<S>(d_pre, t) + q, false);
      }
    });
    // through W_hh to m h_{t-1}, (N, H)
    dh = join_back(recurrent(d_pre[t]).contiguous(), mask, direct, pass, share);
  }
  return {d_x, d_hp, d_pre, dh};
}

std::vector<at::Tensor> gru_route_backward(const at::Tensor& d_output, const at::Tensor& d_h,
                                           at::TensorList saved, at::TensorList params,
                                           const std::optional<at::Tensor>& mask,
                                           const std::optional<at::Tensor>& keep, int64_t kind,
                                           bool reverse, double zone_h, bool zone_training) {
  const Run a{d_output.size(0), d_output.size(1), d_output.size(2), kind == kLayerNormGRU,
              reverse, zone_h, zone_training, 0.0};
  return on_floats(d_output, "gru_route_backward", [&](auto s) {
    return backward<decltype(s)>(a, d_output, d_h, saved, params, mask, keep);
  });
}

// (sigmoid(x), tanh(x)) as the routes compute them (activations.h), for the tests.
std::vector<at::Tensor> activations(const at::Tensor& x) {
  return on_floats(x, "activations", [&](auto s) {
    using S = decltype(s);
    at::Tensor sigmoid = x.clone(), tanh = x.clone();
    sigmoid_in_place(sigmoid.data_ptr<S>(), x.numel());
    tanh_in_place(tanh.data_ptr<S>(), x.numel());
    return std::vector<at::Tensor>{sigmoid, tanh};
  });
}

}  // namespace gru_route

TORCH_LIBRARY_FRAGMENT(rnnkit_native, m) {
  m.def("activations", &gru_route::activations);
  m.def("gru_route_forward", &gru_route::gru_route_forward);
  m.def("gru_route_backward", &gru_route::gru_route_backward);
}
