// A caching allocator for the large, short-lived buffers a training step makes and frees again
// (activations, gradients, im2col columns). glibc serves blocks above its mmap threshold with a fresh
// mmap each time, so every such buffer costs a page fault per 4 KiB on first touch; keeping freed
// blocks for reuse turns a steady-state step's ~1,850 faults into none. Blocks are keyed by size
// (rounded up to 4 KiB); the pool holds at most limit() bytes of free blocks and returns the rest to
// the system. Thread-safe. Blocks carry a small header, so free() and realloc() need no size.
#pragma once
#include <cstddef>
#include <cstdint>

namespace forgenet::pool {

void* allocate(std::size_t bytes, bool zero);   // nullptr when the system has no memory
void* reallocate(void* p, std::size_t bytes);   // nullptr (p untouched) on failure
void release(void* p);                          // p may be nullptr

// While at least one caching scope is open, freed large blocks are kept; with none open they go back
// to the system at once (so memory a training run used is returned when it ends).
void open_scope();
void close_scope();   // the last close also trims the cache

struct Stats {
  std::size_t cached_bytes, cached_blocks, hits, misses, limit_bytes, scopes;
};
Stats stats();
void trim();                      // return every cached block to the system
void set_limit(std::size_t bytes);
constexpr std::size_t kMinCached = 64 * 1024;  // smaller blocks: glibc's arenas already reuse them

}  // namespace forgenet::pool
