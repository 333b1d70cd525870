// Winograd F(2x2, 3x3): the rule that picks it, the plan of one call (block sizes, threads, scratch)
// and the dispatch to the ISA files (conv_winograd_impl.h holds the passes themselves).
#include "cpu/conv_winograd.h"


#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/workspace.h"
#include "cpu/cpu_features.h"
#include "cpu/parallel.h"

namespace forgenet {

namespace {

// Below this many channels on either side the 16 GEMMs are too thin to hide the transforms (Zen 3, one
// thread, 8x28x28 'same', loaded machine: 8 -> 8 channels forward 2x the implicit GEMM's time, 16 -> 16
// 0.58x, forward + backward 0.66x); the seed CNN's first conv (cin = 1) stays on the implicit GEMM.
constexpr int64_t kMinChannels = 16;
// Floats of V and M per thread and block: they stay in L2 (512 KiB on Zen 3, 1-2 MiB on Intel)
// between the input transform, the GEMMs and the output transform.
constexpr int64_t kBlockFloats = 64 * 1024;
// Tiles per block at least, when U is past L2: each float of U streamed per block serves this many
// tiles' multiply-adds (measured on Zen 3, 512 channels: 36 tiles 10% slower, 144 no faster).
constexpr int64_t kMinReuse = 72;
// The same for dkernel, whose dU is read and written per block (not only read, as U is): 4x the tiles
// (by that reasoning; on the loaded machine 72 and 288 measured the same within noise).
constexpr int64_t kMinReuseGradient = 288;
constexpr double kParallelMin = 2.5e5;  // multiply-adds below which one thread runs the call

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

namespace winograd {
int64_t panel_width(Isa isa) { return isa == Isa::avx512 ? 32 : isa == Isa::avx2 ? 16 : 8; }
}  // namespace winograd

bool winograd_applies(const Window2d& g, int64_t cout) {
  if (g.kh != 3 || g.kw != 3 || g.sh != 1 || g.sw != 1) return false;
  if (g.n == 0 || g.ho == 0 || g.wo == 0 || g.c == 0 || cout == 0) return false;
  const char* mode = std::getenv("FORGENET_CONV2D_WINOGRAD");
  if (mode && !std::strcmp(mode, "0")) return false;
  if (mode && !std::strcmp(mode, "1")) return true;
  // the generic build's 4-float vectors do not pay for the transforms (it runs only when forced)
  if (best_isa() == Isa::generic) return false;
  // a 1-wide output wastes half of every 2x2 tile, which eats most of the 2.25x
  return g.c >= kMinChannels && cout >= kMinChannels && g.ho >= 2 && g.wo >= 2;
}

namespace {

// Block sizes and threads of one call over window g (its tiles, scratch not yet attached).
// (split_tiles: threads take blocks of tiles, so the blocks come in whole rounds for them; else they
// split something else and the blocks need not)
winograd::Plan make_plan(const Window2d& g, int64_t cout, int64_t min_reuse, bool split_tiles = true) {
  using namespace winograd;
  Plan p{};
  p.g = g;
  p.cout = cout;
  p.nr = panel_width(best_isa());
  p.coutp = ceil_div(cout, p.nr) * p.nr;
  p.tiles_h = ceil_div(g.ho, 2);
  p.tiles_w = ceil_div(g.wo, 2);
  p.tiles = g.n * p.tiles_h * p.tiles_w;
  const double madds = double(p.tiles) * 16 * g.c * cout;
  p.threads = pool::inside() || madds < kParallelMin ? 1 : pool::max_threads();
  int64_t tb = std::max<int64_t>(kMr, kBlockFloats / (16 * (g.c + p.coutp)) / kMr * kMr);
  if (16 * g.c * p.coutp > kBlockFloats) tb = std::max(tb, min_reuse);  // U / dU past L2: reuse them
  // whole rounds of blocks for the threads, so none waits on a last odd block
  int64_t blocks = ceil_div(p.tiles, tb);
  if (split_tiles) blocks = ceil_div(blocks, p.threads) * p.threads;
  p.tb = ceil_div(ceil_div(p.tiles, blocks), kMr) * kMr;
  p.blocks = ceil_div(p.tiles, p.tb);
  p.threads = static_cast<int>(std::min<int64_t>(p.threads, split_tiles ? p.blocks : p.coutp / p.nr));
  p.v_size = 16 * p.tb * g.c;
  p.m_size = 16 * p.tb * p.coutp;
  return p;
}

// Floats of the per-thread tile blocks (V and M) of plan p.
inline int64_t work_floats(const winograd::Plan& p) { return mul_sat(p.threads, p.v_size + p.m_size); }

// U from the taps, blocks of W input channels split between threads.
void transform_kernel(const winograd::Plan& p, const Taps3x3& taps, float* u) {
  const int64_t w = winograd::panel_width(best_isa()) / 2;
  parallel_for(0, ceil_div(p.g.c, w), grain_for(w * 16 * p.cout), [&](int64_t b0, int64_t b1) {
    FORGENET_ISA_CALL(winograd_transform_kernel, p, taps, u, b0, b1);
  });
}

}  // namespace

void winograd_conv3x3(const Window2d& g, int64_t cout, const float* x, const Taps3x3& taps,
                      const float* bias, float* y) {
  using namespace winograd;
  Plan p = make_plan(g, cout, kMinReuse);
  p.bias = bias;
  const int64_t u_size = mul_sat(mul_sat(16, p.coutp), g.c);
  Scratch frame(Scratch::floats(u_size) + Scratch::floats(work_floats(p)),
                "conv2d's Winograd kernel transform and tiles");
  float* u = frame.take(u_size);
  p.work = frame.take(work_floats(p));
  p.u = u;
  transform_kernel(p, taps, u);
  FORGENET_ISA_CALL(winograd_run, p, x, y);
}

void winograd_kernel_gradient(const Window2d& g, int64_t cout, const float* x, const float* dy, float* dkernel) {
  using namespace winograd;
  Plan p = make_plan(g, cout, kMinReuseGradient);
  const int64_t panels = p.coutp / p.nr;
  // Threads split the tiles, each summing into its own dU (the copies summed in chunk order: the same
  // sums on every run), or, where dU outweighs the tiles, the panels of one dU, each thread then
  // transforming every tile's input. T copies are T x 16 x cinp x coutp floats to write and read back,
  // the repeated input transforms (T - 1) x 16 x tiles x cin cheap ones. Measured on Zen 3 at 2 threads,
  // batch 8, paired runs: 7x7x512 -> 512 (128 tiles) 0.95-0.98x the tile split's time with the panel
  // split, 14x14x256 -> 256 (392 tiles) 1.07-1.08x; more threads make more copies.
  const bool by_panels = p.threads > 1 && p.coutp * p.threads >= 4 * p.tiles && panels >= p.threads;
  if (by_panels) p = make_plan(g, cout, kMinReuseGradient, false);
  const int64_t cinp = ceil_div(g.c, kMr) * kMr, size = mul_sat(16, du_plane(cinp, p.coutp));
  const int64_t grain = by_panels ? panels / p.threads : p.threads > 1 ? 1 : p.blocks;
  const int copies = by_panels ? 1 : parallel_chunks(p.blocks, grain);
  Scratch frame(Scratch::floats(work_floats(p)) + Scratch::floats(mul_sat(copies, size)),
                "conv2d's Winograd tiles and kernel gradients");
  p.work = frame.take(work_floats(p));
  float* du = frame.take(mul_sat(copies, size));
  // one chunk per thread of the plan (one thread: a single chunk), each with its own V and M
  if (by_panels)
    parallel_for_chunks(0, panels, grain, [&](int t, int64_t j0, int64_t j1) {
      FORGENET_ISA_CALL(winograd_kernel_gradient_pass, p, x, dy, cinp, 0, p.blocks, j0, j1,
                        p.work + t * (p.v_size + p.m_size), du);
    });
  else
    parallel_for_chunks(0, p.blocks, grain, [&](int t, int64_t b0, int64_t b1) {
      FORGENET_ISA_CALL(winograd_kernel_gradient_pass, p, x, dy, cinp, b0, b1, 0, panels,
                        p.work + t * (p.v_size + p.m_size), du + t * size);
    });
  // (the copies summed as the untransform reads them: a separate pass over them cost a tenth of a
  // 512-channel backward on Zen 3)
  parallel_for(0, g.c, grain_for(16 * cout * copies), [&](int64_t i0, int64_t i1) {
    FORGENET_ISA_CALL(winograd_untransform_kernel, p, du, copies, cinp, dkernel, i0, i1);
  });
}

}  // namespace forgenet
