// The one parallel loop of the CPU kernels. A loop over [begin, end) is cut into at most one
// contiguous chunk per thread, each of at least `grain` indices; with fewer than two grains of work,
// inside another parallel region (no nesting: the outer team already has the cores), or with one
// thread, it runs serially on the calling thread. Callers get the grain from grain_for(), whose
// threshold is the only one: a thread is worth waking for kChunkWork floats of work.
//
// The chunks run on the thread pool (thread_pool.h: whichever thread gets to a chunk first runs it, so
// a thread the machine has not run yet costs the call nothing). Exceptions thrown by fn are caught
// there and the first is rethrown after all chunks ended; chunks not started when one failed do not
// run. fn must not allocate what a failure would leave half-built: allocate before.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "common/workspace.h"
#include "cpu/thread_pool.h"

namespace forgenet {
namespace {  // internal linkage: a copy compiled with AVX-512 flags cannot reach a generic caller

// Floats of work (read or written) one chunk must have for another thread to pay off: waking a team
// costs some microseconds even on a quiet machine, and much more when it is busy.
constexpr int64_t kChunkWork = 16384;

// The grain of a loop whose every index touches `work_per_index` floats.
inline constexpr int64_t grain_for(int64_t work_per_index) {
  return work_per_index >= kChunkWork ? 1 : (kChunkWork + std::max<int64_t>(work_per_index, 1) - 1) /
                                                std::max<int64_t>(work_per_index, 1);
}

// The number of chunks parallel_for cuts n indices into (1: serial), for sizing per-chunk partials.
inline int parallel_chunks(int64_t n, int64_t grain) {
  if (n <= 0) return 1;
  if (pool::inside()) return 1;
  const int64_t by_grain = n / std::max<int64_t>(grain, 1);
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(pool::max_threads(), by_grain)));
}

// fn(chunk, lo, hi) for chunk k < parallel_chunks(end - begin, grain) of [begin, end), chunk k being
// [begin + n*k/chunks, begin + n*(k+1)/chunks): callers may keep per-chunk partials (sized before the
// call) and combine them in chunk order afterwards, deterministically for a given thread count.
template <typename F>
void parallel_for_chunks(int64_t begin, int64_t end, int64_t grain, F&& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int chunks = parallel_chunks(n, grain);
  if (chunks == 1) {
    fn(0, begin, end);
    return;
  }
  struct Job {
    F& fn;
    int64_t begin, n;
  } job{fn, begin, n};
  pool::run(chunks, [](void* ctx, int k, int c) {
    Job& j = *static_cast<Job*>(ctx);
    j.fn(k, j.begin + j.n * k / c, j.begin + j.n * (k + 1) / c);
  }, &job);
}

// fn(k) for k < chunks, on up to `threads` threads (0: pool::max_threads()), each chunk run by
// whichever thread claims it first: for loops whose parts are not an even split of a range.
template <typename F>
void parallel_run(int chunks, int threads, F&& fn) {
  pool::run(chunks, [](void* ctx, int k, int) { (*static_cast<std::remove_reference_t<F>*>(ctx))(k); },
            const_cast<void*>(static_cast<const void*>(&fn)), threads);
}

// fn(k, team) on `team` threads at once, k < team, for bodies that meet at pool::team_barrier(); the
// team may come out smaller than `size` (see pool::team).
template <typename F>
void parallel_team(int size, F&& fn) {
  pool::team(size, [](void* ctx, int k, int team) { (*static_cast<std::remove_reference_t<F>*>(ctx))(k, team); },
             const_cast<void*>(static_cast<const void*>(&fn)));
}

// fn(lo, hi) over the chunks of [begin, end).
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& fn) {
  parallel_for_chunks(begin, end, grain, [&](int, int64_t lo, int64_t hi) { fn(lo, hi); });
}

}  // namespace
}  // namespace forgenet
