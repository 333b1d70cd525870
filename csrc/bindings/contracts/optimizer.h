// Contract of the fused optimizer updates (both devices): every array float32, C-contiguous and of the
// weight's shape; the written ones writeable and overlapping no other argument (a hidden copy would
// lose the update, an overlap would corrupt it).
#pragma once

#include <cstdint>
#include <vector>

#include "bindings/contracts/array.h"
#include "common/optimizer_math.h"

namespace forgenet::contract {

struct UpdateArg {
  const char* name;
  const ArrayDesc* a;
  bool written;
};

// args[0] is the weight; returns its element count.
inline int64_t update_group(const char* op, const std::vector<UpdateArg>& args) {
  for (const auto& [name, a, written] : args) {
    require(*a, op, name, DType::F32, -1);
    if (written && !a->writeable) value_error(op, ": ", name, " must be writeable (it is updated in place)");
  }
  const ArrayDesc& ref = *args[0].a;
  for (const auto& [name, a, written] : args)
    if (a->shape != ref.shape)
      value_error(op, ": ", name, " must have the shape of ", args[0].name, " ", shape_str(ref.shape), ", got ",
                  shape_str(a->shape));
  const int64_t n = ref.size();
  if (n == 0) return 0;
  const auto bytes = static_cast<uintptr_t>(n) * sizeof(float);
  for (size_t i = 0; i < args.size(); ++i)
    for (size_t j = i + 1; j < args.size(); ++j) {
      if (!args[i].written && !args[j].written) continue;
      const auto p = reinterpret_cast<uintptr_t>(args[i].a->data), q = reinterpret_cast<uintptr_t>(args[j].a->data);
      if (p < q + bytes && q < p + bytes) value_error(op, ": ", args[i].name, " and ", args[j].name, " must not share memory");
    }
  return n;
}

// The fused kinds (common/optimizer_math.h's opt::Kind) by the public op that runs each and its slots' names,
// so that fused_update's messages read as that op's (forgenet.kernels.adagrad_update, ...).
struct FusedKind {
  const char* op;
  const char* slots[2];
};

// kind, the number of constants and of slot arrays, checked; the kind's names.
inline const FusedKind& fused_kind(int kind, size_t consts, bool has_s1) {
  static const FusedKind kinds[opt::kNumKinds] = {
      {"adagrad_update", {"accumulator", nullptr}},       {"adadelta_update", {"accumulated_grad", "accumulated_delta_var"}},
      {"adamax_update", {"m", "u"}},                      {"nadam_update", {"m", "v"}},
      {"lion_update", {"m", nullptr}},                    {"ftrl_update", {"accumulator", "linear"}}};
  if (kind < 0 || kind >= opt::kNumKinds)
    value_error("fused_update: kind must be in [0, ", opt::kNumKinds, "), got ", kind);
  const FusedKind& k = kinds[kind];
  if (static_cast<int>(consts) != opt::kConsts[kind])
    value_error(k.op, ": fused_update kind ", kind, " takes ", opt::kConsts[kind], " constants, got ", consts);
  if (has_s1 != (opt::kSlots[kind] == 2))
    value_error(k.op, ": takes ", opt::kSlots[kind], " slot array", opt::kSlots[kind] == 2 ? "s" : "", ", got ",
                has_s1 ? 2 : 1);
  return k;
}

}  // namespace forgenet::contract
