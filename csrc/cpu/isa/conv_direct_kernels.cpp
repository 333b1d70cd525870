// The direct convolution kernels of conv_direct.h, built per ISA over simd::Vec (dispatch.h).
// Register tiles are kRows x two vectors of output channels: 6 x 16 on AVX2 (12 accumulators, 2 kernel
// or dy vectors, 1 broadcast of 16 ymm), 6 x 32 on AVX-512, 6 x 8 generic.
#include "cpu/conv_direct.h"
#include "cpu/dispatch.h"

namespace forgenet::FORGENET_ISA_NS {

namespace {

using direct::Args;
constexpr int kW = V::W;
constexpr int kR = direct::kRows;
#define FORGENET_INLINE __attribute__((always_inline)) inline

// The two vectors of a tile's output-channel block: full, or its first n < 2W lanes.
FORGENET_INLINE V::T part0(const float* p, int n) { return n >= kW ? V::load(p) : V::load_part(p, n); }
FORGENET_INLINE V::T part1(const float* p, int n) {
  return n >= 2 * kW ? V::load(p + kW) : n > kW ? V::load_part(p + kW, n - kW) : V::zero();
}
FORGENET_INLINE void store2(float* p, V::T a, V::T b, int n) {
  if (n >= 2 * kW) {
    V::store(p, a);
    V::store(p + kW, b);
  } else if (n > kW) {
    V::store(p, a);
    V::store_part(p + kW, b, n - kW);
  } else {
    V::store_part(p, a, n);
  }
}

// R pixels px, px + step, ... of one output line, output channels [j, j + n) of block wb (n <= 2W), into y
// (rows a.cout apart). The patch is kernel rows [kh0, kh1) of a.g.kw * C contiguous floats each, one
// source row (rs floats) apart; wb holds the block's weights as (K, 2W), so a tile reads them in order.
template <int R>
FORGENET_INLINE void forward_tile(const Args& a, const float* px, int64_t step, int64_t kh0, int64_t kh1,
                                  const float* wb, const float* bias, int64_t j, int n, float* y) {
  constexpr int B = 2 * kW;
  const int64_t run = a.g.kw * a.g.c, rs = a.src_w * a.g.c;
  V::T acc[R][2];
  const V::T b0 = bias ? V::load(bias + j) : V::zero(), b1 = bias ? V::load(bias + j + kW) : V::zero();
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = b0, acc[r][1] = b1;
  for (int64_t kh = kh0; kh < kh1; ++kh) {
    const float* s = px + kh * rs;
    const float* wk = wb + kh * run * B;
    for (int64_t e = 0; e < run; ++e, wk += B) {
      const V::T w0 = V::load(wk), w1 = V::load(wk + kW);
#pragma GCC unroll 6
      for (int r = 0; r < R; ++r) {
        const V::T v = V::bcast(s + r * step + e);
        acc[r][0] = V::fma(v, w0, acc[r][0]);
        acc[r][1] = V::fma(v, w1, acc[r][1]);
      }
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) store2(y + r * a.cout, acc[r][0], acc[r][1], n);
}

template <int R>
FORGENET_INLINE void forward_tail(const Args& a, const float* px, int64_t step, int64_t kh0, int64_t kh1,
                                  const float* wb, const float* bias, int64_t j, int n, float* y, int rest) {
  if constexpr (R > 0) {
    if (rest == R) return forward_tile<R>(a, px, step, kh0, kh1, wb, bias, j, n, y);
    forward_tail<R - 1>(a, px, step, kh0, kh1, wb, bias, j, n, y, rest);
  }
}

// dk rows [k0, k0 + KB), columns [j, j + 2W) += sum over the pixels of lines [l0, l1) of
// patch[p, k] * dy[p, j..]; n: the valid columns (dy is read only there). The block's sum starts from
// zero and is added to dk once: two-level summation, so float's error grows with the block and the
// number of blocks rather than with all the pixels of a chunk.
template <int KB>
FORGENET_INLINE void gradient_tile(const Args& a, const float* dy, int64_t l0, int64_t l1, int64_t k0, int64_t j,
                                   int n, float* dk) {
  const Window2d& g = a.g;
  V::T acc[KB][2];
  int64_t off[KB];
#pragma GCC unroll 6
  for (int i = 0; i < KB; ++i) {
    acc[i][0] = acc[i][1] = V::zero();
    off[i] = a.koff[k0 + i];
  }
  const int64_t step = g.sw * g.c;
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t nn = l / g.ho, oh = l % g.ho;
    const float* px = a.src + (nn * a.src_h + oh * g.sh) * a.src_w * g.c;
    const float* d = dy + l * g.wo * a.cout + j;
    for (int64_t ow = 0; ow < g.wo; ++ow, px += step, d += a.cout) {
      const V::T d0 = part0(d, n), d1 = part1(d, n);
#pragma GCC unroll 6
      for (int i = 0; i < KB; ++i) {
        const V::T v = V::bcast(px + off[i]);
        acc[i][0] = V::fma(v, d0, acc[i][0]);
        acc[i][1] = V::fma(v, d1, acc[i][1]);
      }
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < KB; ++i) {
    float* d = dk + (k0 + i) * a.coutp + j;
    V::store(d, V::add(V::load(d), acc[i][0]));
    V::store(d + kW, V::add(V::load(d + kW), acc[i][1]));
  }
}

template <int KB>
FORGENET_INLINE void gradient_tail(const Args& a, const float* dy, int64_t l0, int64_t l1, int64_t k0, int64_t j,
                                   int n, float* dk, int rest) {
  if constexpr (KB > 0) {
    if (rest == KB) return gradient_tile<KB>(a, dy, l0, l1, k0, j, n, dk);
    gradient_tail<KB - 1>(a, dy, l0, l1, k0, j, n, dk, rest);
  }
}

// sum over c < cout of d[c] * w[c] into four accumulators (independent chains) and a masked tail.
FORGENET_INLINE void dot_into(const float* d, const float* w, int64_t cout, V::T acc[4]) {
  int64_t c = 0;
  for (; c + 4 * kW <= cout; c += 4 * kW) {
    acc[0] = V::fma(V::load(d + c), V::load(w + c), acc[0]);
    acc[1] = V::fma(V::load(d + c + kW), V::load(w + c + kW), acc[1]);
    acc[2] = V::fma(V::load(d + c + 2 * kW), V::load(w + c + 2 * kW), acc[2]);
    acc[3] = V::fma(V::load(d + c + 3 * kW), V::load(w + c + 3 * kW), acc[3]);
  }
  for (int i = 0; c + kW <= cout; c += kW, ++i) acc[i] = V::fma(V::load(d + c), V::load(w + c), acc[i]);
  if (c < cout) {
    const int m = static_cast<int>(cout - c);
    acc[3] = V::fma(V::load_part(d + c, m), V::load_part(w + c, m), acc[3]);
  }
}

// dx of input channel ci at R consecutive pixels of one line whose windows all lie inside along w
// (stride 1 there): every kernel column reaches each of them, pixel r + 1 reading the dy pixel after
// pixel r's. rows[i]: the dy line kernel row khs[i] reads, already offset to pixel 0's kernel column 0.
// Each kernel vector serves R pixels, two accumulators per pixel keep 2R chains in flight.
template <int R>
FORGENET_INLINE void dx_run(const Window2d& g, int64_t cout, const float* const* rows, const int64_t* khs, int nrows,
                            const float* kernel, int64_t ci, float* out) {
  V::T acc[R][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = V::zero();
  for (int i = 0; i < nrows; ++i)
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      const float* d = rows[i] - kw * cout;
      const float* wk = kernel + ((khs[i] * g.kw + kw) * g.c + ci) * cout;
      int64_t c = 0;
      for (; c + 2 * kW <= cout; c += 2 * kW) {
        const V::T w0 = V::load(wk + c), w1 = V::load(wk + c + kW);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          acc[r][0] = V::fma(V::load(d + r * cout + c), w0, acc[r][0]);
          acc[r][1] = V::fma(V::load(d + r * cout + c + kW), w1, acc[r][1]);
        }
      }
      if (c + kW <= cout) {
        const V::T w0 = V::load(wk + c);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][0] = V::fma(V::load(d + r * cout + c), w0, acc[r][0]);
        c += kW;
      }
      if (c < cout) {
        const int m = static_cast<int>(cout - c);
        const V::T w0 = V::load_part(wk + c, m);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][1] = V::fma(V::load_part(d + r * cout + c, m), w0, acc[r][1]);
      }
    }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) out[r * g.c + ci] = V::hsum(V::add(acc[r][0], acc[r][1]));
}

// dx[.., iw, ci] by the taps that reach it, one at a time (any stride, any position).
FORGENET_INLINE float dx_pixel(const Window2d& g, int64_t cout, const float* dy, const float* kernel, int64_t nn,
                               int64_t ih, int64_t iw, int64_t ci) {
  V::T acc[4] = {V::zero(), V::zero(), V::zero(), V::zero()};
  for (int64_t kh = 0; kh < g.kh; ++kh) {
    const int64_t t = ih + g.pad_top - kh;  // = oh * sh when output row oh reads input row ih at tap kh
    if (t < 0 || (g.sh > 1 && t % g.sh)) continue;
    const int64_t oh = t / g.sh;
    if (oh >= g.ho) continue;
    for (int64_t kw = 0; kw < g.kw; ++kw) {
      const int64_t u = iw + g.pad_left - kw;
      if (u < 0 || (g.sw > 1 && u % g.sw)) continue;
      const int64_t ow = u / g.sw;
      if (ow >= g.wo) continue;
      dot_into(dy + ((nn * g.ho + oh) * g.wo + ow) * cout, kernel + ((kh * g.kw + kw) * g.c + ci) * cout, cout, acc);
    }
  }
  return V::hsum(V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])));
}

constexpr int kDxRun = 4;  // pixels of dx_run
constexpr int kMaxRows = 64;  // kernel rows dx_run keeps pointers for (taller kernels: dx_pixel)

}  // namespace

int conv_direct_forward_block() { return 2 * kW; }

void conv_direct_forward(const Args& a, const float* w, const float* bias, int64_t l0, int64_t l1, float* y) {
  const Window2d& g = a.g;
  const int64_t step = g.sw * g.c;
  // a line's pixels in spans whose source columns (span * SW * C floats per kernel row) stay in L1
  // beside one block's weights while every block passes over them
  constexpr int64_t kSpan = 8 * kR;
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t nn = l / g.ho, oh = l % g.ho;
    // kernel rows inside the input for this line: the others read only the zeros of the padding
    const int64_t top = g.pad_top - oh * g.sh;
    const int64_t kh0 = top > 0 ? top : 0, kh1 = g.h + top < g.kh ? g.h + top : g.kh;
    const float* row = a.src + (nn * a.src_h + oh * g.sh) * a.src_w * g.c;
    float* yl = y + l * g.wo * a.cout;
    for (int64_t o0 = 0; o0 < g.wo; o0 += kSpan) {
      const int64_t o1 = o0 + kSpan < g.wo ? o0 + kSpan : g.wo;
      for (int64_t j = 0; j < a.cout; j += 2 * kW) {
        const int n = a.cout - j < 2 * kW ? static_cast<int>(a.cout - j) : 2 * kW;
        const float* wb = w + j * a.K;  // block j / 2W: K rows of 2W
        int64_t ow = o0;
        for (; ow + kR <= o1; ow += kR)
          forward_tile<kR>(a, row + ow * step, step, kh0, kh1, wb, bias, j, n, yl + ow * a.cout + j);
        if (ow < o1)
          forward_tail<kR - 1>(a, row + ow * step, step, kh0, kh1, wb, bias, j, n, yl + ow * a.cout + j,
                               static_cast<int>(o1 - ow));
      }
    }
  }
}

void conv_direct_kernel_gradient(const Args& a, const float* dy, int64_t l0, int64_t l1, float* dk) {
  // lines in blocks whose dy stays in L1 while every (patch element, channel) tile passes over it
  const int64_t per_line = a.g.wo * a.cout;
  const int64_t lb = per_line >= 4096 ? 1 : 4096 / (per_line > 0 ? per_line : 1);
  for (int64_t b0 = l0; b0 < l1; b0 += lb) {
    const int64_t b1 = b0 + lb < l1 ? b0 + lb : l1;
    for (int64_t j = 0; j < a.cout; j += 2 * kW) {
      const int n = a.cout - j < 2 * kW ? static_cast<int>(a.cout - j) : 2 * kW;
      int64_t k0 = 0;
      for (; k0 + kR <= a.K; k0 += kR) gradient_tile<kR>(a, dy, b0, b1, k0, j, n, dk);
      if (k0 < a.K) gradient_tail<kR - 1>(a, dy, b0, b1, k0, j, n, dk, static_cast<int>(a.K - k0));
    }
  }
}

void conv_direct_input_gradient(const Window2d& g, int64_t cout, const float* dy, const float* kernel, int64_t r0,
                                int64_t r1, float* dx) {
  const int64_t C = g.c;
  // the pixels whose every kernel column lands inside the output along w: iw + pl - kw in [0, Wo)
  const int64_t in_lo = g.kw - 1 - g.pad_left, in_hi = g.wo - g.pad_left;  // [in_lo, in_hi)
  const bool runs = g.sw == 1 && g.kh <= kMaxRows;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t nn = r / g.h, ih = r % g.h;
    float* line = dx + r * g.w * C;
    const float* rows[kMaxRows];
    int64_t khs[kMaxRows];
    int nrows = 0;
    if (runs)
      for (int64_t kh = 0; kh < g.kh; ++kh) {
        const int64_t t = ih + g.pad_top - kh;
        if (t < 0 || (g.sh > 1 && t % g.sh) || t / g.sh >= g.ho) continue;
        khs[nrows] = kh;
        rows[nrows++] = dy + ((nn * g.ho + t / g.sh) * g.wo + g.pad_left) * cout;  // + (iw - kw) * cout
      }
    int64_t iw = 0;
    while (iw < g.w) {
      if (runs && iw >= in_lo && iw + kDxRun <= in_hi && iw + kDxRun <= g.w) {
        const float* at[kMaxRows];
        for (int i = 0; i < nrows; ++i) at[i] = rows[i] + iw * cout;
        for (int64_t ci = 0; ci < C; ++ci) dx_run<kDxRun>(g, cout, at, khs, nrows, kernel, ci, line + iw * C);
        iw += kDxRun;
        continue;
      }
      for (int64_t ci = 0; ci < C; ++ci) line[iw * C + ci] = dx_pixel(g, cout, dy, kernel, nn, ih, iw, ci);
      ++iw;
    }
  }
}

}  // namespace forgenet::FORGENET_ISA_NS
