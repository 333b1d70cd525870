// Contract of the fused optimizer updates (both devices): every array float32, C-contiguous and of the
// weight's shape; the written ones writeable and overlapping no other argument (a hidden copy would
// lose the update, an overlap would corrupt it).
#pragma once

#include <cstdint>
#include <vector>

#include "bindings/contracts/array.h"

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

}  // namespace forgenet::contract
