// The Winograd F(2x2, 3x3) passes (conv_winograd.h), written once over a vector-traits type V and
// instantiated per ISA by isa/conv_winograd_kernels.cpp with simd::Vec (cpu/simd/vec.h):
//   V::T, V::W; zero, set1, load, store (unaligned), bcast(const float*), add, sub, mul, fma(a, b, c) = a*b + c
// Channel counts that are not a multiple of W finish with the same code over Scalar (W = 1).
// Per block of tiles, one thread runs: input transform (x -> V, 16 planes), 16 GEMMs (V @ U -> M) with
// an MR x (NV * W) register tile, output transform (M -> y, + bias); blocks are split between threads.
#pragma once


#include <algorithm>
#include <cstdint>

#include "cpu/conv_winograd.h"
#include "cpu/parallel.h"

namespace forgenet {
namespace winograd {
namespace {

struct Scalar {
  using T = float;
  static constexpr int W = 1;
  static T zero() { return 0.0f; }
  static T set1(float a) { return a; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T a) { *p = a; }
  static T bcast(const float* p) { return *p; }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T fma(T a, T b, T c) { return a * b + c; }
};

template <class V>
struct Transforms {
  using T = typename V::T;

  // U = G g G^T, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] (the halves are exact in float).
  static void kernel_tile(const T g[3][3], T u[4][4]) {
    const T h = V::set1(0.5f);
    T r[4][3];
    for (int j = 0; j < 3; ++j) {
      r[0][j] = g[0][j];
      r[1][j] = V::mul(h, V::add(V::add(g[0][j], g[1][j]), g[2][j]));
      r[2][j] = V::mul(h, V::add(V::sub(g[0][j], g[1][j]), g[2][j]));
      r[3][j] = g[2][j];
    }
    for (int i = 0; i < 4; ++i) {
      u[i][0] = r[i][0];
      u[i][1] = V::mul(h, V::add(V::add(r[i][0], r[i][1]), r[i][2]));
      u[i][2] = V::mul(h, V::add(V::sub(r[i][0], r[i][1]), r[i][2]));
      u[i][3] = r[i][2];
    }
  }

  // B^T applied to four values along one axis: B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
  static void bt(T& a0, T& a1, T& a2, T& a3) {
    const T t0 = V::sub(a0, a2), t1 = V::add(a1, a2), t2 = V::sub(a2, a1), t3 = V::sub(a1, a3);
    a0 = t0, a1 = t1, a2 = t2, a3 = t3;
  }

  // Channels [c, c + W) of one tile: d (4x4 pixels at x + off[k], zero where !inside[k]) -> B^T d B,
  // element k of the 4x4 result to v + k * vs.
  template <bool EDGE>
  static void input_tile(const float* x, const int64_t* off, const bool* inside, int64_t c, float* v, int64_t vs) {
    T d[4][4];
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) d[k / 4][k % 4] = !EDGE || inside[k] ? V::load(x + off[k] + c) : V::zero();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) bt(d[0][j], d[1][j], d[2][j], d[3][j]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) bt(d[i][0], d[i][1], d[i][2], d[i][3]);
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) V::store(v + k * vs + c, d[k / 4][k % 4]);
  }

  // Channels [c, c + W) of one tile's output gradient: dM = A dY A^T (the adjoint of A^T M A), dY's
  // pixel q at dy + out[q], zero where out[q] < 0; element k to dm + k * ms.
  static void dy_tile(const float* dy, const int64_t* out, int64_t c, float* dm, int64_t ms) {
    T d[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) d[q] = out[q] >= 0 ? V::load(dy + out[q] + c) : V::zero();
    T r[4][2];  // A applied down the columns: (p0, p1) -> (p0, p0 + p1, p0 - p1, -p1)
#pragma GCC unroll 2
    for (int j = 0; j < 2; ++j) {
      r[0][j] = d[j];
      r[1][j] = V::add(d[j], d[2 + j]);
      r[2][j] = V::sub(d[j], d[2 + j]);
      r[3][j] = V::sub(V::zero(), d[2 + j]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      V::store(dm + (4 * i) * ms + c, r[i][0]);
      V::store(dm + (4 * i + 1) * ms + c, V::add(r[i][0], r[i][1]));
      V::store(dm + (4 * i + 2) * ms + c, V::sub(r[i][0], r[i][1]));
      V::store(dm + (4 * i + 3) * ms + c, V::sub(V::zero(), r[i][1]));
    }
  }

  // dg = G^T dU G (the adjoint of U = G g G^T): G^T maps (u0, u1, u2, u3) to
  // (u0 + (u1 + u2) / 2, (u1 - u2) / 2, (u1 + u2) / 2 + u3).
  static void kernel_gradient_tile(const T du[4][4], T dg[3][3]) {
    const T h = V::set1(0.5f);
    T r[3][4];
    for (int j = 0; j < 4; ++j) {
      const T s = V::mul(h, V::add(du[1][j], du[2][j]));
      r[0][j] = V::add(du[0][j], s);
      r[1][j] = V::mul(h, V::sub(du[1][j], du[2][j]));
      r[2][j] = V::add(s, du[3][j]);
    }
    for (int i = 0; i < 3; ++i) {
      const T s = V::mul(h, V::add(r[i][1], r[i][2]));
      dg[i][0] = V::add(r[i][0], s);
      dg[i][1] = V::mul(h, V::sub(r[i][1], r[i][2]));
      dg[i][2] = V::add(s, r[i][3]);
    }
  }

  // Channels [c, c + W) of one tile: y = A^T m A + bias, A^T = [1 1 1 0; 0 1 -1 -1]; output pixel
  // q (row q / 2, column q % 2) to y + out[q] unless out[q] < 0 (past the bottom or right edge).
  static void output_tile(const float* m, int64_t ms, int64_t c, const float* bias, float* y, const int64_t* out) {
    T a[4][4];
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) a[k / 4][k % 4] = V::load(m + k * ms + c);
    T r[2][4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      r[0][j] = V::add(V::add(a[0][j], a[1][j]), a[2][j]);
      r[1][j] = V::sub(V::sub(a[1][j], a[2][j]), a[3][j]);
    }
    const T b = bias ? V::load(bias + c) : V::zero();
#pragma GCC unroll 2
    for (int i = 0; i < 2; ++i) {
      const T o0 = V::add(V::add(V::add(r[i][0], r[i][1]), r[i][2]), b);
      const T o1 = V::add(V::sub(V::sub(r[i][1], r[i][2]), r[i][3]), b);
      if (out[2 * i] >= 0) V::store(y + out[2 * i] + c, o0);
      if (out[2 * i + 1] >= 0) V::store(y + out[2 * i + 1] + c, o1);
    }
  }
};

template <class V, int NV>
struct Winograd {
  using T = typename V::T;
  static constexpr int W = V::W, MR = kMr, NR = NV * V::W;

  // C[MR x NR] = A[MR x kk] @ Bp[kk x NR]; A row i at a + i * sa, Bp packed (NR floats per step).
  // (constant indices into r throughout: a variable one would make GCC keep it in memory)
  static void micro(int64_t kk, const float* __restrict a, int64_t sa, const float* __restrict b,
                    float* __restrict c, int64_t ldc) {
    T r[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) r[i][j] = V::zero();
    const float* ai[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) ai[i] = a + i * sa;
#pragma GCC unroll 4
    for (int64_t p = 0; p < kk; ++p) {
      T bv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const T av = V::bcast(ai[i] + p);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) r[i][j] = V::fma(av, bv[j], r[i][j]);
      }
      b += NR;
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) V::store(c + i * ldc + j * W, r[i][j]);
  }

  // Input channel i, output channel o of the transformed kernel: element k of the 4x4 at u + k * plane.
  // Input channels [b0 * W, b1 * W) (blocks of W; the caller splits them between threads).
  static void transform_kernel(const Plan& p, const Taps3x3& t, float* u, int64_t b0, int64_t b1) {
    const int64_t cin = p.g.c, cout = p.cout, panels = p.coutp / NR, plane = panels * cin * NR;
    auto at = [&](int64_t i, int64_t o) { return u + (o / NR) * cin * NR + i * NR + o % NR; };
    const bool by_o = t.s_o == 1;  // the forward kernel: output channels contiguous; dx's: input channels
    const int64_t lo = b0 * W, hi = std::min(cin, b1 * W);
    for (int64_t i = lo; i < hi; ++i)
      for (int64_t o = cout; o < p.coutp; ++o)
        for (int k = 0; k < 16; ++k) at(i, o)[k * plane] = 0.0f;
    if (by_o) {
      // Panel by panel, input channels innermost, so that each of the 16 planes is written as one run
      // of lines per panel. Input channels outermost wrote 16 x panels lines 32 KiB apart per channel,
      // which stalled on stores once U outgrew L2 (512 -> 512 channels: U is 16 MiB, and this pass
      // took a quarter of the forward's time on Zen 3).
      const int64_t ovec = cout / W * W;
      for (int64_t o0 = 0; o0 < ovec; o0 += NR)
        for (int64_t i = lo; i < hi; ++i)
          for (int64_t o = o0; o < std::min(o0 + NR, ovec); o += W) {
            T g[3][3], r[4][4];
            load_taps<V>(t, i, o, g);
            Transforms<V>::kernel_tile(g, r);
            for (int k = 0; k < 16; ++k) V::store(at(i, o) + k * plane, r[k / 4][k % 4]);
          }
      for (int64_t i = lo; i < hi; ++i)
        for (int64_t o = ovec; o < cout; ++o) scalar_tap(t, i, o, at(i, o), plane);
      return;
    }
    // dx's kernel, input channels contiguous: W of them a vector, each lane bound for a line of its own
    // in each plane. A panel's outputs gather in `tile` (L1) and the lines are then written whole,
    // panel by panel with input channels inner as above. Lane by lane straight into U touched 16 x W
    // lines per output channel, the 16 planes (power-of-two bytes apart) in the same cache sets: a
    // seventh of a 512-channel backward on Zen 3.
    const int64_t vec_hi = t.s_i == 1 ? lo + (hi - lo) / W * W : lo;
    for (int64_t o0 = 0; o0 < cout; o0 += NR) {
      const int64_t on = std::min<int64_t>(NR, cout - o0);
      for (int64_t i0 = lo; i0 < vec_hi; i0 += W) {
        alignas(64) float tile[16][NR][W];
        for (int64_t oo = 0; oo < on; ++oo) {
          T g[3][3], r[4][4];
          load_taps<V>(t, i0, o0 + oo, g);
          Transforms<V>::kernel_tile(g, r);
          for (int k = 0; k < 16; ++k) V::storea(tile[k][oo], r[k / 4][k % 4]);
        }
        for (int k = 0; k < 16; ++k)
          for (int l = 0; l < W; ++l) {
            float* dst = at(i0 + l, o0) + k * plane;
            for (int64_t oo = 0; oo < on; ++oo) dst[oo] = tile[k][oo][l];
          }
      }
    }
    for (int64_t i = vec_hi; i < hi; ++i)
      for (int64_t o = 0; o < cout; ++o) scalar_tap(t, i, o, at(i, o), plane);
  }

  // The 3x3 taps from input channel i to output channel o, W consecutive channels along the contiguous one.
  template <class VV>
  static void load_taps(const Taps3x3& t, int64_t i, int64_t o, typename VV::T g[3][3]) {
    for (int kh = 0; kh < 3; ++kh)
      for (int kw = 0; kw < 3; ++kw) g[kh][kw] = VV::load(t.w + kh * t.s_kh + kw * t.s_kw + i * t.s_i + o * t.s_o);
  }

  static void scalar_tap(const Taps3x3& t, int64_t i, int64_t o, float* dst, int64_t plane) {
    float g[3][3], r[4][4];
    load_taps<Scalar>(t, i, o, g);
    Transforms<Scalar>::kernel_tile(g, r);
    for (int k = 0; k < 16; ++k) dst[k * plane] = r[k / 4][k % 4];
  }

  // V (16 planes of vs floats, tile r of the block at row r) for tiles [t0, t0 + count).
  static void input_block(const Plan& p, const float* x, int64_t t0, int64_t count, float* v) {
    const Window2d& g = p.g;
    const int64_t C = g.c, vs = p.tb * C, per_image = p.tiles_h * p.tiles_w;
    for (int64_t r = 0; r < count; ++r) {
      const int64_t t = t0 + r, n = t / per_image, th = (t % per_image) / p.tiles_w, tw = t % p.tiles_w;
      const int64_t ih0 = 2 * th - g.pad_top, iw0 = 2 * tw - g.pad_left;
      int64_t off[16];
      bool inside[16];
      for (int k = 0; k < 16; ++k) {
        const int64_t ih = ih0 + k / 4, iw = iw0 + k % 4;
        inside[k] = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
        off[k] = inside[k] ? ((n * g.h + ih) * g.w + iw) * C : 0;
      }
      const bool edge = ih0 < 0 || iw0 < 0 || ih0 + 4 > g.h || iw0 + 4 > g.w;
      float* vr = v + r * C;
      int64_t c = 0;
      if (edge) {
        for (; c + W <= C; c += W) Transforms<V>::template input_tile<true>(x, off, inside, c, vr, vs);
        for (; c < C; ++c) Transforms<Scalar>::template input_tile<true>(x, off, inside, c, vr, vs);
      } else {
        for (; c + W <= C; c += W) Transforms<V>::template input_tile<false>(x, off, inside, c, vr, vs);
        for (; c < C; ++c) Transforms<Scalar>::template input_tile<false>(x, off, inside, c, vr, vs);
      }
    }
  }

  // Tile t's output pixels: offsets into y (row q / 2, column q % 2 of the tile), -1 past the edge.
  static void tile_outputs(const Plan& p, int64_t t, int64_t* out) {
    const Window2d& g = p.g;
    const int64_t per_image = p.tiles_h * p.tiles_w, n = t / per_image;
    const int64_t oh0 = 2 * ((t % per_image) / p.tiles_w), ow0 = 2 * (t % p.tiles_w);
    for (int q = 0; q < 4; ++q) {
      const int64_t oh = oh0 + q / 2, ow = ow0 + q % 2;
      out[q] = oh < g.ho && ow < g.wo ? ((n * g.ho + oh) * g.wo + ow) * p.cout : -1;
    }
  }

  // The blocks are claimed one at a time (parallel_run), not cut into one contiguous chunk per thread:
  // on a loaded machine the other threads take a descheduled thread's blocks, and a tile's arithmetic
  // does not depend on which thread runs it, so results stay bit-identical. Each thread works in its
  // own slot of p.work. (The one exception here to dispatch.h's rule that the caller holds the threads.)
  static void run(const Plan& p, const float* x, float* y) {
    const int64_t C = p.g.c, cout = p.cout, coutp = p.coutp, panels = coutp / NR;
    const int64_t vs = p.tb * C, ms = p.tb * coutp;
    parallel_run(static_cast<int>(p.blocks), p.threads, [&](int blk) {
      float* v = p.work + pool::slot() * (p.v_size + p.m_size);
      float* m = v + p.v_size;
      {
        const int64_t t0 = blk * p.tb, count = std::min(p.tb, p.tiles - t0), rows = (count + MR - 1) / MR * MR;
        input_block(p, x, t0, count, v);
        for (int k = 0; k < 16; ++k) std::fill(v + k * vs + count * C, v + k * vs + rows * C, 0.0f);
        for (int k = 0; k < 16; ++k)
          for (int64_t jp = 0; jp < panels; ++jp) {
            const float* up = p.u + (k * panels + jp) * C * NR;
            for (int64_t r0 = 0; r0 < rows; r0 += MR)
              micro(C, v + k * vs + r0 * C, C, up, m + k * ms + r0 * coutp + jp * NR, coutp);
          }
        for (int64_t r = 0; r < count; ++r) {
          int64_t out[4];
          tile_outputs(p, t0 + r, out);
          const float* mr = m + r * coutp;
          int64_t c = 0;
          for (; c + W <= cout; c += W) Transforms<V>::output_tile(mr, ms, c, p.bias, y, out);
          for (; c < cout; ++c) Transforms<Scalar>::output_tile(mr, ms, c, p.bias, y, out);
        }
      }
    });
  }

  // C[MR x NR] (+)= A^T B over kk steps: A(i, p) = a[p * sa + i], B(p, j) = b[p * sb + j]; C is
  // overwritten where `first`.
  static void micro_at(int64_t kk, const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
                       float* __restrict c, int64_t ldc, bool first) {
    T r[MR][NV];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) r[i][j] = first ? V::zero() : V::load(c + i * ldc + j * W);
#pragma GCC unroll 4
    for (int64_t q = 0; q < kk; ++q) {
      T bv[NV];
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) {
        const T av = V::bcast(a + i);
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) r[i][j] = V::fma(av, bv[j], r[i][j]);
      }
      a += sa;
      b += sb;
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) V::store(c + i * ldc + j * W, r[i][j]);
  }

  // dut (16 planes of cinp x coutp, du_plane apart; panels [jp0, jp1) of each overwritten) = sum over
  // the tiles of blocks [blk0, blk1) of V^T dM, through one thread's V and M at v. Threads split either
  // the tile blocks, each into its own dut, summed in chunk order (the result does not depend on
  // scheduling), or the panels of one dut (each then transforms every tile's input). V's rows are read
  // MR channels at a time: the channels past cin read the next tile's first ones and land in dU rows
  // >= cin, which are dropped.
  static void kernel_gradient(const Plan& p, const float* x, const float* dy, int64_t cinp, int64_t blk0,
                              int64_t blk1, int64_t jp0, int64_t jp1, float* v, float* dut) {
    const int64_t C = p.g.c, coutp = p.coutp;
    const int64_t vs = p.tb * C, ms = p.tb * coutp, plane = du_plane(cinp, coutp);
    const int64_t c0 = jp0 * NR, c1 = std::min(p.cout, jp1 * NR), cpad = jp1 * NR;  // dM's channels
    float* dm = v + p.v_size;
    if (blk0 >= blk1)
      for (int k = 0; k < 16; ++k)
        for (int64_t i = 0; i < cinp; ++i) {
          float* row = dut + k * plane + i * coutp;
          std::fill(row + c0, row + cpad, 0.0f);
        }
    for (int64_t blk = blk0; blk < blk1; ++blk) {
      const int64_t t0 = blk * p.tb, count = std::min(p.tb, p.tiles - t0);
      input_block(p, x, t0, count, v);
      for (int64_t r = 0; r < count; ++r) {
        int64_t out[4];
        tile_outputs(p, t0 + r, out);
        float* dmr = dm + r * coutp;
        int64_t c = c0;
        for (; c + W <= c1; c += W) Transforms<V>::dy_tile(dy, out, c, dmr, ms);
        for (; c < c1; ++c) Transforms<Scalar>::dy_tile(dy, out, c, dmr, ms);
        for (int k = 0; k < 16; ++k) std::fill(dmr + k * ms + c1, dmr + k * ms + cpad, 0.0f);
      }
      for (int k = 0; k < 16; ++k)
        for (int64_t i0 = 0; i0 < cinp; i0 += MR)
          for (int64_t jp = jp0; jp < jp1; ++jp)
            micro_at(count, v + k * vs + i0, C, dm + k * ms + jp * NR, coutp,
                     dut + k * plane + i0 * coutp + jp * NR, coutp, blk == blk0);
    }
  }

  // dkernel (3, 3, cin, cout) = G^T dU G, dU the sum (in order) of `copies` partial dU's (16 planes of
  // cinp x coutp each, du_plane apart). Input channels [i0, i1).
  static void untransform_kernel(const Plan& p, const float* du, int copies, int64_t cinp, float* dk, int64_t i0,
                                 int64_t i1) {
    const int64_t cout = p.cout, coutp = p.coutp, plane = du_plane(cinp, coutp), cin = p.g.c;
    for (int64_t i = i0; i < i1; ++i) {
      int64_t o = 0;
      for (; o + W <= cout; o += W)
        untransform<V>(du + i * coutp + o, copies, plane, dk + i * cout + o, cin * cout);
      for (; o < cout; ++o) untransform<Scalar>(du + i * coutp + o, copies, plane, dk + i * cout + o, cin * cout);
    }
  }

  template <class VV>
  static void untransform(const float* du, int copies, int64_t plane, float* dk, int64_t tap) {
    typename VV::T u[4][4], g[3][3];
    for (int k = 0; k < 16; ++k) {
      u[k / 4][k % 4] = VV::load(du + k * plane);
      for (int c = 1; c < copies; ++c) u[k / 4][k % 4] = VV::add(u[k / 4][k % 4], VV::load(du + (c * 16 + k) * plane));
    }
    Transforms<VV>::kernel_gradient_tile(u, g);
    for (int k = 0; k < 9; ++k) VV::store(dk + k * tap, g[k / 3][k % 3]);
  }
};

}  // namespace
}  // namespace winograd
}  // namespace forgenet
