// The routes' sigmoid and tanh over contiguous runs of values, in the calling thread.
//
// The loops used to call torch's sigmoid kernel on a step's gate blocks. At batch 8 a call is
// a few microseconds of dispatch (a view, the dispatcher, a TensorIterator) around one
// microsecond of arithmetic, three calls a step: lnlstm's training step at (T, N) = (2048, 8)
// took 312 ms with them, 298 with these (docs/cells.md). Here they are plain loops: float32
// in vectors of kLanes (GCC's vector extensions, as the product's tiles), float64 one value
// at a time with std::exp and std::tanh (float64 is the checking dtype, not a fast one).
//
// e^x - 1 for float32 (expm1_lanes): x clamped to [-87, 88] (e^x stays a normal float),
// x = n ln 2 + r with n the nearest integer to x / ln 2 and |r| <= ln 2 / 2 (ln 2 in two
// parts, so r is exact to a few units in the last place), e^r - 1 = r q(r) with q the Taylor
// polynomial of degree 6 (truncation error below 1e-8 relative), then
// e^x - 1 = 2^n r q(r) + (2^n - 1), 2^n put into the exponent bits. sigmoid(x) is
// 1 / (2 + expm1(-x)); tanh takes expm1 too, which keeps it accurate near 0, where 1 - e^-2x
// would cancel. Over [-20, 20], against float64 (tests/nn/test_native.py): both within 2e-7
// relative (torch's float32 kernels: 1.5e-7 and 6e-8), tanh down to 1e-30. NaN stays NaN.

#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "route_common.h"

namespace rnnkit_native {

using IntLanes = int32_t __attribute__((vector_size(kLanes * sizeof(int32_t))));

inline Lanes splat(float v) { return Lanes{} + v; }

inline Lanes expm1_lanes(Lanes x) {
  const Lanes lo = splat(-87.0f), hi = splat(88.0f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  // n = round(x / ln 2): adding and taking away 1.5 * 2^23 rounds to the nearest integer
  const Lanes shift = splat(12582912.0f);
  const Lanes n = (x * 1.44269504088896341f + shift) - shift;
  const Lanes r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
  Lanes q = splat(1.0f / 5040);  // q = (e^r - 1) / r
  q = q * r + 1.0f / 720;
  q = q * r + 1.0f / 120;
  q = q * r + 1.0f / 24;
  q = q * r + 1.0f / 6;
  q = q * r + 0.5f;
  q = q * r + 1.0f;
  const IntLanes exponent = (__builtin_convertvector(n, IntLanes) + 127) << 23;
  // 2^n: the bits reread as floats. A vector cast rereads them (GCC's and clang's vector
  // extensions); a reference cast broke the strict-aliasing rule that -O3 relies on.
  const Lanes scale = (Lanes)exponent;
  return scale * (q * r) + (scale - 1.0f);
}

// body(lanes) -> lanes over count floats at p, in place; the last part-vector padded.
template <typename Body>
void over_lanes(float* p, int64_t count, Body body) {
  int64_t k = 0;
  for (; k + kLanes <= count; k += kLanes) store_lanes(p + k, body(load_lanes(p + k)));
  if (k < count) {
    Lanes v = {};
    std::memcpy(&v, p + k, (count - k) * sizeof(float));
    v = body(v);
    std::memcpy(p + k, &v, (count - k) * sizeof(float));
  }
}

// p[k] = sigmoid(p[k]) = 1 / (1 + e^-p[k]) for k < count.
inline void sigmoid_in_place(float* p, int64_t count) {
  over_lanes(p, count, [](Lanes v) { return 1.0f / (2.0f + expm1_lanes(-v)); });
}

inline void sigmoid_in_place(double* p, int64_t count) {
  for (int64_t k = 0; k < count; ++k) p[k] = 1 / (1 + std::exp(-p[k]));
}

// p[k] = tanh(p[k]) = sign(x) (1 - e^-2|x|) / (1 + e^-2|x|), x = p[k], with e^-2|x| - 1 taken
// whole from expm1_lanes: no cancellation near 0, so tanh keeps its relative accuracy there.
inline void tanh_in_place(float* p, int64_t count) {
  over_lanes(p, count, [](Lanes v) {
    const Lanes negative = -v;
    const Lanes magnitude = v < 0 ? negative : v;
    const Lanes m = expm1_lanes(-2.0f * magnitude);
    const Lanes t = -m / (2.0f + m);
    return v < 0 ? -t : t;
  });
}

inline void tanh_in_place(double* p, int64_t count) {
  for (int64_t k = 0; k < count; ++k) p[k] = std::tanh(p[k]);
}

// out[k] = tanh(x[k]); out and x do not overlap.
template <typename S>
void tanh_into(S* __restrict__ out, const S* __restrict__ x, int64_t count) {
  copy_rows(out, x, count);
  tanh_in_place(out, count);
}

}  // namespace rnnkit_native
