// What the compiled routes share (lstm_route.cpp, gru_route.cpp, mut_route.cpp): rows of
// contiguous buffers, the buffer pool, the per-step matrix product, the split of a step's rows
// between threads, zoneout, and layer normalisation of rows with its backward pass. See
// lstm_route.cpp for the design.

#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace rnnkit_native {


template <typename S>
S* row(const at::Tensor& t, int64_t index) {  // the index-th slice along dim 0 (contiguous)
  return t.data_ptr<S>() + index * t.stride(0);
}

template <typename S>
void copy_rows(S* to, const S* from, int64_t count) {
  std::memcpy(to, from, count * sizeof(S));
}

// A forward's result: its outputs and final state(s), then what its backward pass reads.
inline std::vector<at::Tensor> with_saved(std::vector<at::Tensor> result,
                                          const std::vector<at::Tensor>& saved) {
  result.insert(result.end(), saved.begin(), saved.end());
  return result;
}

// An op's entry: its first tensor checked (contiguous, on the CPU), then body(S()) run for
// that tensor's dtype S, float or double: body is a generic lambda that calls the loops.
template <typename Body>
std::vector<at::Tensor> on_floats(const at::Tensor& first, const char* op, Body&& body) {
  TORCH_CHECK(first.device().is_cpu() && first.is_contiguous(), op,
              ": contiguous CPU tensors");
  switch (first.scalar_type()) {
    case at::kFloat:
      return body(float());
    case at::kDouble:
      return body(double());
    default:
      TORCH_CHECK(false, op, ": float32 or float64 tensors, got ", first.scalar_type());
  }
}

// Buffers kept between calls. A large fresh buffer comes from the system as untouched pages,
// and its first write into each page faults: at batch 8, about a third of a step's time. A
// training loop asks for the same sizes at every step, so a buffer the autograd graph has let
// go of (its storage held by the pool alone) is handed out again instead: the smallest free
// one that fits and is at most twice the size asked for, else a new one. The pool holds at
// most kKept buffers and kPoolBytes in all; to make room it lets go of free buffers, and a
// buffer that would not fit even then is not kept. release_buffers() empties it. Buffers are
// made and handed out as normal tensors even under torch.inference_mode(): an inference tensor
// in the pool could not be saved for backward by a later training step.
constexpr size_t kKept = 48;
constexpr int64_t kPoolBytes = int64_t(4) << 30;  // 4 GiB
inline std::mutex pool_lock;
inline std::vector<at::Tensor> pool;

inline int64_t bytes(const at::Tensor& t) { return t.numel() * t.element_size(); }

inline at::Tensor take(at::IntArrayRef sizes, const at::TensorOptions& options) {
  int64_t numel = 1;
  for (int64_t size : sizes) numel *= size;
  const c10::InferenceMode normal_tensors(false);
  std::lock_guard<std::mutex> guard(pool_lock);
  at::Tensor* best = nullptr;
  for (at::Tensor& held : pool) {
    const bool free = held.storage().use_count() == 1;
    const bool fits = held.numel() >= numel && held.numel() <= 2 * numel;
    if (free && fits && held.dtype() == options.dtype() &&
        (!best || held.numel() < best->numel())) {
      best = &held;
    }
  }
  if (best) return best->narrow(0, 0, numel).view(sizes);
  at::Tensor fresh = at::empty({numel}, options);
  int64_t total = bytes(fresh);
  for (const at::Tensor& held : pool) total += bytes(held);
  for (auto it = pool.begin(); it != pool.end() && (pool.size() >= kKept || total > kPoolBytes);) {
    if (it->storage().use_count() == 1) {  // free: let go of it
      total -= bytes(*it);
      it = pool.erase(it);
    } else {
      ++it;
    }
  }
  if (pool.size() < kKept && total <= kPoolBytes) pool.push_back(fresh);
  return fresh.view(sizes);
}

inline int64_t pooled_buffers() {
  std::lock_guard<std::mutex> guard(pool_lock);
  return static_cast<int64_t>(pool.size());
}

inline void release_buffers() {
  std::lock_guard<std::mutex> guard(pool_lock);
  pool.clear();
}

// A product of few rows, x (M, K) by a weight packed once in panels: for each tile of two
// vectors of output columns, its (K, 2 vectors) slice of the transposed weight, contiguous.
// The output is computed in tiles of R rows by those columns, each tile's sums held in
// registers over all K (R x 2 accumulators: 16 of AVX-512's 32 registers, 8 of AVX2's 16),
// the tiles shared between threads. At batch 8 a step's recurrent product is too small for a
// library's general kernel: its packing and threading cost as much as its arithmetic.
// A vector is the target's own width: GCC splits a wider one into the target's (an SSE2-only
// build of 8-float vectors needed a realigned stack, and GCC 12 stopped on an internal error).
#if defined(__AVX512F__)
constexpr int64_t kLanes = 16, kTileRows = 8;
#elif defined(__AVX__)
constexpr int64_t kLanes = 8, kTileRows = 4;
#else  // SSE2, ARM's NEON: 4 floats
constexpr int64_t kLanes = 4, kTileRows = 4;
#endif
using Lanes = float __attribute__((vector_size(kLanes * sizeof(float))));
constexpr int64_t kTileColumns = 2 * kLanes;

// Lanes from and to floats at any address, by memcpy (an unaligned vector move): a typedef's
// aligned(4) lowers a vector's alignment for GCC but not for clang, which then stored a tile
// with aligned moves onto a stack array that was not (a crash, found 2026-12-05).
inline Lanes load_lanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void store_lanes(float* p, Lanes v) { std::memcpy(p, &v, sizeof(v)); }

// One tile: kTileRows rows of x (row stride K) by one panel (K, kTileColumns) -> y
// (kTileRows rows of kTileColumns, row stride kTileColumns).
inline void product_tile(const float* __restrict__ x, const float* __restrict__ panel, int64_t K,
                         float* __restrict__ y) {
  Lanes sums[kTileRows][2] = {};
  for (int64_t k = 0; k < K; ++k) {
    const Lanes w0 = load_lanes(panel + k * kTileColumns);
    const Lanes w1 = load_lanes(panel + k * kTileColumns + kLanes);
    for (int64_t r = 0; r < kTileRows; ++r) {
      const float v = x[r * K + k];
      sums[r][0] += v * w0;
      sums[r][1] += v * w1;
    }
  }
  for (int64_t r = 0; r < kTileRows; ++r) {
    store_lanes(y + r * kTileColumns, sums[r][0]);
    store_lanes(y + r * kTileColumns + kLanes, sums[r][1]);
  }
}

// weight (O, K) -> its panels (O / kTileColumns rounded up, K, kTileColumns), zero past O.
inline at::Tensor pack_panels(const at::Tensor& weight) {
  const int64_t O = weight.size(0), K = weight.size(1);
  const int64_t tiles = (O + kTileColumns - 1) / kTileColumns;
  at::Tensor padded = at::zeros({tiles * kTileColumns, K}, weight.options());
  padded.narrow(0, 0, O).copy_(weight);
  return padded.view({tiles, kTileColumns, K}).transpose(1, 2).contiguous();
}

// y (M, O) = x (M, K) @ the weight that ``panels`` packs. Rows short of a whole tile are
// zero-padded once, before the tiles are shared out.
inline void small_product(const float* x, int64_t M, int64_t K, const at::Tensor& panels,
                          int64_t O, float* y) {
  const int64_t row_tiles = (M + kTileRows - 1) / kTileRows, column_tiles = panels.size(0);
  std::vector<float> padded;
  if (M % kTileRows) {
    padded.assign(row_tiles * kTileRows * K, 0.0f);
    std::memcpy(padded.data(), x, M * K * sizeof(float));
    x = padded.data();
  }
  const float* packed = panels.data_ptr<float>();
  at::parallel_for(0, row_tiles * column_tiles, 1, [&](int64_t begin, int64_t end) {
    float tile[kTileRows * kTileColumns];
    for (int64_t index = begin; index < end; ++index) {
      const int64_t r0 = (index / column_tiles) * kTileRows, c = index % column_tiles;
      const int64_t rows = std::min(kTileRows, M - r0);
      const int64_t columns = std::min(kTileColumns, O - c * kTileColumns);
      product_tile(x + r0 * K, packed + c * K * kTileColumns, K, tile);
      for (int64_t r = 0; r < rows; ++r) {
        std::memcpy(y + (r0 + r) * O + c * kTileColumns, tile + r * kTileColumns,
                    columns * sizeof(float));
      }
    }
  });
}

// out = x @ weight.t() for x (M, K), weight (O, K), at every step of a loop: in float32,
// small_product, the weight packed in its panels once per call; otherwise a plain product.
// Measured against MKL's packed product (the weight packed once per call), the training step
// of lnlstm at (T, N) = (100, 32), (512, 32), (100, 64), (100, 128), (50, 256), (25, 512) on a
// 2-core AMD EPYC with AVX-512 was 7-25% faster with it at every size (7% at N = 512), and
// faster at N = 32 and 256 with both held to AVX2 (docs/cells.md). An Intel Xeon has not
// compared them.
class StepProduct {
 public:
  explicit StepProduct(const at::Tensor& weight) : weight_(weight) {
    if (weight.scalar_type() == at::kFloat) panels_ = pack_panels(weight);
  }

  at::Tensor operator()(const at::Tensor& x) const {
    if (!panels_.defined()) return at::mm(x, weight_.t());
    const at::Tensor input = x.contiguous();
    const int64_t M = input.size(0), O = weight_.size(0);
    at::Tensor out = at::empty({M, O}, input.options());
    small_product(input.data_ptr<float>(), M, input.size(1), panels_, O, out.data_ptr<float>());
    return out;
  }

 private:
  at::Tensor weight_, panels_;
};

// A step's elementwise work, split by batch rows between the threads: body(n0, n1) for rows
// n0 <= n < n1. A step is split where its N rows of ``width`` values hold more than row_values
// values (rounded up to whole rows: at::parallel_for's grain), into N / threads rows each.
// The rows of a step are independent once its recurrent product is made, so this is one
// parallel region a step, not one per loop; on one thread (or too few rows to split) it is the
// plain loop. row_values is a setting (split_rows_from) so that benchmarks can compare splits
// in one process; see docs/cells.md for the measurements behind its default.
inline std::atomic<int64_t> row_values{8192};

inline int64_t split_rows_from(int64_t values) {
  TORCH_CHECK(values >= 1, "split_rows_from: a positive number of values, got ", values);
  return row_values.exchange(values);
}

template <typename Body>
void for_rows(int64_t N, int64_t width, const Body& body) {
  const int64_t columns = std::max<int64_t>(1, width);  // row_values >= 1: a grain >= 1
  at::parallel_for(0, N, (row_values.load() + columns - 1) / columns, body);
}

// Zoneout of a fresh state: the unit keeps its old value where the mask is 1 (training, one
// Bernoulli draw per unit, as rnnkit.nn.regularise draws it), or the expectation (evaluation).
inline at::Tensor zone(const at::Tensor& old, const at::Tensor& fresh, double rate, bool training,
                std::optional<at::Tensor> slot) {
  if (!training) return rate * old + (1 - rate) * fresh;
  at::Tensor keep = at::bernoulli(at::full_like(fresh, rate));
  slot->copy_(keep);
  return keep * old + (1 - keep) * fresh;
}

// The sum of term(j) for j < W in eight independent partial sums: one running sum waits on
// each addition, eight let the compiler vectorise them.
template <typename S, typename Term>
S lane_sum(int64_t W, Term term) {
  S lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= W; j += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += term(j + l);
  }
  S total = 0;
  for (; j < W; ++j) total += term(j);
  for (int l = 0; l < 8; ++l) total += lanes[l];
  return total;
}

// Layer normalisation of each of N rows of W values (Ba et al. 2016), as torch.nn.LayerNorm
// computes it: y = (x - mean) rstd gain + shift, rstd = 1 / sqrt(var + eps), the variance
// biased; mean and rstd kept for the backward pass. shift may be null.
template <typename S>
void layer_norm_rows(int64_t N, int64_t W, const S* __restrict__ x, const S* __restrict__ gain,
                     const S* __restrict__ shift, double eps, S* __restrict__ y,
                     S* __restrict__ mean, S* __restrict__ rstd) {
  for (int64_t n = 0; n < N; ++n) {
    const S* xr = x + n * W;
    S* yr = y + n * W;
    const S mu = lane_sum<S>(W, [&](int64_t j) { return xr[j]; }) / W;
    const S squares = lane_sum<S>(W, [&](int64_t j) { return (xr[j] - mu) * (xr[j] - mu); });
    const S r = S(1) / std::sqrt(squares / W + S(eps));
    mean[n] = mu, rstd[n] = r;
    for (int64_t j = 0; j < W; ++j) yr[j] = (xr[j] - mu) * r * gain[j] + (shift ? shift[j] : S(0));
  }
}

// Its backward pass for dL/dx given dy = dL/dy: with g = dy gain and x^ = (x - mean) rstd,
// dx = rstd (g - mean(g) - x^ mean(g x^)); added to dx (add) or written.
template <typename S>
void layer_norm_rows_back(int64_t N, int64_t W, const S* __restrict__ dy,
                          const S* __restrict__ x, const S* __restrict__ mean,
                          const S* __restrict__ rstd, const S* __restrict__ gain,
                          S* __restrict__ dx, bool add) {
  for (int64_t n = 0; n < N; ++n) {
    const S *dyr = dy + n * W, *xr = x + n * W;
    S* dxr = dx + n * W;
    const S mu = mean[n], r = rstd[n];
    const S mean_g = lane_sum<S>(W, [&](int64_t j) { return dyr[j] * gain[j]; }) / W;
    const S mean_gx =
        lane_sum<S>(W, [&](int64_t j) { return dyr[j] * gain[j] * (xr[j] - mu) * r; }) / W;
    for (int64_t j = 0; j < W; ++j) {
      const S v = r * (dyr[j] * gain[j] - mean_g - (xr[j] - mu) * r * mean_gx);
      dxr[j] = add ? dxr[j] + v : v;
    }
  }
}

// dL/d(zoned state) -> (the fresh state's share, the old state's share).
inline std::pair<at::Tensor, at::Tensor> zone_back(const at::Tensor& d, double rate, bool training,
                                            const at::Tensor& mask) {
  if (rate == 0) return {d, at::Tensor()};
  if (!training) return {d * (1 - rate), d * rate};
  return {d * (1 - mask), d * mask};
}

// h_{t-1} as a step's recurrent product reads it: h, times the recurrent dropout mask if
// there is one, into the row hd.
template <typename S>
void masked_state(int64_t count, const S* __restrict__ h, const S* __restrict__ mask,
                  S* __restrict__ hd) {
  if (!mask) {
    copy_rows(hd, h, count);
    return;
  }
  for (int64_t k = 0; k < count; ++k) hd[k] = h[k] * mask[k];
}

// A single-state cell's step (GRU, MUT) after its fresh state h_new: zoneout (in training
// its mask kept in masks[t]), then, past a sequence's length, its old state kept and a zero
// emitted. Writes the output row t and the state h (both plain copies without either).
template <typename S>
void settle_state(at::Tensor& h, const at::Tensor& h_new, const at::Tensor& out, int64_t t,
                  const std::optional<at::Tensor>& keep, double rate, bool training,
                  const at::Tensor& masks) {
  if (!keep && rate == 0) {
    copy_rows(row<S>(out, t), h_new.data_ptr<S>(), h.numel());
    copy_rows(h.data_ptr<S>(), h_new.data_ptr<S>(), h.numel());
    return;
  }
  at::Tensor fresh = h_new, out_t = out[t];
  if (rate > 0) {
    fresh = zone(h, fresh, rate, training,
                 masks.defined() ? std::optional<at::Tensor>(masks[t]) : std::nullopt);
  }
  if (keep) {
    const at::Tensor k = (*keep)[t];
    at::mul_out(out_t, fresh, k);
    h.copy_(at::where(k, fresh, h));
  } else {
    out_t.copy_(fresh);
    h.copy_(fresh);
  }
}

// Its first move back (rnnkit.nn.bptt_steps.split_back): dL/dh_t split into what flows back
// through step t and what passes straight to h_{t-1}: the whole gradient where the step was
// past the sequence's length (pass), zoneout's share of the units it kept (share). dh is left
// contiguous. Returns whether the output's gradient d_output[t] was added to dh here (else
// the step's loop adds it).
inline bool split_back(at::Tensor& dh, const at::Tensor& d_output, int64_t t,
                       const std::optional<at::Tensor>& keep, double rate, bool training,
                       const at::Tensor& masks, at::Tensor& pass, at::Tensor& share) {
  bool added = false;
  if (keep) {
    const at::Tensor k = (*keep)[t];
    pass = dh * (1 - k);
    dh = (dh + d_output[t]) * k;
    added = true;
  }
  if (rate > 0) {
    if (!added) dh = dh + d_output[t], added = true;
    std::tie(dh, share) = zone_back(dh, rate, training, masks.defined() ? masks[t] : dh);
  }
  dh = dh.contiguous();
  return added;
}

// Its last move back: dL/dh_{t-1} from the gradient through the recurrent product (times the
// recurrent dropout mask), the step's direct path to h_{t-1}, and split_back's pass and share.
inline at::Tensor join_back(at::Tensor through, const std::optional<at::Tensor>& mask,
                            const at::Tensor& direct, const at::Tensor& pass,
                            const at::Tensor& share) {
  if (mask) through.mul_(*mask);
  through.add_(direct);
  if (pass.defined()) through.add_(pass);
  if (share.defined()) through.add_(share);
  return through;
}

}  // namespace rnnkit_native
