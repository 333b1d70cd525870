// Test hooks for the shared CPU machinery (parallel.h, Scratch), bound as forgenet._C._parallel_for_probe
// and _scratch_probe: no kernel exercises every branch of them on demand.
#pragma once
#include <cstdint>
#include <vector>

namespace forgenet {

struct ProbeChunk {
  int64_t chunk, lo, hi;
  int inner_chunks;  // what a parallel_for inside this chunk was cut into (nesting must give 1)
};

// Runs parallel_for_chunks(0, n, grain) and records every chunk; the chunk holding index fail_at (if
// >= 0) throws ValueError inside the region.
std::vector<ProbeChunk> parallel_for_probe(int64_t n, int64_t grain, int64_t fail_at);

// Runs parallel_run(chunks, threads) and returns, per chunk, how many times it ran and (second half)
// the pool slot that ran it last: every chunk must run once, in a slot below the threads asked for.
std::vector<int> parallel_run_probe(int chunks, int threads);

// Opens a Scratch frame of `floats` floats, then (if inner > 0) a nested one of `inner` floats, writes
// both, and returns their addresses (steady-state calls must return the same ones).
std::vector<int64_t> scratch_probe(int64_t floats, int64_t inner);

}  // namespace forgenet
