// GEMM internals (BLIS style): the driver in gemm.cpp packs op(A) into MR-row panels and op(B) into
// NR-column panels, then calls one register-blocked micro-kernel per MR x NR tile of C.
#pragma once
#include <cstdint>

#include "cpu/cpu_features.h"

namespace forgenet::gemm {

// C[0:m, 0:n] = alpha * Ap @ Bp + beta * C, for m <= MR, n <= NR (edge tiles store only m x n).
// Ap: k steps of MR floats (a packed row panel), Bp: k steps of NR floats, 64-byte aligned.
// beta == 0 never reads C.
using MicroKernel = void (*)(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc,
                             float alpha, float beta, int m, int n);

struct Kernel {
  const char* name;
  int mr, nr;             // register tile
  int64_t mc, kc, nc;     // cache blocks: Ap is mc x kc (L2), Bp is kc x nc (L2/L3), one Ap panel in L1
  MicroKernel run;
};

// The micro-kernel sgemm uses for an instruction set (avx512 falls back to avx2 to generic).
const Kernel& kernel_for(Isa isa);
const Kernel& kernel_generic();
#if defined(FORGENET_X86)
const Kernel& kernel_avx2();
const Kernel& kernel_avx512();
#endif

}  // namespace forgenet::gemm
