// GEMM internals (BLIS style): the driver in gemm.cpp packs op(A) into MR-row panels and op(B) into
// NR-column panels, then calls one register-blocked micro-kernel per MR x NR tile of C.
#pragma once
#include <cstdint>

#include "cpu/cpu_features.h"
#include "cpu/dispatch.h"

namespace forgenet::gemm {

// C[0:m, 0:n] = alpha * op(A)[0:MR, 0:k] @ Bp + beta * C for m <= MR, n <= NR (edge tiles store only
// m x n). Bp holds k steps of NR floats, sb floats apart (NR: a packed panel; ldb: a row-major op(B)
// read in place).
// A is read as a[p * sa + i] (`run`: a packed panel with sa = MR, or a transposed A used in place) or
// as a[i * sa + p] (`run_rows`: a row-major A used in place, sa = lda); A is used in place only for
// full MR-row tiles. beta == 0 never reads C.
using MicroKernel = void (*)(int64_t k, const float* a, int64_t sa, const float* bp, int64_t sb, float* c,
                             int64_t ldc, float alpha, float beta, int m, int n);

// dst[p * ldd + r] = src[r * lds + p] for r < rows <= 8, p < k: interleaves up to 8 rows, the
// transposing half of packing (row-major A, transposed B); rows < 8 is fast only with ldd == rows (a
// whole 4- or 6-row panel). nullptr: the plain loop.
using Transpose8 = void (*)(int rows, int64_t k, const float* src, int64_t lds, float* dst, int64_t ldd);

// The implicit-GEMM form (convolution): op(A) is not stored, each of its rows is gathered. Row i's k-th
// element is rows[i][off[q] + p], the q-th of `pieces` runs of len[q] floats taken in order (p <
// len[q]); Bp holds sum(len) steps of NR floats. C[0:m, 0:n] = init + A @ Bp, with init C itself when
// `accumulate`, else bias[0:NR] down every row (bias null: 0). rows[i] for i >= m must be readable.
using GatherKernel = void (*)(const float* const* rows, int pieces, const int64_t* off, const int64_t* len,
                              const float* bp, float* c, int64_t ldc, const float* bias, bool accumulate,
                              int m, int n);

// run / run_rows for a full tile reading B in place (k rows of NR floats, sb apart) that also copy
// each B row they read to bp_out (NR floats a k step, 32-byte aligned): the first tile against a
// B panel packs it for the others while it uses it, so packing costs no pass of its own.
using PackingKernel = void (*)(int64_t k, const float* a, int64_t sa, const float* b, int64_t sb, float* c,
                               int64_t ldc, float alpha, float beta, float* bp_out);

struct Kernel {
  const char* name;
  int mr, nr;             // register tile
  int64_t mc, kc, nc;     // cache blocks: Ap is mc x kc (L2), Bp is kc x nc (L3); one B panel sits in L1
  MicroKernel run, run_rows;
  Transpose8 transpose8;
  GatherKernel gather;
  PackingKernel run_packing_b = nullptr, run_rows_packing_b = nullptr;  // nullptr: pack first
};

// Packs rows [0, k) and columns [0, n) of op(B) into NR-column panels of k steps each, zero-padded
// (NR * k floats per panel, ceil(n / NR) panels): the layout the micro-kernels read.
void pack_b(const Kernel& kr, bool trans, int64_t k, int64_t n, const float* B, int64_t ldb, float* dst);

// Where the micro-kernels read op(B) from for a slab of M rows of C (gemm.cpp says why each): a
// PackedB, B itself (row-major, one row of tiles), one panel packed just before its use (few rows), a
// packed kc x nc block (BLIS's), or (threads splitting rows, plan() only) all of op(B) packed once for
// every thread.
enum class BSource { packed, in_place, sliver, block, shared };
BSource b_source(const Kernel& kr, bool trans_b, int64_t m, bool packed);

// How sgemm runs an M x N x K product: the tile, the threads (1: serial), the dimension they split,
// and where the first thread's slab reads B from. For the path tests and the bench's notes.
struct Plan {
  const Kernel* kernel;
  int threads;
  enum Split { rows, cols, depth } split;
  BSource b;
};
Plan plan(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, bool packed = false,
          const Kernel* kernel = nullptr);

// The micro-kernel sgemm uses for an (M, N) product with an instruction set (FORGENET_ISA caps
// best_isa()): the set's first tile, unless another pads M x N to over 7% less work; the list is in
// order of preference, so a later tile must also pad to over 4% less than an earlier one taken so far.
const Kernel& kernel_for(Isa isa, int64_t m = 1 << 30, int64_t n = 1 << 30);
}  // namespace forgenet::gemm

// Each ISA's set of tiles (isa/gemm_kernels.cpp): sets *list to them, returns how many.
FORGENET_ISA_DECLARE(int gemm_kernel_set(const gemm::Kernel** list))
