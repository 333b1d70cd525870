// What every tests/cuda_emu/check_*.cpp program shares: random inputs, a tolerance check against
// double-precision results, and the "N passed, M failed" line tests/cuda_emu/test_cuda_emu.py reads.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cuda/api.h"

using Vec = std::vector<float>;
using DVec = std::vector<double>;

inline int passed = 0, failed = 0;
inline std::mt19937 rng(0);

inline Vec randv(size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// got vs want: NaN must match NaN; otherwise |got - want| <= tol * (1 + max |want|).
inline void check(const std::string& what, const Vec& got, const DVec& want, double tol = 1e-4) {
  double scale = 1.0;
  for (double w : want)
    if (std::isfinite(w)) scale = std::max(scale, std::fabs(w));
  if (got.size() != want.size()) {
    std::printf("FAIL %s: size %zu != %zu\n", what.c_str(), got.size(), want.size());
    ++failed;
    return;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const bool gn = std::isnan(got[i]), wn = std::isnan(want[i]);
    const bool ok = (gn || wn) ? (gn && wn) : std::fabs(got[i] - want[i]) <= tol * scale;
    if (!ok) {
      std::printf("FAIL %s: [%zu] got %.8g want %.8g\n", what.c_str(), i, got[i], want[i]);
      ++failed;
      return;
    }
  }
  ++passed;
}

inline void check_ok(const std::string& what, cudaError_t err) {
  if (err != cudaSuccess) {
    std::printf("FAIL %s: error %d\n", what.c_str(), int(err));
    ++failed;
  }
}

// The last line of every checker's output; its exit status.
inline int report() {
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
