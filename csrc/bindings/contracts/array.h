// The neutral description of an array argument that every family's contract checks. Both adapters
// produce it: bindings/numpy_array.h from a numpy array (forgenet._C), bindings/cuda/device_array.cpp
// from __cuda_array_interface__ (forgenet._cuda). A contract sees only this, so both devices accept
// the same arrays and refuse the others with the same words.
//
// dtype is classified by kind, item size and byte order (never by object identity, which a dtype that
// came through pickle fails): '<f4' on a little-endian host is F32, '>f4' is `Other` with its own name.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/checked.h"
#include "common/errors.h"

namespace forgenet::contract {

using Shape = std::vector<int64_t>;

enum class DType { F32, I64, Other };

struct ArrayDesc {
  DType dtype = DType::Other;
  std::string dtype_name;  // 'float32', 'int64', 'float64', 'float32 (big-endian)', ...
  Shape shape;
  bool contiguous = true;  // C order (size-1 axes and empty arrays count as contiguous)
  bool writeable = true;
  const void* data = nullptr;
  int64_t itemsize = 4;

  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[static_cast<size_t>(i < 0 ? i + ndim() : i)]; }
  int64_t size() const {  // fits: an existing array's element count always does
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

inline std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

inline const char* dtype_word(DType t) { return t == DType::F32 ? "float32" : t == DType::I64 ? "int64" : "?"; }

// The dtype from (kind, item size, byte order) as numpy and __cuda_array_interface__ spell them:
// order '<' little, '>' big, '=' native, '|' not applicable.
inline DType classify(char kind, int64_t itemsize, char order, std::string* name) {
  static const bool little = [] {
    const uint16_t one = 1;
    return *reinterpret_cast<const unsigned char*>(&one) == 1;
  }();
  const bool native = order == '=' || order == '|' || (order == '<') == little;
  std::string base;
  switch (kind) {
    case 'f': base = itemsize == 2 ? "float16" : "float" + std::to_string(8 * itemsize); break;
    case 'i': base = "int" + std::to_string(8 * itemsize); break;
    case 'u': base = "uint" + std::to_string(8 * itemsize); break;
    case 'b': base = "bool"; break;
    case 'c': base = "complex" + std::to_string(8 * itemsize); break;
    case 'O': base = "object"; break;
    case 'V': base = "void" + std::to_string(8 * itemsize) + " (bfloat16 or a record)"; break;
    default: base = std::string("kind '") + kind + "' of " + std::to_string(itemsize) + " bytes";
  }
  if (!native && itemsize > 1) base += order == '>' ? " (big-endian)" : " (little-endian)";
  if (name) *name = base;
  if (!native && itemsize > 1) return DType::Other;
  if (kind == 'f' && itemsize == 4) return DType::F32;
  if (kind == 'i' && itemsize == 8) return DType::I64;
  return DType::Other;
}

// dtype, rank (-1: any) and contiguity, in that order; the messages every family shares.
inline void require(const ArrayDesc& a, const char* op, const char* name, DType dtype, int rank) {
  if (a.dtype != dtype) {
    if (a.dtype_name.find("endian") != std::string::npos)
      type_error(op, ": ", name, " must be ", dtype_word(dtype), " in native byte order, got ", a.dtype_name,
                 " (convert with .astype('", dtype_word(dtype), "'))");
    type_error(op, ": ", name, " must be ", dtype_word(dtype), ", got ", a.dtype_name);
  }
  if (rank >= 0 && a.ndim() != rank) value_error(op, ": ", name, " must have rank ", rank, ", got shape ", shape_str(a.shape));
  if (!a.contiguous) value_error(op, ": ", name, " must be C-contiguous");
}

// Shape equality with the usual message.
inline void require_shape(const ArrayDesc& a, const char* op, const char* name, const Shape& want,
                          const char* why = nullptr) {
  if (a.shape != want)
    value_error(op, ": ", name, " must have shape ", shape_str(want), why ? " " : "", why ? why : "", ", got ",
                shape_str(a.shape));
}

// Whether two arrays' memory ranges intersect (empty arrays never do).
inline bool overlaps(const ArrayDesc& a, const ArrayDesc& b) {
  const int64_t na = a.size() * a.itemsize, nb = b.size() * b.itemsize;
  if (na == 0 || nb == 0 || !a.data || !b.data) return false;
  const auto p = reinterpret_cast<uintptr_t>(a.data), q = reinterpret_cast<uintptr_t>(b.data);
  return p < q + static_cast<uintptr_t>(nb) && q < p + static_cast<uintptr_t>(na);
}

// A caller's output buffer (out=): float32, C-contiguous, writeable, exactly the output's shape, and
// sharing no memory with any input (the kernels read their inputs while writing outputs). `name` is
// how messages call it, e.g. "out" or "out[1] (h_T)".
inline void require_out(const ArrayDesc& o, const char* op, const std::string& name, const Shape& shape,
                        const std::vector<const ArrayDesc*>& inputs, const std::vector<std::string>& input_names) {
  require(o, op, name.c_str(), DType::F32, static_cast<int>(shape.size()));
  if (o.shape != shape) value_error(op, ": ", name, " must have shape ", shape_str(shape), ", got ", shape_str(o.shape));
  if (!o.writeable) value_error(op, ": ", name, " must be writeable");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i] && overlaps(o, *inputs[i]))
      value_error(op, ": ", name, " must not share memory with ", input_names[i], " (the op reads it while writing)");
}

// Element count of a shape the op is about to allocate, checked (its bytes too) against int64.
inline int64_t output_size(const char* op, const char* name, const Shape& shape, int64_t itemsize = 4) {
  const int64_t n = checked_product(op, name, shape);
  checked_mul(op, name, n, itemsize);
  return n;
}

}  // namespace forgenet::contract
