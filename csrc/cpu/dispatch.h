// The one way to write a kernel per instruction set and call the best build of it.
//
// A per-ISA source (say pooling_kernels.cpp) is listed in CMakeLists.txt with
// forgenet_add_isa_source(); CMake compiles it once per ISA (generic, and on x86 avx2 and avx512, or
// up to the ISA its UPTO names) with that ISA's flags and FORGENET_ISA_KIND = 0 / 1 / 2. The source
// includes this header and defines its kernels inside `namespace forgenet::FORGENET_ISA_NS`, where
// `kIsa` is the ISA being compiled and `V` its vector traits (simd/vec.h); plain loops there are
// widened by the compiler to the ISA at hand, and hand-vectorised code is written once over V.
//
// Callers see the kernels through a header that declares them once for every ISA:
//   FORGENET_ISA_DECLARE(void max_pool2d_forward(const Window2d& g, const float* x, float* y))
// and call the best build the CPU runs, capped by FORGENET_ISA (cpu_features.h):
//   FORGENET_ISA_CALL(max_pool2d_forward, g, x, y);       // for sources built for all three ISAs
//   FORGENET_ISA_CALL_UPTO_AVX2(max_pool2d_forward, ...);  // for sources listed with UPTO avx2
// or the build for a given ISA (gemm: a PackedB made for one ISA is read by that ISA's kernels):
//   FORGENET_ISA_CALL_FOR(isa, gemm_kernel_set, &list);
// or take the address of the best build of a function or table once, before a loop:
//   const FwdFn fwd = FORGENET_ISA_PICK(lstm_fwd_rows);
// Off x86 only the generic build exists and the macros pick it.
//
// Rules for per-ISA sources. They hold leaf loops: threads (parallel.h) and memory (Scratch) stay with
// the caller, compiled once. Everything they define lives in FORGENET_ISA_NS or an anonymous
// namespace, and the header code they use is static, always inlined or in an anonymous namespace
// (simd/vec.h, common/activations.h; no std::min and friends): an inline function with external
// linkage compiled with AVX-512 could otherwise be the copy the linker keeps for a generic caller.
#pragma once

#include "cpu/cpu_features.h"

#define FORGENET_ISA_DECLARE(...)  \
  namespace forgenet::isa_generic { \
  __VA_ARGS__;                      \
  }                                 \
  namespace forgenet::isa_avx2 {    \
  __VA_ARGS__;                      \
  }                                 \
  namespace forgenet::isa_avx512 {  \
  __VA_ARGS__;                      \
  }

#if defined(FORGENET_X86)
#define FORGENET_ISA_PICK(name)                                                                    \
  (::forgenet::best_isa() == ::forgenet::Isa::avx512 ? &::forgenet::isa_avx512::name            \
   : ::forgenet::best_isa() == ::forgenet::Isa::avx2 ? &::forgenet::isa_avx2::name              \
                                                     : &::forgenet::isa_generic::name)
#define FORGENET_ISA_CALL(fn, ...)                                                   \
  (::forgenet::best_isa() == ::forgenet::Isa::avx512 ? ::forgenet::isa_avx512::fn(__VA_ARGS__) \
   : ::forgenet::best_isa() == ::forgenet::Isa::avx2 ? ::forgenet::isa_avx2::fn(__VA_ARGS__)   \
                                                     : ::forgenet::isa_generic::fn(__VA_ARGS__))
#define FORGENET_ISA_CALL_UPTO_AVX2(fn, ...)                                                        \
  (::forgenet::best_isa() != ::forgenet::Isa::generic ? ::forgenet::isa_avx2::fn(__VA_ARGS__) \
                                                      : ::forgenet::isa_generic::fn(__VA_ARGS__))
#define FORGENET_ISA_CALL_FOR(isa, fn, ...)                                          \
  ((isa) == ::forgenet::Isa::avx512 ? ::forgenet::isa_avx512::fn(__VA_ARGS__) \
   : (isa) == ::forgenet::Isa::avx2 ? ::forgenet::isa_avx2::fn(__VA_ARGS__)   \
                                    : ::forgenet::isa_generic::fn(__VA_ARGS__))
#else
#define FORGENET_ISA_PICK(name) (&::forgenet::isa_generic::name)
#define FORGENET_ISA_CALL(fn, ...) (::forgenet::isa_generic::fn(__VA_ARGS__))
#define FORGENET_ISA_CALL_UPTO_AVX2(fn, ...) (::forgenet::isa_generic::fn(__VA_ARGS__))
#define FORGENET_ISA_CALL_FOR(isa, fn, ...) ((void)(isa), ::forgenet::isa_generic::fn(__VA_ARGS__))
#endif

// Inside a per-ISA source: the namespace of this build, its ISA and its vector traits.
#if defined(FORGENET_ISA_KIND)
#include "cpu/simd/vec.h"
#if FORGENET_ISA_KIND == 0
#define FORGENET_ISA_NS isa_generic
#elif FORGENET_ISA_KIND == 1
#define FORGENET_ISA_NS isa_avx2
#elif FORGENET_ISA_KIND == 2
#define FORGENET_ISA_NS isa_avx512
#else
#error "FORGENET_ISA_KIND must be 0 (generic), 1 (avx2) or 2 (avx512)"
#endif
namespace forgenet::FORGENET_ISA_NS {
constexpr Isa kIsa = static_cast<Isa>(FORGENET_ISA_KIND);
using V = simd::Vec<kIsa>;
}  // namespace forgenet::FORGENET_ISA_NS
#endif
