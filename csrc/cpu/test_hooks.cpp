#include "cpu/test_hooks.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "common/errors.h"
#include "common/workspace.h"
#include "cpu/parallel.h"

namespace forgenet {

std::vector<ProbeChunk> parallel_for_probe(int64_t n, int64_t grain, int64_t fail_at) {
  const int chunks = parallel_chunks(n, grain);
  std::vector<ProbeChunk> seen(static_cast<size_t>(chunks), ProbeChunk{-1, 0, 0, 0});
  parallel_for_chunks(0, n, grain, [&](int k, int64_t lo, int64_t hi) {
    std::atomic<int> inner{0};
    parallel_for_chunks(0, 1 << 20, 1, [&](int, int64_t, int64_t) { ++inner; });
    seen[static_cast<size_t>(k)] = ProbeChunk{k, lo, hi, inner.load()};
    if (fail_at >= lo && fail_at < hi) value_error("parallel_for probe: failed at index ", fail_at);
  });
  std::vector<ProbeChunk> ran;
  for (const auto& c : seen)
    if (c.chunk >= 0) ran.push_back(c);
  return ran;
}

std::vector<int> parallel_run_probe(int chunks, int threads) {
  std::vector<std::atomic<int>> runs(static_cast<size_t>(std::max(chunks, 0)));
  std::vector<int> slots(runs.size(), -1);
  parallel_run(chunks, threads, [&](int k) {
    runs[static_cast<size_t>(k)].fetch_add(1);
    slots[static_cast<size_t>(k)] = pool::slot();
  });
  std::vector<int> out;
  for (auto& r : runs) out.push_back(r.load());
  out.insert(out.end(), slots.begin(), slots.end());
  return out;
}

std::vector<int64_t> scratch_probe(int64_t floats, int64_t inner) {
  Scratch outer(Scratch::floats(floats), "the scratch probe's outer frame");
  float* a = outer.take(floats);
  if (floats > 0) std::memset(a, 0, sizeof(float) * static_cast<size_t>(floats));
  std::vector<int64_t> out{reinterpret_cast<int64_t>(a)};
  if (inner > 0) {
    Scratch in(Scratch::floats(inner), "the scratch probe's inner frame");
    float* b = in.take(inner);
    std::memset(b, 1, sizeof(float) * static_cast<size_t>(inner));
    out.push_back(reinterpret_cast<int64_t>(b));
  }
  return out;
}

}  // namespace forgenet
