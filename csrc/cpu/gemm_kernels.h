// GEMM internals (BLIS style): the driver in gemm.cpp packs op(A) into MR-row panels and op(B) into
// NR-column panels, then calls one register-blocked micro-kernel per MR x NR tile of C.
#pragma once
#include <cstdint>

#include "cpu/cpu_features.h"

namespace forgenet::gemm {

// C[0:m, 0:n] = alpha * op(A)[0:MR, 0:k] @ Bp + beta * C for m <= MR, n <= NR (edge tiles store only
// m x n). Bp holds k steps of NR floats, 64-byte aligned.
// A is read as a[p * sa + i] (`run`: a packed panel with sa = MR, or a transposed A used in place) or
// as a[i * sa + p] (`run_rows`: a row-major A used in place, sa = lda); A is used in place only for
// full MR-row tiles. beta == 0 never reads C.
using MicroKernel = void (*)(int64_t k, const float* a, int64_t sa, const float* bp, float* c,
                             int64_t ldc, float alpha, float beta, int m, int n);

// dst[p * ldd + r] = src[r * lds + p] for r < 8, p < k: interleaves 8 rows, the transposing half of
// packing (row-major A, transposed B). nullptr: the plain loop.
using Transpose8 = void (*)(int64_t k, const float* src, int64_t lds, float* dst, int64_t ldd);

struct Kernel {
  const char* name;
  int mr, nr;             // register tile
  int64_t mc, kc, nc;     // cache blocks: Ap is mc x kc, Bp is kc x nc (L2); one A panel sits in L1
  MicroKernel run, run_rows;
  Transpose8 transpose8;
};

// The micro-kernel sgemm uses for an (M, N) product with an instruction set (FORGENET_ISA caps
// best_isa()): the set's first tile, unless another pads M x N to over 7% less work.
const Kernel& kernel_for(Isa isa, int64_t m = 1 << 30, int64_t n = 1 << 30);
#if defined(FORGENET_X86)
int kernels_avx2(const Kernel** list);    // sets *list to the set's tiles, returns how many
int kernels_avx512(const Kernel** list);
void transpose8_avx2(int64_t k, const float* src, int64_t lds, float* dst, int64_t ldd);
#endif

}  // namespace forgenet::gemm
