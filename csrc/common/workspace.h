// Kernel scratch memory that fails cleanly. Every allocation a CPU kernel makes goes through these
// (temporary scratch through Scratch, the per-thread arena at the end), so that a failure (a) is an OutOfMemory naming what was being allocated and its size (the binding adds
// the op's name), (b) leaves the buffer's state consistent (a grow-only buffer never remembers a
// capacity it does not have), and (c) happens before a parallel loop rather than in its chunks (the
// pool rethrows a chunk's exception, but the other chunks' work is then half-done).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include "common/checked.h"
#include "common/errors.h"

namespace forgenet {

// 64-byte aligned floats (n >= 0; zero-filled when asked), or OutOfMemory naming `what`.
inline float* aligned_floats(int64_t n, const char* what, bool zero = false) {
  const int64_t count = (std::max<int64_t>(n, 1) + 15) / 16 * 16;
  const int64_t bytes = bytes_of(count, sizeof(float));
  void* p = bytes > 0 ? std::aligned_alloc(64, static_cast<size_t>(bytes)) : nullptr;
  if (!p) out_of_memory(what, bytes);
  if (zero) std::memset(p, 0, static_cast<size_t>(bytes));
  return static_cast<float*>(p);
}

// An owned aligned block.
struct AlignedBuffer {
  float* p = nullptr;
  AlignedBuffer() = default;
  AlignedBuffer(int64_t n, const char* what, bool zero = true) : p(aligned_floats(n, what, zero)) {}
  ~AlignedBuffer() { std::free(p); }
  AlignedBuffer(AlignedBuffer&& o) noexcept : p(o.p) { o.p = nullptr; }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(p, o.p);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
};

// A grow-only aligned buffer (kept per thread by gemm and conv2d: page faults of fresh megabytes per call
// cost as much as the work). After a failed growth it is empty, never a freed pointer with a capacity.
struct GrowBuffer {
  std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
  int64_t cap = 0;
  float* get(int64_t n, const char* what) {
    if (n > cap) {
      p.reset();
      cap = 0;
      p.reset(aligned_floats(n, what));
      cap = (n + 15) / 16 * 16;
    }
    return p.get();
  }
};

// std::vector<T>(n), or OutOfMemory naming `what` with its size.
template <typename T>
std::vector<T> workspace_vector(int64_t n, const char* what) {
  try {
    return std::vector<T>(static_cast<size_t>(n));
  } catch (const std::bad_alloc&) {
    out_of_memory(what, bytes_of(n, sizeof(T)));
  } catch (const std::length_error&) {
    out_of_memory(what, bytes_of(n, sizeof(T)));
  }
}

// The per-thread scratch arena: a few grow-only aligned blocks per thread, handed out in stacked
// frames, so that a kernel's steady-state calls allocate nothing (page faults of fresh megabytes per
// call cost as much as the work). A frame reserves everything it needs up front, outside any parallel
// region:
//
//   Scratch s(Scratch::floats(c) + Scratch::floats<double>(c), "batch_norm's channel sums");
//   float* a = s.take(c); double* b = s.take<double>(c);
//
// and its pieces (64-byte aligned, contents unspecified) may then be used by every thread of the
// regions that follow, until the frame ends. A frame opened while another is live on the same thread
// (a kernel calling a kernel) goes on after it in the same block, or into the next block when the
// rest is too small (blocks no live frame uses may grow): nesting reuses memory too. Growth failure
// throws OutOfMemory naming `what` and the size; that block is then empty, never a freed pointer with
// a capacity, the frames below are untouched, and the next call works.
class Scratch {
 public:
  // The floats a piece of n elements of T takes in a frame (pieces start on 64 bytes).
  template <typename T = float>
  static int64_t floats(int64_t n) {
    // saturating, so that an absurd size fails as OutOfMemory rather than wrapping to a small one
    const int64_t bytes = mul_sat(std::max<int64_t>(n, 0), static_cast<int64_t>(sizeof(T)));
    const int64_t f = bytes / 4 + (bytes % 4 != 0);
    return f > kMaxSize - 15 ? kMaxSize / 16 * 16 : (f + 15) / 16 * 16;
  }

  Scratch(int64_t total_floats, const char* what)
      : arena_(arena()), saved_block_(arena_.block), saved_used_(arena_.used), what_(what) {
    const int64_t need = std::max<int64_t>(total_floats, 0);
    int b = arena_.block;
    int64_t at = arena_.used;
    if (need > arena_.blocks[b].cap - at) {
      if (at > 0) ++b;  // the current block holds live frames: take the next one
      at = 0;
    }
    if (b < kBlocks) {
      base_ = arena_.blocks[b].get(need, what) + at;  // grows only a block no live frame uses
      arena_.block = b;
      arena_.used = at + need;
    } else {
      own_ = AlignedBuffer(need, what, false);
      base_ = own_.p;
    }
    end_ = need;
  }
  ~Scratch() {
    arena_.block = saved_block_;
    arena_.used = saved_used_;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // The next piece of n elements of T (counted in the reservation with floats<T>(n)).
  template <typename T = float>
  T* take(int64_t n) {
    const int64_t f = floats<T>(n);
    if (next_ + f > end_)
      throw std::logic_error(cat("scratch frame for ", what_, " reserved ", end_, " floats, asked for ", next_ + f));
    T* p = reinterpret_cast<T*>(base_ + next_);
    next_ += f;
    return p;
  }

 private:
  static constexpr int kBlocks = 4;
  struct Arena {
    GrowBuffer blocks[kBlocks];
    int block = 0;     // the block the innermost live frame uses
    int64_t used = 0;  // floats of it in use
  };
  static Arena& arena() {
    thread_local Arena a;
    return a;
  }
  Arena& arena_;
  const int saved_block_;
  const int64_t saved_used_;
  const char* what_;
  AlignedBuffer own_;
  float* base_ = nullptr;
  int64_t end_ = 0, next_ = 0;
};

}  // namespace forgenet
