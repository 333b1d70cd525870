// Run-time CPU feature checks: SIMD variants are compiled into separate files and entered only when the
// CPU has the instructions, so one portable binary serves every x86-64 machine.
#pragma once

namespace forgenet {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

// The best instruction set this CPU supports; FORGENET_ISA=generic|avx2|avx512 caps it (for testing
// every path on one machine).
Isa best_isa();
const char* isa_name(Isa isa);

}  // namespace forgenet
