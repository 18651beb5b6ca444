// The time loops of rnnkit's MUT route (src/rnnkit/nn/mut_bptt.py), fused, for the CPU: what
// lstm_route.cpp is for the LSTM route (read it first), for the three architectures of
// Jozefowicz et al. (2015), kinds 1, 2, 3 for MUT1, MUT2, MUT3. mut_bptt.py's docstring
// derives the equations; u (T, N, 3H) holds the input terms and biases, rows z|r|n, and
// W_hh's rows are z|r|n too.

#include <ATen/ATen.h>
#include <torch/library.h>

#include <optional>
#include <vector>

#include "activations.h"
#include "route_common.h"

namespace mut_route {

using namespace rnnkit_native;

struct Run {
  int64_t T, N, H, kind;
  bool reverse;
  double zone_h;
  bool zone_training;
};

// One row block of u plus a product (or nothing), into a contiguous block.
template <typename S>
void add_rows(int64_t N, int64_t H, const S* __restrict__ u, const S* __restrict__ product,
              S* __restrict__ out) {
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t j = 0; j < H; ++j) {
      out[n * H + j] = u[n * 3 * H + j] + (product ? product[n * H + j] : S(0));
    }
  }
}

// h_t = n z + h_{t-1}(1 - z), and the derivative factors (mut_bptt._factors): k_z =
// (n - h_{t-1}) z(1 - z), k_n = z(1 - n^2), k_r = m h_{t-1} r(1 - r), keep_z = 1 - z.
template <typename S>
void mix(int64_t NH, const S* __restrict__ z, const S* __restrict__ r, const S* __restrict__ n,
         const S* __restrict__ h, const S* __restrict__ hd, S* __restrict__ h_new,
         S* __restrict__ r_kept, S* __restrict__ k_z, S* __restrict__ k_n, S* __restrict__ k_r,
         S* __restrict__ keep_z) {
  for (int64_t k = 0; k < NH; ++k) {
    h_new[k] = n[k] * z[k] + h[k] * (1 - z[k]);
    r_kept[k] = r[k];
    k_z[k] = (n[k] - h[k]) * z[k] * (1 - z[k]);
    k_n[k] = z[k] * (1 - n[k] * n[k]);
    k_r[k] = hd[k] * r[k] * (1 - r[k]);
    keep_z[k] = 1 - z[k];
  }
}

// weight_hh (3H, H). Returns (output, h_T, then in mut_bptt._native_saved's order: hd, q, r,
// k_z, k_n, k_r, keep_z [, s_z (MUT2, MUT3)] [, k_tanh (MUT3)] [, zone]).
template <typename S>
std::vector<at::Tensor> forward(const Run& a, const at::Tensor& u, const at::Tensor& h0,
                                const std::optional<at::Tensor>& mask,
                                const std::optional<at::Tensor>& keep,
                                const at::Tensor& weight_hh) {
  const int64_t T = a.T, N = a.N, H = a.H, NH = N * H;
  auto rows = weight_hh.contiguous().chunk(3);  // W_hz, W_hr, W_hn, each (H, H)
  const StepProduct to_z(rows[0].contiguous()), to_r(rows[1].contiguous());
  const StepProduct to_n(rows[2].contiguous());
  const auto options = h0.options();
  auto buffer = [&](int64_t width) { return take({T, N, width}, options); };
  at::Tensor out = at::empty({T, N, H}, options), hd_all = buffer(H), q_all = buffer(H),
             r_all = buffer(H), k_z = buffer(H), k_n = buffer(H), k_r = buffer(H),
             keep_z = buffer(H);
  std::vector<at::Tensor> saved = {hd_all, q_all, r_all, k_z, k_n, k_r, keep_z};
  at::Tensor s_z, k_tanh, zone_masks;
  if (a.kind != 1) saved.push_back(s_z = buffer(H));
  if (a.kind == 3) saved.push_back(k_tanh = buffer(H));
  if (a.zone_training && a.zone_h > 0) saved.push_back(zone_masks = buffer(H));
  at::Tensor z = at::empty({N, H}, options), r = at::empty({N, H}, options);
  at::Tensor n = at::empty({N, H}, options), h_new = at::empty({N, H}, options);
  at::Tensor h = h0.contiguous().clone();
  S *pz = z.data_ptr<S>(), *pr = r.data_ptr<S>(), *pn = n.data_ptr<S>();
  S *pnew = h_new.data_ptr<S>(), *ph = h.data_ptr<S>();
  const S* pmask = mask ? mask->data_ptr<S>() : nullptr;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? T - 1 - s : s;
    const S* ut = row<S>(u, t);
    S *hd = row<S>(hd_all, t), *q = row<S>(q_all, t);
    masked_state(NH, ph, pmask, hd);
    at::Tensor z_product;
    if (a.kind != 1) {  // z reads m h_{t-1} (MUT2) or m tanh(h_{t-1}) (MUT3)
      S* sz = row<S>(s_z, t);
      if (a.kind == 2) {
        copy_rows(sz, hd, NH);
      } else {
        S* kt = row<S>(k_tanh, t);
        for (int64_t k = 0; k < NH; ++k) {
          const S th = std::tanh(ph[k]);
          sz[k] = pmask ? th * pmask[k] : th;
          kt[k] = (1 - th * th) * (pmask ? pmask[k] : S(1));
        }
      }
      z_product = to_z(s_z[t]).contiguous();
    }
    add_rows<S>(N, H, ut, a.kind == 1 ? nullptr : z_product.data_ptr<S>(), pz);
    sigmoid_in_place(pz, NH);
    const at::Tensor r_product = to_r(hd_all[t]).contiguous();
    add_rows<S>(N, H, ut + H, r_product.data_ptr<S>(), pr);
    sigmoid_in_place(pr, NH);
    for (int64_t k = 0; k < NH; ++k) q[k] = pr[k] * hd[k];
    const at::Tensor n_product = to_n(q_all[t]).contiguous();
    add_rows<S>(N, H, ut + 2 * H, n_product.data_ptr<S>(), pn);
    tanh_in_place(pn, NH);
    mix<S>(NH, pz, pr, pn, ph, hd, pnew, row<S>(r_all, t), row<S>(k_z, t), row<S>(k_n, t),
           row<S>(k_r, t), row<S>(keep_z, t));
    settle_state<S>(h, h_new, out, t, keep, a.zone_h, a.zone_training, zone_masks);
  }
  return with_saved({out, h}, saved);
}

std::vector<at::Tensor> mut_route_forward(const at::Tensor& u, const at::Tensor& h0,
                                          const std::optional<at::Tensor>& mask,
                                          const std::optional<at::Tensor>& keep,
                                          const at::Tensor& weight_hh, int64_t kind,
                                          bool reverse, double zone_h, bool zone_training) {
  const Run a{u.size(0), u.size(1), h0.size(1), kind, reverse, zone_h, zone_training};
  return on_floats(u, "mut_route_forward", [&](auto s) {
    return forward<decltype(s)>(a, u, h0, mask, keep, weight_hh);
  });
}

// From dL/dh_t (plus the output's gradient, if not yet added): dL/du_z and dL/du_n into d_u,
// and the part h_{t-1} gets directly, dh (1 - z).
template <typename S>
void gates_back(int64_t N, int64_t H, const S* __restrict__ dh, const S* __restrict__ d_out,
                const S* __restrict__ k_z, const S* __restrict__ k_n,
                const S* __restrict__ keep_z, S* __restrict__ d_u, S* __restrict__ d_n,
                S* __restrict__ direct) {
  for (int64_t n = 0; n < N; ++n) {
    S* du = d_u + n * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = n * H + j;
      const S dht = d_out ? dh[k] + d_out[k] : dh[k];
      du[j] = dht * k_z[k];
      du[2 * H + j] = d_n[k] = dht * k_n[k];
      direct[k] = dht * keep_z[k];
    }
  }
}

// saved: hd, q, r, k_z, k_n, k_r, keep_z [, s_z] [, k_tanh] [, zone]; keep (T, N, 1) in the
// gradients' dtype. Returns (d_u (T, N, 3H), dL/dh_0).
template <typename S>
std::vector<at::Tensor> backward(const Run& a, const at::Tensor& d_output, const at::Tensor& d_h,
                                 at::TensorList saved, const at::Tensor& weight_hh,
                                 const std::optional<at::Tensor>& mask,
                                 const std::optional<at::Tensor>& keep) {
  const int64_t T = a.T, N = a.N, H = a.H, NH = N * H;
  const at::Tensor &r = saved[2], &k_z = saved[3], &k_n = saved[4], &k_r = saved[5];
  const at::Tensor& keep_z = saved[6];
  size_t next = a.kind == 1 ? 7 : 8;
  at::Tensor k_tanh, zone_masks;
  if (a.kind == 3) k_tanh = saved[next++];
  if (a.zone_training && a.zone_h > 0) zone_masks = saved[next];
  auto rows = weight_hh.contiguous().chunk(3);  // d (N, H) -> d W (N, H): W's transpose packed
  const StepProduct from_z(rows[0].t().contiguous()), from_r(rows[1].t().contiguous());
  const StepProduct from_n(rows[2].t().contiguous());
  const auto options = d_output.options();
  at::Tensor d_u = take({T, N, 3 * H}, options);
  at::Tensor d_n = at::empty({N, H}, options), d_r = at::empty({N, H}, options);
  at::Tensor direct = at::empty({N, H}, options), dh = d_h.contiguous().clone();
  at::Tensor d_az = at::empty({N, H}, options);  // dL/du_z, contiguous, for W_hz's product
  S *pdn = d_n.data_ptr<S>(), *pdr = d_r.data_ptr<S>(), *pdirect = direct.data_ptr<S>();
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = a.reverse ? s : T - 1 - s;  // the forward order, backwards
    at::Tensor pass, share;
    const bool added = split_back(dh, d_output, t, keep, a.zone_h, a.zone_training, zone_masks,
                                  pass, share);
    const S* d_out = added ? nullptr : row<S>(d_output, t);
    S* du = row<S>(d_u, t);
    gates_back<S>(N, H, dh.data_ptr<S>(), d_out, row<S>(k_z, t), row<S>(k_n, t),
                  row<S>(keep_z, t), du, pdn, pdirect);
    const at::Tensor dq = from_n(d_n).contiguous();  // dL/dq, (N, H)
    const S *pdq = dq.data_ptr<S>(), *kr = row<S>(k_r, t), *rt = row<S>(r, t);
    for (int64_t n = 0; n < N; ++n) {  // dL/du_r
      for (int64_t j = 0; j < H; ++j) {
        const int64_t k = n * H + j;
        du[n * 3 * H + H + j] = pdr[k] = pdq[k] * kr[k];
      }
    }
    at::Tensor dhd = from_r(d_r).contiguous();  // dL/d(m h_{t-1})
    S* pdhd = dhd.data_ptr<S>();
    for (int64_t k = 0; k < NH; ++k) pdhd[k] += pdq[k] * rt[k];
    if (a.kind != 1) {
      S* paz = d_az.data_ptr<S>();
      for (int64_t n = 0; n < N; ++n) {
        for (int64_t j = 0; j < H; ++j) paz[n * H + j] = du[n * 3 * H + j];
      }
      const at::Tensor through_z = from_z(d_az).contiguous();
      const S* ptz = through_z.data_ptr<S>();
      if (a.kind == 2) {
        for (int64_t k = 0; k < NH; ++k) pdhd[k] += ptz[k];
      } else {  // MUT3: through tanh(h_{t-1}), its own mask factor in k_tanh
        const S* kt = row<S>(k_tanh, t);
        for (int64_t k = 0; k < NH; ++k) pdirect[k] += ptz[k] * kt[k];
      }
    }
    dh = join_back(dhd, mask, direct, pass, share);
  }
  return {d_u, dh};
}

std::vector<at::Tensor> mut_route_backward(const at::Tensor& d_output, const at::Tensor& d_h,
                                           at::TensorList saved, const at::Tensor& weight_hh,
                                           const std::optional<at::Tensor>& mask,
                                           const std::optional<at::Tensor>& keep, int64_t kind,
                                           bool reverse, double zone_h, bool zone_training) {
  const Run a{d_output.size(0), d_output.size(1), d_output.size(2), kind, reverse, zone_h,
              zone_training};
  return on_floats(d_output, "mut_route_backward", [&](auto s) {
    return backward<decltype(s)>(a, d_output, d_h, saved, weight_hh, mask, keep);
  });
}

}  // namespace mut_route

TORCH_LIBRARY_FRAGMENT(rnnkit_native, m) {
  m.def("mut_route_forward", &mut_route::mut_route_forward);
  m.def("mut_route_backward", &mut_route::mut_route_backward);
}
