// Overflow-safe size arithmetic. Every size a contract admits is computed through these, so that a
// product of dimensions that does not fit int64 is a ValueError naming the op, never a wrapped
// (negative or small) size that a kernel then trusts.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <vector>

#include "common/errors.h"

namespace forgenet {

inline constexpr int64_t kMaxSize = std::numeric_limits<int64_t>::max();

// a * b for a, b >= 0; false when it does not fit.
inline bool mul_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

// a * b saturating at kMaxSize (for heuristics such as "is this worth threads", never for sizes).
inline int64_t mul_sat(int64_t a, int64_t b) {
  int64_t r;
  return mul_fits(a, b, &r) ? r : kMaxSize;
}

// The product of `factors`, or ValueError "op: <what> overflows int64 (a * b * ...)".
inline int64_t checked_product(const char* op, const char* what, const std::vector<int64_t>& factors) {
  int64_t r = 1;
  for (int64_t f : factors) {
    if (f == 0) return 0;  // an empty axis makes any product empty, however large the others
  }
  for (int64_t f : factors) {
    if (!mul_fits(r, f, &r)) {
      std::string expr;
      for (size_t i = 0; i < factors.size(); ++i) expr += (i ? " * " : "") + std::to_string(factors[i]);
      value_error(op, ": ", what, " overflows int64 (", expr, ")");
    }
  }
  return r;
}

inline int64_t checked_mul(const char* op, const char* what, int64_t a, int64_t b) {
  return checked_product(op, what, {a, b});
}

inline int64_t checked_add(const char* op, const char* what, int64_t a, int64_t b) {
  int64_t r;
  if (!add_fits(a, b, &r)) value_error(op, ": ", what, " overflows int64 (", a, " + ", b, ")");
  return r;
}

// Bytes of n elements of `item` bytes, or -1 when that overflows (for allocation messages).
inline int64_t bytes_of(int64_t n, int64_t item) {
  int64_t r;
  return n >= 0 && mul_fits(n, item, &r) ? r : -1;
}

}  // namespace forgenet
