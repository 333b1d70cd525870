#include "cpu/buffer_pool.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace forgenet::pool {
namespace {

// 64 bytes keep the payload 64-byte aligned for AVX-512 loads, as numpy's own allocations are not.
constexpr std::size_t kHeader = 64;
constexpr std::size_t kPage = 4096;

struct Header {
  std::size_t capacity;  // payload bytes this block can hold
};

std::mutex mu;
std::multimap<std::size_t, void*> free_blocks;  // capacity -> raw block (header included)
std::size_t cached = 0, hits = 0, misses = 0, scopes = 0;
std::size_t limit = std::size_t(2) << 30;

std::size_t round_up(std::size_t n) {
  if (n < kMinCached) return n ? n : 1;
  return (n + kPage - 1) / kPage * kPage;
}

void* raw_new(std::size_t capacity) {
  if (capacity > SIZE_MAX - kHeader) return nullptr;
  void* raw = std::aligned_alloc(kHeader, (capacity + kHeader + kHeader - 1) / kHeader * kHeader);
  if (!raw) return nullptr;
  static_cast<Header*>(raw)->capacity = capacity;
  return raw;
}

void trim_locked(std::size_t keep) {
  // largest first: they cost the most to keep and the least (per byte) to map again
  while (cached > keep && !free_blocks.empty()) {
    auto it = std::prev(free_blocks.end());
    cached -= it->first;
    std::free(it->second);
    free_blocks.erase(it);
  }
}

Header* header_of(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - kHeader); }

}  // namespace

void* allocate(std::size_t bytes, bool zero) {
  std::size_t cap = round_up(bytes);
  void* raw = nullptr;
  if (cap >= kMinCached) {
    std::lock_guard<std::mutex> g(mu);
    auto it = free_blocks.find(cap);
    if (it != free_blocks.end()) {
      raw = it->second;
      cached -= cap;
      free_blocks.erase(it);
      ++hits;
    } else {
      ++misses;
    }
  }
  if (!raw) raw = raw_new(cap);
  if (!raw) return nullptr;
  void* p = static_cast<char*>(raw) + kHeader;
  if (zero) std::memset(p, 0, bytes);
  return p;
}

void release(void* p) {
  if (!p) return;
  Header* h = header_of(p);
  if (h->capacity >= kMinCached) {
    std::lock_guard<std::mutex> g(mu);
    if (scopes > 0 && h->capacity <= limit) {
      free_blocks.emplace(h->capacity, static_cast<void*>(h));
      cached += h->capacity;
      trim_locked(limit);
      return;
    }
  }
  std::free(h);
}

void* reallocate(void* p, std::size_t bytes) {
  if (!p) return allocate(bytes, false);
  Header* h = header_of(p);
  if (bytes <= h->capacity && round_up(bytes) == h->capacity) return p;
  void* q = allocate(bytes, false);
  if (!q) return nullptr;
  std::memcpy(q, p, bytes < h->capacity ? bytes : h->capacity);
  release(p);
  return q;
}

void open_scope() {
  std::lock_guard<std::mutex> g(mu);
  ++scopes;
}

void close_scope() {
  std::lock_guard<std::mutex> g(mu);
  if (scopes > 0 && --scopes == 0) trim_locked(0);
}

Stats stats() {
  std::lock_guard<std::mutex> g(mu);
  return {cached, free_blocks.size(), hits, misses, limit, scopes};
}

void trim() {
  std::lock_guard<std::mutex> g(mu);
  trim_locked(0);
}

void set_limit(std::size_t bytes) {
  std::lock_guard<std::mutex> g(mu);
  limit = bytes;
  trim_locked(limit);
}

}  // namespace forgenet::pool
