// The diagonal linear recurrence h_t = a_t * h_{t-1} + b_t (rnnkit/nn/scan.py), compiled.
//
// Every column (one unit of one sequence) is its own recurrence, so the loop runs over time
// with the columns side by side: each step is one pass over a row of N*H values that the
// compiler vectorises, and the columns are split between threads. Forward and backward read
// and write each value once, so a whole sequence costs a few passes over memory, where the
// same loop in Python costs a few tensor operations per step.
//
// Shapes: a, b, h (T, N, H) contiguous, h0 (N, H). `reverse` runs t = T..1: the caller need
// not flip anything.

#include <ATen/ATen.h>
#include <torch/library.h>

#include <vector>

#include "route_common.h"

namespace rnnkit_native {

namespace {

// The order in which one sequence's steps run: index k -> time step.
struct Steps {
  int64_t T;
  bool reverse;
  int64_t at(int64_t k) const { return reverse ? T - 1 - k : k; }
};

template <typename S>
void scan_columns(const S* a, const S* b, const S* h0, S* h, Steps steps, int64_t width,
                  int64_t begin, int64_t end) {
  const S* previous = h0;
  for (int64_t k = 0; k < steps.T; ++k) {
    const int64_t offset = steps.at(k) * width;
    const S* a_t = a + offset;
    const S* b_t = b + offset;
    S* h_t = h + offset;
    for (int64_t j = begin; j < end; ++j) h_t[j] = a_t[j] * previous[j] + b_t[j];
    previous = h_t;
  }
}

// g carries dL/dh_t back through time: g = dL/dh_t (its output's own gradient plus what
// flows from h_{t+1}); then dL/db_t = g, dL/da_t = g * h_{t-1}, and g * a_t flows to h_{t-1}.
template <typename S>
void scan_columns_back(const S* d_h, const S* a, const S* h, const S* h0, S* d_a, S* d_b,
                       S* d_h0, Steps steps, int64_t width, int64_t begin, int64_t end) {
  std::vector<S> g(end - begin, S(0));
  S* carry = g.data() - begin;  // indexed by column
  for (int64_t k = steps.T - 1; k >= 0; --k) {
    const int64_t offset = steps.at(k) * width;
    const S* previous = k > 0 ? h + steps.at(k - 1) * width : h0;
    const S* a_t = a + offset;
    const S* d_h_t = d_h + offset;
    S* d_a_t = d_a + offset;
    S* d_b_t = d_b + offset;
    for (int64_t j = begin; j < end; ++j) {
      const S total = carry[j] + d_h_t[j];
      d_b_t[j] = total;
      d_a_t[j] = total * previous[j];
      carry[j] = total * a_t[j];
    }
  }
  for (int64_t j = begin; j < end; ++j) d_h0[j] = carry[j];
}

// Columns per thread's share: below this, one thread does it all.
constexpr int64_t kGrain = 2048;

void check_shapes(const at::Tensor& a, const at::Tensor& b, const at::Tensor& h0,
                  const char* op) {
  TORCH_CHECK(a.dim() == 3 && a.sizes() == b.sizes(), op, ": a and b of one shape (T, N, H)");
  TORCH_CHECK(h0.numel() == a.size(1) * a.size(2) && h0.scalar_type() == a.scalar_type() &&
                  b.scalar_type() == a.scalar_type() && h0.is_contiguous() && b.is_contiguous(),
              op, ": h0 (N, H) and b contiguous, of a's dtype");
}

}  // namespace

at::Tensor scan_forward(const at::Tensor& a, const at::Tensor& b, const at::Tensor& h0,
                        bool reverse) {
  check_shapes(a, b, h0, "scan_forward");
  at::Tensor h = at::empty_like(a);
  const Steps steps{a.size(0), reverse};
  const int64_t width = a.size(1) * a.size(2);
  on_floats(a, "scan_forward", [&](auto zero) {
    using S = decltype(zero);
    at::parallel_for(0, width, kGrain, [&](int64_t begin, int64_t end) {
      scan_columns<S>(a.data_ptr<S>(), b.data_ptr<S>(), h0.data_ptr<S>(), h.data_ptr<S>(),
                      steps, width, begin, end);
    });
    return std::vector<at::Tensor>{};
  });
  return h;
}

// Returns dL/da, dL/db and dL/dh0 for dL/dh (T, N, H) of the forward's output h.
std::vector<at::Tensor> scan_backward(const at::Tensor& d_h, const at::Tensor& a,
                                      const at::Tensor& h, const at::Tensor& h0, bool reverse) {
  check_shapes(a, h, h0, "scan_backward");
  TORCH_CHECK(d_h.sizes() == a.sizes() && d_h.is_contiguous() &&
                  d_h.scalar_type() == a.scalar_type(),
              "scan_backward: dL/dh contiguous, of a's shape and dtype");
  at::Tensor d_a = at::empty_like(a), d_b = at::empty_like(a), d_h0 = at::empty_like(h0);
  const Steps steps{a.size(0), reverse};
  const int64_t width = a.size(1) * a.size(2);
  on_floats(a, "scan_backward", [&](auto zero) {
    using S = decltype(zero);
    at::parallel_for(0, width, kGrain, [&](int64_t begin, int64_t end) {
      scan_columns_back<S>(d_h.data_ptr<S>(), a.data_ptr<S>(), h.data_ptr<S>(),
                           h0.data_ptr<S>(), d_a.data_ptr<S>(), d_b.data_ptr<S>(),
                           d_h0.data_ptr<S>(), steps, width, begin, end);
    });
    return std::vector<at::Tensor>{};
  });
  return {d_a, d_b, d_h0};
}

}  // namespace rnnkit_native

TORCH_LIBRARY_FRAGMENT(rnnkit_native, m) {
  m.def("scan_forward", &rnnkit_native::scan_forward);
  m.def("scan_backward", &rnnkit_native::scan_backward);
}
