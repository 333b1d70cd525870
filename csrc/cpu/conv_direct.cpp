// The direct path's rule, threads and scratch (conv_direct.h); the loops are in isa/conv_direct_kernels.cpp.
#include "cpu/conv_direct.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/workspace.h"
#include "cpu/conv_source.h"
#include "cpu/parallel.h"

namespace forgenet {

using direct::Args;

bool direct_applies(const Window2d& g, int64_t cout, bool forward) {
  if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1) return false;  // one GEMM on x itself
  if (g.n == 0 || g.ho == 0 || g.wo == 0 || g.c == 0 || cout == 0) return false;
  const char* mode = std::getenv("FORGENET_CONV2D_DIRECT");
  if (mode && !std::strcmp(mode, "0")) return false;
  if (mode && !std::strcmp(mode, "1")) return true;
  const int64_t K = g.kh * g.kw * g.c;
  return K <= direct::kMaxPatch || (forward && g.c <= direct::kWideMaxCin && K <= direct::kWideMaxPatch);
}

namespace {

// Output channels padded to a multiple of every ISA's tile width (two vectors of 16 at most), so the
// kernels load the kernel and the partial gradients without masks.
inline int64_t padded_cout(int64_t cout) { return (cout + 31) / 32 * 32; }

// The scratch frame of one forward or dkernel call: the padded kernel (or the per-chunk gradients),
// the bias, the patch offsets and the padded input chunk.
struct Frame {
  Scratch s;
  float* w;
  float* bias;
  int64_t* koff;
  float* buf;
  Frame(const Window2d& g, int64_t matrix_floats, int64_t coutp, const char* what)
      : s(Scratch::floats(matrix_floats) + Scratch::floats(coutp) + Scratch::floats<int64_t>(g.kh * g.kw * g.c) +
              Scratch::floats(conv::source_floats(g)),
          what),
        w(s.take(matrix_floats)),
        bias(s.take(coutp)),
        koff(s.take<int64_t>(g.kh * g.kw * g.c)),
        buf(s.take(conv::source_floats(g))) {}
};

// Runs body(args, first image, images) over the chunks of images of x (padded copies where needed).
template <typename F>
void over_chunks(const Window2d& g, int64_t cout, int64_t coutp, const float* x, Frame& f, F&& body) {
  const int64_t K = g.kh * g.kw * g.c, step = conv::images_per_chunk(g);
  for (int64_t n0 = 0; n0 < g.n; n0 += step) {
    const int64_t count = std::min(step, g.n - n0);
    const conv::Source s = conv::source(g, x, n0, count, f.buf);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t kh = k / (g.kw * g.c), rest = k % (g.kw * g.c);
      f.koff[k] = kh * s.w * g.c + rest;  // rest = kw * C + c, contiguous within a kernel row
    }
    body(Args{g, cout, coutp, K, s.data, s.h, s.w, f.koff}, n0, count);
  }
}

}  // namespace

void direct_conv_forward(const Window2d& g, int64_t cout, const float* x, const float* kernel, const float* bias,
                         float* y) {
  const int64_t K = g.kh * g.kw * g.c, coutp = padded_cout(cout);
  Frame f(g, K * coutp, coutp, "conv2d's direct kernel and padded input");
  // the kernel as blocks of the tile's width B, each (K, B): a tile walks its block in order
  const int64_t B = FORGENET_ISA_CALL(conv_direct_forward_block);
  for (int64_t j0 = 0; j0 < coutp; j0 += B)
    for (int64_t k = 0; k < K; ++k) {
      float* d = f.w + j0 * K + k * B;
      for (int64_t j = 0; j < B; ++j) d[j] = j0 + j < cout ? kernel[k * cout + j0 + j] : 0.0f;
    }
  if (bias) {
    std::copy(bias, bias + cout, f.bias);
    std::fill(f.bias + cout, f.bias + coutp, 0.0f);
  }
  const float* biasp = bias ? f.bias : nullptr;
  over_chunks(g, cout, coutp, x, f, [&](const Args& a, int64_t n0, int64_t count) {
    float* yc = y + n0 * g.ho * g.wo * cout;
    parallel_for(0, count * g.ho, grain_for(g.wo * (cout + K)), [&](int64_t l0, int64_t l1) {
      FORGENET_ISA_CALL(conv_direct_forward, a, f.w, biasp, l0, l1, yc);
    });
  });
}

void direct_kernel_gradient(const Window2d& g, int64_t cout, const float* x, const float* dy, float* dkernel) {
  const int64_t K = g.kh * g.kw * g.c, coutp = padded_cout(cout), size = K * coutp;
  const int64_t grain = grain_for(g.wo * (cout + K));
  // per-chunk partial gradients, summed in chunk order: the same sums on every run
  const int chunks = parallel_chunks(std::min(conv::images_per_chunk(g), g.n) * g.ho, grain);
  Frame f(g, mul_sat(chunks, size), coutp, "conv2d's direct kernel gradients and padded input");
  std::fill(f.w, f.w + chunks * size, 0.0f);
  over_chunks(g, cout, coutp, x, f, [&](const Args& a, int64_t n0, int64_t count) {
    const float* dyc = dy + n0 * g.ho * g.wo * cout;
    parallel_for_chunks(0, count * g.ho, grain, [&](int k, int64_t l0, int64_t l1) {
      FORGENET_ISA_CALL(conv_direct_kernel_gradient, a, dyc, l0, l1, f.w + k * size);
    });
  });
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < cout; ++c) {
      float s = 0.0f;
      for (int t = 0; t < chunks; ++t) s += f.w[t * size + k * coutp + c];
      dkernel[k * cout + c] = s;
    }
}

void direct_input_gradient(const Window2d& g, int64_t cout, const float* dy, const float* kernel, float* dx) {
  parallel_for(0, g.n * g.h, grain_for(g.w * (g.c + g.kh * g.kw * cout)), [&](int64_t r0, int64_t r1) {
    FORGENET_ISA_CALL(conv_direct_input_gradient, g, cout, dy, kernel, r0, r1, dx);
  });
}

}  // namespace forgenet
