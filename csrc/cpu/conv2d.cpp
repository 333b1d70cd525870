// Convolution as implicit GEMM: y (pixels, Cout) = patches (pixels, KH*KW*Cin) @ kernel (KH*KW*Cin, Cout)
// without ever storing the patch matrix. In NHWC a pixel's patch is KH runs of KW*Cin contiguous floats
// of x, at the same offsets from the pixel's corner for every pixel, so the micro-kernel
// (gemm_kernels.h, GatherKernel) broadcasts A's elements straight from x through one pointer per tile
// row and a list of runs; only the kernel is packed. Padding is handled once by a zero-padded copy of
// the input (conv_source.h), after which every window lies inside.
// The bias initialises the accumulators.
// Backward: dkernel = patches^T @ dy, blocked over pixels, its A panels packed straight from x (a
// pixel's MR consecutive patch elements are mostly one contiguous copy); dbias = column sums of dy; dx,
// for stride 1, is the 'full' convolution of dy with the kernel flipped in space and transposed in
// channels (the forward engine again), and for larger strides col2im(dy @ kernel^T), gathered per input
// line so threads never write the same element. A 1x1 stride-1 conv is one GEMM on x itself.
// 3x3 stride-1 windows with enough channels (forward and dx alike) go to Winograd F(2x2, 3x3)
// (conv_winograd.h) instead, and so does their dkernel; windows of few patch elements (a first layer)
// to the direct kernels (conv_direct.h), and so does the forward of a wide window over few channels
// (ResNet's 7x7/2 stem). conv2d_path is the rule; threads go through parallel_for and
// scratch through Scratch.
#include "cpu/conv2d.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/workspace.h"
#include "cpu/conv_direct.h"
#include "cpu/conv_source.h"
#include "cpu/conv_winograd.h"
#include "cpu/cpu_features.h"
#include "cpu/gemm.h"
#include "cpu/gemm_kernels.h"
#include "cpu/parallel.h"

namespace forgenet {

namespace {

using conv::Source;
using gemm::Kernel;

constexpr int64_t kColumnBudget = conv::kColumnBudget;

inline int64_t ceil_div(int64_t x, int64_t q) { return (x + q - 1) / q; }

inline bool is_pointwise(const Window2d& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1;  // no padding either way
}

// Pixel q (of the chunk; q = (n * Ho + oh) * Wo + ow) -> the corner of its window in the source.
inline const float* corner(const Window2d& g, const Source& s, int64_t q) {
  const int64_t hw = g.ho * g.wo, n = q / hw, r = q % hw, oh = r / g.wo, ow = r % g.wo;
  return s.data + ((n * s.h + oh * g.sh) * s.w + ow * g.sw) * g.c;
}

// The runs of patch elements [k0, k1) (k = (kh * KW + kw) * Cin + c) as (offset from the window's
// corner, length, kernel row, first k): one per kernel row the range meets.
struct Runs {
  std::vector<int64_t> off, len, kh, k;
};
void patch_runs(const Window2d& g, int64_t src_w, int64_t k0, int64_t k1, Runs& r) {
  const int64_t S = g.kw * g.c;
  for (int64_t kh = k0 / S; kh * S < k1; ++kh) {
    const int64_t lo = std::max(k0, kh * S), hi = std::min(k1, (kh + 1) * S);
    r.off.push_back(kh * src_w * g.c + lo - kh * S);
    r.len.push_back(hi - lo);
    r.kh.push_back(kh);
    r.k.push_back(lo);
  }
}

// ------------------------------------------------------------------------- forward (implicit GEMM)
// y (chunk's pixels, cout) = patches @ B + bias, B (K x cout) packed by gemm::pack_b into panels of K
// steps, biasp (ceil(cout / NR) * NR floats, zero-padded) or null.
// Blocks: K in blocks of <= 512 (an A tile of MR rows stays in L1), cout in blocks whose B block fits
// in half of L2; threads take contiguous ranges of tiles. A tile skips the kernel rows that fall in the
// top or bottom padding for all of its pixels (they would multiply zeros): for dx of a 'valid' conv,
// which is a convolution of dy padded by KH-1 rows each side, that is a sixth of the work.
void implicit_gemm(const Kernel& kr, const Window2d& g, int64_t cout, const Source& s, int64_t nimg,
                   const float* bp, const float* biasp, float* y) {
  const int MR = kr.mr, NR = kr.nr;
  const int64_t K = g.kh * g.kw * g.c, P = nimg * g.ho * g.wo, tiles = ceil_div(P, MR);
  const int64_t nkb = ceil_div(K, 512), kc = ceil_div(K, nkb);
  const int64_t NC = std::max<int64_t>(NR, (65536 / kc) / NR * NR);
  Runs runs;
  std::vector<int64_t> first(1, 0);  // runs of K block b: [first[b], first[b + 1])
  for (int64_t pc = 0; pc < K; pc += kc) {
    patch_runs(g, s.w, pc, std::min(K, pc + kc), runs);
    first.push_back(static_cast<int64_t>(runs.off.size()));
  }
  // a tile streams all of B (K x cout) past its MR rows of A
  parallel_for(0, tiles, grain_for(K * (cout + MR)), [&](int64_t t0, int64_t t1) {
    const float* rows[16];
    for (int64_t jc = 0; jc < cout; jc += NC) {
      const int64_t nc = std::min(NC, cout - jc);
      for (int64_t b = 0, pc = 0; pc < K; ++b, pc += kc) {
        for (int64_t tile = t0; tile < t1; ++tile) {
          const int64_t q0 = tile * MR;
          const int m = static_cast<int>(std::min<int64_t>(MR, P - q0));
          int64_t kh_lo = g.kh, kh_hi = 0;  // kernel rows inside the input for some pixel of the tile
          for (int i = 0; i < MR; ++i) {
            const int64_t q = q0 + std::min(i, m - 1), oh = (q % (g.ho * g.wo)) / g.wo;
            rows[i] = corner(g, s, q);
            const int64_t top = g.pad_top - oh * g.sh;  // kh = top lands on input row 0
            kh_lo = std::min(kh_lo, std::max<int64_t>(top, 0));
            kh_hi = std::max(kh_hi, std::min(g.kh, top + g.h));
          }
          int64_t q_lo = first[b], q_hi = first[b + 1];
          while (q_lo < q_hi && runs.kh[q_lo] < kh_lo) ++q_lo;
          while (q_hi > q_lo && runs.kh[q_hi - 1] >= kh_hi) --q_hi;
          const int64_t skip = q_lo < q_hi ? runs.k[q_lo] - pc : 0;
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int64_t j = jc + jr;
            const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
            kr.gather(rows, static_cast<int>(q_hi - q_lo), runs.off.data() + q_lo, runs.len.data() + q_lo,
                      bp + ((j / NR) * K + pc + skip) * NR, y + q0 * cout + j, cout,
                      pc == 0 && biasp ? biasp + j : nullptr, pc > 0, m, n);
          }
        }
      }
    }
  });
}

// Runs the implicit GEMM chunk by chunk of images; y holds the output of all g.n images.
void implicit_conv(const Kernel& kr, const Window2d& g, int64_t cout, const float* x, const float* bp,
                   const float* biasp, float* y) {
  Scratch frame(Scratch::floats(conv::source_floats(g)), "conv2d's padded input");
  float* buf = frame.take(conv::source_floats(g));
  const int64_t step = conv::images_per_chunk(g);
  for (int64_t n0 = 0; n0 < g.n; n0 += step) {
    const int64_t count = std::min(step, g.n - n0);
    implicit_gemm(kr, g, cout, conv::source(g, x, n0, count, buf), count, bp, biasp, y + n0 * g.ho * g.wo * cout);
  }
}

// Packs ncols columns of a (K x ncols) operand into kr's panels, panel by panel in parallel;
// pack_panel(jp, dst) fills panel jp (K * NR floats).
template <typename F>
void pack_panels(int64_t K, int64_t ncols, const Kernel& kr, float* dst, F&& pack_panel) {
  parallel_for(0, ceil_div(ncols, kr.nr), grain_for(K * kr.nr), [&](int64_t p0, int64_t p1) {
    for (int64_t jp = p0; jp < p1; ++jp) pack_panel(jp, dst + jp * K * kr.nr);
  });
}

// Output columns [lo, hi) whose kernel column kw lands inside the input: 0 <= ow * SW - pad_left + kw < W.
inline void tap_columns(const Window2d& g, int64_t kw, int64_t& lo, int64_t& hi) {
  const int64_t a = g.pad_left - kw, b = g.w + g.pad_left - kw;
  lo = std::min(g.wo, a > 0 ? (a + g.sw - 1) / g.sw : 0);
  hi = std::max(lo, std::min(g.wo, b > 0 ? (b + g.sw - 1) / g.sw : 0));
}

// When KW * Cin is a few floats, a copy per pixel and kernel row is mostly overhead; col2im then
// walks one kernel tap across a whole line instead.
constexpr int64_t kTapWalkBelow = 16;

// dx += col2im(dcols) for output lines [l0, l1). Each thread owns whole input lines (n, ih) and
// adds every patch run that lands on them, so no two threads ever write the same element of dx.
void col2im_add(const Window2d& g, const float* dcols, int64_t l0, int64_t l1, float* dx) {
  const int64_t C = g.c, run = g.kw * C, K = g.kh * run;
  const int64_t n0 = l0 / g.ho, n1 = (l1 - 1) / g.ho;  // images this chunk touches
  const int64_t tasks = (n1 - n0 + 1) * g.h;
  parallel_for(0, tasks, grain_for((l1 - l0) * g.wo * K / tasks), [&](int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t n = n0 + t / g.h, ih = t % g.h;
    const int64_t oh_lo = std::max<int64_t>(l0 - n * g.ho, 0), oh_hi = std::min(l1 - n * g.ho, g.ho);
    float* dxl = dx + (n * g.h + ih) * g.w * C;
    for (int64_t kh = 0; kh < g.kh; ++kh) {
      const int64_t s = ih + g.pad_top - kh;  // = oh * sh when this kernel row reaches ih
      if (s < 0 || s % g.sh) continue;
      const int64_t oh = s / g.sh;
      if (oh < oh_lo || oh >= oh_hi) continue;
      const float* drow = dcols + (n * g.ho + oh - l0) * g.wo * K + kh * run;
      if (run < kTapWalkBelow) {
        for (int64_t kw = 0; kw < g.kw; ++kw) {
          int64_t lo, hi;
          tap_columns(g, kw, lo, hi);
          if (hi <= lo) continue;
          const float* src = drow + kw * C;
          const int64_t base = (kw - g.pad_left) * C;  // + ow * SW * C is inside the line for ow in [lo, hi)
          for (int64_t ow = lo; ow < hi; ++ow)
            for (int64_t c = 0; c < C; ++c) dxl[base + ow * g.sw * C + c] += src[ow * K + c];
        }
        continue;
      }
      for (int64_t ow = 0; ow < g.wo; ++ow) {
        const int64_t iw0 = ow * g.sw - g.pad_left;
        const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min(g.kw, g.w - iw0);
        if (kw1 <= kw0) continue;
        // (kw, c) is contiguous in both the patch row and the input line: one flat add.
        const float* src = drow + ow * K + kw0 * C;
        float* dst = dxl + (iw0 + kw0) * C;
        const int64_t len = (kw1 - kw0) * C;
#pragma omp simd
        for (int64_t i = 0; i < len; ++i) dst[i] += src[i];
      }
    }
  }
  });
}

// C (rows, cout) = A (rows, K) @ kernel (K, cout) + bias, the bias pre-filled so the GEMM adds onto it
// (the 1x1 path, where A is x itself and has no room for a column of ones).
void gemm_bias(int64_t rows, int64_t K, int64_t cout, const float* A, const float* kernel,
               const float* bias, float* C) {
  if (bias)
    parallel_for(0, rows, grain_for(cout), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::copy(bias, bias + cout, C + r * cout);
    });
  sgemm(false, false, rows, cout, K, 1.0f, A, K, kernel, cout, bias ? 1.0f : 0.0f, C, cout);
}

// out[c] = sum_r dy[r, c]: float sums over blocks of 64 rows (vectorised, float's own width), added
// into double accumulators; per-chunk partials summed in chunk order so the result does not depend
// on scheduling.
void column_sums(const float* dy, int64_t rows, int64_t cols, float* out) {
  constexpr int64_t kBlock = 64;
  const int64_t blocks = ceil_div(rows, kBlock), grain = grain_for(kBlock * cols);
  const int chunks = parallel_chunks(blocks, grain);
  Scratch frame(Scratch::floats<double>(chunks * cols) + Scratch::floats(chunks * cols), "conv2d's bias sums");
  double* part = frame.take<double>(chunks * cols);
  float* blk = frame.take(chunks * cols);
  std::fill(part, part + chunks * cols, 0.0);
  parallel_for_chunks(0, blocks, grain, [&](int t, int64_t k0, int64_t k1) {
    double* acc = part + t * cols;
    float* b = blk + t * cols;
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t r1 = std::min(rows, (k + 1) * kBlock);
      std::fill(b, b + cols, 0.0f);
      for (int64_t r = k * kBlock; r < r1; ++r) {
        const float* d = dy + r * cols;
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) b[c] += d[c];
      }
      for (int64_t c = 0; c < cols; ++c) acc[c] += b[c];
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    double s = 0.0;
    for (int t = 0; t < chunks; ++t) s += part[t * cols + c];
    out[c] = static_cast<float>(s);
  }
}

// ------------------------------------------------------------------------------ kernel gradient
// dkernel (K, cout) = patches^T @ dy: a GEMM whose inner dimension is the pixels. Threads split the
// pixels (each its own partial dkernel, summed in thread order); each takes them in blocks of kc, packs
// that block of dy as B panels, and for each MR patch elements gathers an A panel (kc x MR) from x.
template <int MR>
void pack_patch_panel(const float* const* corners, int64_t kp, const int64_t* koff, int64_t mr, float* dst) {
  const bool run = mr == MR && koff[MR - 1] - koff[0] == MR - 1;  // MR elements contiguous in x
  for (int64_t p = 0; p < kp; ++p, dst += MR) {
    const float* src = corners[p];
    if (run) {
      std::memcpy(dst, src + koff[0], MR * sizeof(float));
      continue;
    }
    for (int i = 0; i < MR; ++i) dst[i] = i < mr ? src[koff[i]] : 0.0f;
  }
}

void pack_patches(int mr_tile, const float* const* corners, int64_t kp, const int64_t* koff, int64_t mr,
                  float* dst) {
  switch (mr_tile) {
    case 4: return pack_patch_panel<4>(corners, kp, koff, mr, dst);
    case 6: return pack_patch_panel<6>(corners, kp, koff, mr, dst);
    case 8: return pack_patch_panel<8>(corners, kp, koff, mr, dst);
    case 12: return pack_patch_panel<12>(corners, kp, koff, mr, dst);
    case 16: return pack_patch_panel<16>(corners, kp, koff, mr, dst);
  }
  std::abort();  // a micro-kernel with a tile height not listed here
}

void weight_gradient(const Window2d& g, int64_t cout, const float* dy, const float* x, float* dkernel) {
  const int64_t K = g.kh * g.kw * g.c, hw = g.ho * g.wo;
  const Kernel& kr = gemm::kernel_for(best_isa(), K, cout);
  const int MR = kr.mr, NR = kr.nr;
  const int64_t KP = kr.kc, panels = ceil_div(cout, NR), size = K * cout;
  // a pixel reads its patch (K) and its dy row (cout) and meets all of dkernel; chunks of whole KP blocks
  const int64_t grain = std::max(KP, grain_for(K + cout));
  const int64_t step = conv::images_per_chunk(g);
  const int chunks = parallel_chunks(std::min(step, g.n) * hw, grain);
  // per chunk: dy's partial panel (KP x NR), A panel (KP x MR), KP corner pointers; chunks past the
  // first sum into their own dkernel, added in chunk order at the end
  const int64_t per_chunk = KP * NR + KP * MR + KP * 2;
  Scratch frame(Scratch::floats(chunks * per_chunk) + Scratch::floats((chunks - 1) * size) +
                    Scratch::floats<int64_t>(K + MR) + Scratch::floats(conv::source_floats(g)),
                "conv2d's kernel gradient panels, partials and padded input");
  float* panels_buf = frame.take(chunks * per_chunk);
  float* partials = frame.take((chunks - 1) * size);
  int64_t* koff = frame.take<int64_t>(K + MR);
  float* buf = frame.take(conv::source_floats(g));
  std::vector<char> started(chunks, 0);
  for (int64_t n0 = 0; n0 < g.n; n0 += step) {
    const int64_t count = std::min(step, g.n - n0), Pc = count * hw;
    const Source s = conv::source(g, x, n0, count, buf);
    for (int64_t k = 0; k < K; ++k) koff[k] = (k / (g.kw * g.c)) * s.w * g.c + k % (g.kw * g.c);
    const float* dyc = dy + n0 * hw * cout;
    parallel_for_chunks(0, Pc, grain, [&](int t, int64_t p_lo, int64_t p_hi) {
      float* part = t == 0 ? dkernel : partials + (t - 1) * size;
      float* bp = panels_buf + t * per_chunk;
      float* ap = bp + KP * NR;
      const float** corners = reinterpret_cast<const float**>(ap + KP * MR);
      for (int64_t p0 = p_lo; p0 < p_hi; p0 += KP) {
        const int64_t kp = std::min(KP, p_hi - p0);
        // dy's full panels are read in place (rows cout apart), only a partial last one is packed
        const int64_t nfull = cout / NR * NR;
        if (nfull < cout) gemm::pack_b(kr, false, kp, cout - nfull, dyc + p0 * cout + nfull, cout, bp);
        for (int64_t p = 0; p < kp; ++p) corners[p] = corner(g, s, p0 + p);
        const float beta = started[t] ? 1.0f : 0.0f;
        for (int64_t i0 = 0; i0 < K; i0 += MR) {
          const int64_t mr = std::min<int64_t>(MR, K - i0);
          pack_patches(MR, corners, kp, koff + i0, mr, ap);
          for (int64_t jp = 0; jp < panels; ++jp) {
            const int n = static_cast<int>(std::min<int64_t>(NR, cout - jp * NR));
            const bool packed = jp * NR >= nfull;
            kr.run(kp, ap, MR, packed ? bp : dyc + p0 * cout + jp * NR, packed ? NR : cout,
                   part + i0 * cout + jp * NR, cout, 1.0f, beta, static_cast<int>(mr), n);
          }
        }
        started[t] = 1;
      }
    });
  }
  for (int t = 0; t < chunks; ++t) {
    float* part = t == 0 ? dkernel : partials + (t - 1) * size;
    if (!started[t]) std::fill(part, part + size, 0.0f);
  }
  for (int t = 1; t < chunks; ++t) {
    const float* src = partials + (t - 1) * size;
    parallel_for(0, size, grain_for(2), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) dkernel[i] += src[i];
    });
  }
}

// ------------------------------------------------------------------------------- input gradient
// Stride 1: dx[n, ih, iw, c] = sum over (kh, kw, co) of dy[n, ih + pt - kh, iw + pl - kw, co] *
// kernel[kh, kw, c, co], a 'valid' convolution of dy padded by KH-1-pt rows and KW-1-pl columns with
// the kernel flipped in space and transposed in channels.
Window2d input_gradient_window(const Window2d& g, int64_t cout) {
  return {g.n, g.ho, g.wo, cout, g.kh, g.kw, 1, 1, g.h, g.w, g.kh - 1 - g.pad_top, g.kw - 1 - g.pad_left};
}

// Winograd's dx: the flipped, transposed kernel as strides from its last tap (no flipped copy).
void input_gradient_winograd(const Window2d& g, int64_t cout, const float* dy, const float* kernel, float* dx) {
  const int64_t taps = g.kh * g.kw, cin = g.c;
  const Taps3x3 flipped{kernel + (taps - 1) * cin * cout, -3 * cin * cout, -cin * cout, 1, cout};
  winograd_conv3x3(input_gradient_window(g, cout), cin, dy, flipped, nullptr, dx);
}

void input_gradient_stride1(const Window2d& g, int64_t cout, const float* dy, const float* kernel, float* dx) {
  const Window2d t = input_gradient_window(g, cout);
  const int64_t K = g.kh * g.kw * cout, taps = g.kh * g.kw, cin = g.c;
  const Kernel& kr = gemm::kernel_for(best_isa(), g.n * g.h * g.w, cin);
  const int NR = kr.nr;
  Scratch frame(Scratch::floats(ceil_div(cin, NR) * NR * K), "conv2d's packed kernel");
  float* bp = frame.take(ceil_div(cin, NR) * NR * K);
  pack_panels(K, cin, kr, bp, [&](int64_t jp, float* dst) {
    const int64_t j0 = jp * NR, nr = std::min<int64_t>(NR, cin - j0);
    for (int64_t tap = 0; tap < taps; ++tap)  // tap of the flipped kernel: (taps - 1 - tap) of kernel
      gemm::pack_b(kr, true, cout, nr, kernel + (taps - 1 - tap) * cin * cout + j0 * cout, cout,
                   dst + tap * cout * NR);
  });
  implicit_conv(kr, t, cin, dy, bp, nullptr, dx);
}

// Any stride: dx = col2im(dy @ kernel^T), in chunks of output lines.
void input_gradient_col2im(const Window2d& g, int64_t cout, const float* dy, const float* kernel, float* dx) {
  const int64_t lines = g.n * g.ho, K = g.kh * g.kw * g.c;
  parallel_for(0, g.n * g.h * g.w * g.c, grain_for(1), [&](int64_t i0, int64_t i1) { std::fill(dx + i0, dx + i1, 0.0f); });
  const int64_t step = std::min(lines, std::max<int64_t>(1, kColumnBudget / std::max<int64_t>(g.wo * K * 4, 1)));
  Scratch frame(Scratch::floats(step * g.wo * K), "conv2d's column gradients");
  float* dcols = frame.take(step * g.wo * K);
  for (int64_t l0 = 0; l0 < lines; l0 += step) {
    const int64_t l1 = std::min(lines, l0 + step), rows = (l1 - l0) * g.wo;
    sgemm(false, true, rows, K, cout, 1.0f, dy + l0 * g.wo * cout, cout, kernel, cout, 0.0f, dcols, K);
    col2im_add(g, dcols, l0, l1, dx);
  }
}

// The implicit GEMM forward: the kernel packed into the micro-kernel's panels, the bias padded.
void implicit_forward(const Window2d& g, int64_t cout, const float* x, const float* kernel, const float* bias,
                      float* y) {
  const int64_t M = g.n * g.ho * g.wo, K = g.kh * g.kw * g.c;
  const Kernel& kr = gemm::kernel_for(best_isa(), M, cout);
  const int NR = kr.nr;
  const int64_t padded = ceil_div(cout, NR) * NR;
  Scratch frame(Scratch::floats(padded * K + padded), "conv2d's packed kernel");
  float* bp = frame.take(padded * K + padded);
  pack_panels(K, cout, kr, bp, [&](int64_t jp, float* dst) {
    gemm::pack_b(kr, false, K, std::min<int64_t>(NR, cout - jp * NR), kernel + jp * NR, cout, dst);
  });
  float* biasp = nullptr;
  if (bias) {
    biasp = bp + padded * K;
    std::copy(bias, bias + cout, biasp);
    std::fill(biasp + cout, biasp + padded, 0.0f);
  }
  implicit_conv(kr, g, cout, x, bp, biasp, y);
}

}  // namespace

bool conv2d_uses_winograd(const Window2d& g, int64_t cout, bool input_gradient) {
  return conv2d_path(g, cout, input_gradient ? ConvPass::input_gradient : ConvPass::forward) == ConvPath::winograd;
}

ConvPath conv2d_path(const Window2d& g, int64_t cout, ConvPass pass) {
  if (is_pointwise(g)) return ConvPath::pointwise;
  if (pass != ConvPass::input_gradient) {
    if (winograd_applies(g, cout)) return ConvPath::winograd;
    return direct_applies(g, cout, pass == ConvPass::forward) ? ConvPath::direct : ConvPath::implicit_gemm;
  }
  const bool stride1 = g.sh == 1 && g.sw == 1;
  if (stride1 && winograd_applies(input_gradient_window(g, cout), g.c)) return ConvPath::winograd;
  if (direct_applies(g, cout, false)) return ConvPath::direct;
  return stride1 ? ConvPath::implicit_gemm : ConvPath::col2im;
}

const char* conv2d_path_name(ConvPath path) {
  switch (path) {
    case ConvPath::pointwise: return "pointwise";
    case ConvPath::winograd: return "winograd";
    case ConvPath::direct: return "direct";
    case ConvPath::implicit_gemm: return "implicit_gemm";
    case ConvPath::col2im: return "col2im";
  }
  return "?";
}

void conv2d_forward(const Window2d& g, int64_t cout, const float* x, const float* kernel,
                    const float* bias, float* y) {
  // mul_sat: with no output the window may be huge (an empty kernel), and nothing below runs
  const int64_t M = g.n * g.ho * g.wo, K = mul_sat(mul_sat(g.kh, g.kw), g.c);
  if (M == 0 || cout == 0) return;
  if (K == 0) {  // no input channels: only the bias remains
    for (int64_t r = 0; r < M; ++r)
      for (int64_t c = 0; c < cout; ++c) y[r * cout + c] = bias ? bias[c] : 0.0f;
    return;
  }
  switch (conv2d_path(g, cout, ConvPass::forward)) {
    case ConvPath::pointwise: return gemm_bias(M, K, cout, x, kernel, bias, y);
    case ConvPath::winograd:
      return winograd_conv3x3(g, cout, x, Taps3x3{kernel, 3 * g.c * cout, g.c * cout, cout, 1}, bias, y);
    case ConvPath::direct: return direct_conv_forward(g, cout, x, kernel, bias, y);
    default: return implicit_forward(g, cout, x, kernel, bias, y);
  }
}

namespace {

// Rows of dy per block of the fused 1x1 backward: a block of dy (rows x cout) and of x (rows x cin)
// stay in L2 between its two GEMMs.
constexpr int64_t kPointwiseBlockFloats = 64 * 1024;

// A 1x1 stride-1 backward with dx: dx = dy kernel^T and dkernel = x^T dy block by block of rows, so
// that each block of dy, read once from memory, serves both GEMMs (two whole-size GEMMs read all of dy
// twice: 26 MB each time at ResNet's res2 1x1). Threads take runs of blocks, each summing its dkernel
// into its own partial; the partials are added in chunk order (the same sums on every run).
void pointwise_backward(int64_t M, int64_t cin, int64_t cout, const float* dy, const float* x, const float* kernel,
                        float* dx, float* dkernel) {
  const int64_t rows = std::max<int64_t>(64, kPointwiseBlockFloats / (cin + cout) / 64 * 64);
  const int64_t blocks = ceil_div(M, rows), size = cin * cout;
  const int64_t grain = std::max<int64_t>(1, grain_for(rows * (cin + cout)));
  const int chunks = parallel_chunks(blocks, grain);
  const PackedB kt = sgemm_pack_b(best_isa(), true, cout, cin, kernel, cout, rows);  // op(B) = kernel^T
  Scratch frame(Scratch::floats(mul_sat(chunks - 1, size)), "conv2d's 1x1 kernel gradient partials");
  float* partial = frame.take(mul_sat(chunks - 1, size));
  parallel_for_chunks(0, blocks, grain, [&](int t, int64_t b0, int64_t b1) {
    float* dk = t == 0 ? dkernel : partial + (t - 1) * size;
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * rows, n = std::min(rows, M - r0);
      sgemm_packed(false, n, 1.0f, dy + r0 * cout, cout, kt, 0.0f, dx + r0 * cin, cin);
      sgemm(true, false, cin, cout, n, 1.0f, x + r0 * cin, cin, dy + r0 * cout, cout, b == b0 ? 0.0f : 1.0f, dk,
            cout);
    }
  });
  for (int t = 1; t < chunks; ++t) {
    const float* src = partial + (t - 1) * size;
    for (int64_t i = 0; i < size; ++i) dkernel[i] += src[i];
  }
}

}  // namespace

void conv2d_backward(const Window2d& g, int64_t cout, const float* dy, const float* x,
                     const float* kernel, float* dx, float* dkernel, float* dbias) {
  const int64_t M = g.n * g.ho * g.wo, K = mul_sat(mul_sat(g.kh, g.kw), g.c);
  if (dbias) column_sums(dy, M, cout, dbias);  // (a pass over all of dy: 26 MB at ResNet's res2 1x1)
  if (K == 0) return;  // dx and dkernel are empty
  if (M == 0 || cout == 0) {
    std::fill(dkernel, dkernel + K * cout, 0.0f);
    if (dx) std::fill(dx, dx + g.n * g.h * g.w * g.c, 0.0f);
    return;
  }
  if (dx && conv2d_path(g, cout, ConvPass::kernel_gradient) == ConvPath::pointwise)
    return pointwise_backward(M, K, cout, dy, x, kernel, dx, dkernel);
  switch (conv2d_path(g, cout, ConvPass::kernel_gradient)) {
    case ConvPath::pointwise: sgemm(true, false, K, cout, M, 1.0f, x, K, dy, cout, 0.0f, dkernel, cout); break;
    case ConvPath::winograd: winograd_kernel_gradient(g, cout, x, dy, dkernel); break;
    case ConvPath::direct: direct_kernel_gradient(g, cout, x, dy, dkernel); break;
    default: weight_gradient(g, cout, dy, x, dkernel);
  }
  if (!dx) return;
  switch (conv2d_path(g, cout, ConvPass::input_gradient)) {
    case ConvPath::pointwise: return sgemm(false, true, M, K, cout, 1.0f, dy, cout, kernel, cout, 0.0f, dx, K);
    case ConvPath::winograd: return input_gradient_winograd(g, cout, dy, kernel, dx);
    case ConvPath::direct: return direct_input_gradient(g, cout, dy, kernel, dx);
    case ConvPath::col2im: return input_gradient_col2im(g, cout, dy, kernel, dx);
    default: return input_gradient_stride1(g, cout, dy, kernel, dx);
  }
}

}  // namespace forgenet
