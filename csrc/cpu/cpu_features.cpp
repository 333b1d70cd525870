#include "cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace forgenet {

static Isa detect() {
#if defined(FORGENET_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  Isa found = Isa::generic;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) found = Isa::avx2;
  if (found == Isa::avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    found = Isa::avx512;
#else
  Isa found = Isa::generic;
#endif
  if (const char* cap = std::getenv("FORGENET_ISA")) {
    Isa want = found;
    if (!std::strcmp(cap, "generic")) want = Isa::generic;
    else if (!std::strcmp(cap, "avx2")) want = Isa::avx2;
    else if (!std::strcmp(cap, "avx512")) want = Isa::avx512;
    if (static_cast<int>(want) < static_cast<int>(found)) found = want;
  }
  return found;
}

Isa best_isa() {
  static const Isa isa = detect();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace forgenet
