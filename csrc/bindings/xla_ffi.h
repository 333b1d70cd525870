// The XLA FFI side of forgenet._C (compiled only where jaxlib's FFI headers were found at build time):
// the adapter from XLA's buffers to the contracts' neutral ArrayDesc (bindings/contracts/array.h), the
// loop over the leading axes vmap adds, and the one way every handler turns a contract's or a
// kernel's exception into an XLA FFI error that carries its message. Handlers see buffers in XLA's
// default (row-major, dense) layout, the only one ffi_call asks for here.
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <new>
#include <string>
#include <vector>

#include "bindings/contracts/array.h"
#include "common/errors.h"
#include "xla/ffi/api/ffi.h"

namespace forgenet::xffi {

namespace ffi = xla::ffi;
using contract::ArrayDesc;
using contract::DType;
using contract::Shape;

// XLA's element type as the contracts word it (numpy's names, so both routes say the same thing).
inline const char* dtype_name(ffi::DataType t) {
  switch (t) {
    case ffi::DataType::PRED: return "bool";
    case ffi::DataType::S8: return "int8";
    case ffi::DataType::S16: return "int16";
    case ffi::DataType::S32: return "int32";
    case ffi::DataType::S64: return "int64";
    case ffi::DataType::U8: return "uint8";
    case ffi::DataType::U16: return "uint16";
    case ffi::DataType::U32: return "uint32";
    case ffi::DataType::U64: return "uint64";
    case ffi::DataType::F16: return "float16";
    case ffi::DataType::F32: return "float32";
    case ffi::DataType::F64: return "float64";
    case ffi::DataType::BF16: return "bfloat16";
    case ffi::DataType::C64: return "complex64";
    case ffi::DataType::C128: return "complex128";
    default: return "an element type forgenet does not take";
  }
}

// vmap with vmap_method="expand_dims" prepends the same number of axes to every operand and result: the
// results get the batch sizes, an operand that is not mapped gets size-1 axes. `lead` is that number
// (a result's rank minus the op's own rank for it); the op then runs once per batch index, on each
// operand's slice, a size-1 axis standing for every index (no broadcast copy is made).
struct Batch {
  Shape dims;  // the results' leading axes
  int64_t count = 1;
};

// Buffer b's description with its first `lead` axes removed (data: batch index 0).
inline ArrayDesc describe(const ffi::AnyBuffer& b, size_t lead) {
  ArrayDesc d;
  const ffi::DataType t = b.element_type();
  d.dtype = t == ffi::DataType::F32 ? DType::F32 : t == ffi::DataType::S64 ? DType::I64 : DType::Other;
  d.dtype_name = dtype_name(t);
  const auto dims = b.dimensions();
  for (size_t i = lead; i < dims.size(); ++i) d.shape.push_back(dims[i]);
  d.data = b.untyped_data();
  d.itemsize = static_cast<int64_t>(ffi::ByteWidth(t));
  return d;
}

// One operand or result of a batched call: its description (for the contract) and where each batch
// index's slice starts.
struct Operand {
  ArrayDesc d;
  char* base = nullptr;
  int64_t slice_bytes = 0;
  std::vector<int64_t> step;  // per leading axis: the slice index stride (0 on a size-1 axis)

  Operand() = default;
  Operand(const ffi::AnyBuffer& b, const Batch& batch, const char* op, const char* name) {
    const auto dims = b.dimensions();
    const size_t lead = batch.dims.size();
    if (dims.size() < lead)
      value_error(op, ": ", name, " has rank ", dims.size(), " but the call is batched over ", lead, " axes");
    d = describe(b, lead);
    base = static_cast<char*>(b.untyped_data());
    slice_bytes = d.size() * d.itemsize;
    step.assign(lead, 0);
    int64_t stride = 1;
    for (size_t i = lead; i-- > 0;) {
      if (dims[i] != 1 && dims[i] != batch.dims[i])
        value_error(op, ": ", name, "'s batch axis ", i, " has size ", dims[i], ", the results' ", batch.dims[i]);
      step[i] = dims[i] == 1 ? 0 : stride;
      stride *= dims[i];
    }
  }
  // The slice of batch index `idx` (its multi-index over the leading axes).
  template <typename T = float>
  T* at(const std::vector<int64_t>& idx) const {
    int64_t s = 0;
    for (size_t i = 0; i < idx.size(); ++i) s += idx[i] * step[i];
    return reinterpret_cast<T*>(base + s * slice_bytes);
  }
};

// Integer ids or labels as int64, the kernels' type: forgenet.kernels converts any integer dtype to int64
// before _C (so does this, for JAX's int32 when x64 is off); int64 is read in place, a float or bool
// buffer is left as it is for the contract to refuse in its words.
struct Int64Operand {
  std::vector<int64_t> wide;
  Operand o;

  Int64Operand(const ffi::AnyBuffer& b, const Batch& batch, const char* op, const char* name)
      : o(b, batch, op, name) {
    const ffi::DataType t = b.element_type();
    if (t == ffi::DataType::S64) return;
    const int64_t n = static_cast<int64_t>(b.element_count());
    switch (t) {
      case ffi::DataType::S8: widen(static_cast<const int8_t*>(b.untyped_data()), n); break;
      case ffi::DataType::S16: widen(static_cast<const int16_t*>(b.untyped_data()), n); break;
      case ffi::DataType::S32: widen(static_cast<const int32_t*>(b.untyped_data()), n); break;
      case ffi::DataType::U8: widen(static_cast<const uint8_t*>(b.untyped_data()), n); break;
      case ffi::DataType::U16: widen(static_cast<const uint16_t*>(b.untyped_data()), n); break;
      case ffi::DataType::U32: widen(static_cast<const uint32_t*>(b.untyped_data()), n); break;
      case ffi::DataType::U64: widen(static_cast<const uint64_t*>(b.untyped_data()), n); break;
      default: return;
    }
    o.base = reinterpret_cast<char*>(wide.data());
    o.d.data = o.base;
    o.d.dtype = DType::I64;
    o.d.dtype_name = "int64";
    o.d.itemsize = 8;
    o.slice_bytes = o.d.size() * 8;
  }

 private:
  template <typename T>
  void widen(const T* p, int64_t n) {
    wide.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) wide[k] = static_cast<int64_t>(p[k]);
  }
};

inline Batch batch_of(const ffi::AnyBuffer& result, size_t own_rank) {
  Batch b;
  const auto dims = result.dimensions();
  for (size_t i = 0; i + own_rank < dims.size(); ++i) {
    b.dims.push_back(dims[i]);
    b.count *= dims[i];
  }
  return b;
}

// fn(multi-index) for every batch index, in order.
template <typename F>
void for_each_index(const Batch& b, F&& fn) {
  std::vector<int64_t> idx(b.dims.size(), 0);
  for (int64_t n = 0; n < b.count; ++n) {
    fn(static_cast<const std::vector<int64_t>&>(idx));
    for (size_t i = idx.size(); i-- > 0;) {
      if (++idx[i] < b.dims[i]) break;
      idx[i] = 0;
    }
  }
}

// A result buffer XLA allocated: float32 of exactly the shape the contract derived, sharing no memory
// with an input (contract::require_out's rule and words, named as the _C binding names that output).
inline void require_result(const Operand& r, const char* op, const char* name, const Shape& shape,
                           std::initializer_list<std::pair<const char*, const Operand*>> inputs) {
  std::vector<const ArrayDesc*> d;
  std::vector<std::string> names;
  for (const auto& [n, a] : inputs) names.push_back(n), d.push_back(a ? &a->d : nullptr);
  contract::require_out(r.d, op, name, shape, d, names);
}

// Runs a handler's body: forgenet's exceptions become FFI errors with their message (the Python caller
// sees it inside the JaxRuntimeError), so an FFI call refuses what _C refuses, in the same words.
template <typename F>
ffi::Error guarded(const char* op, F&& body) {
  try {
    body();
    return ffi::Error::Success();
  } catch (const forgenet::TypeError& e) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, cat("TypeError: ", e.what()));
  } catch (const forgenet::ValueError& e) {
    return ffi::Error(ffi::ErrorCode::kInvalidArgument, cat("ValueError: ", e.what()));
  } catch (const forgenet::OutOfMemory& e) {
    return ffi::Error(ffi::ErrorCode::kResourceExhausted, cat("MemoryError: ", op, ": ", e.what()));
  } catch (const std::bad_alloc&) {
    return ffi::Error(ffi::ErrorCode::kResourceExhausted, cat("MemoryError: ", op, ": out of memory for the kernel's workspace"));
  } catch (const std::exception& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, cat(op, ": ", e.what()));
  }
}

}  // namespace forgenet::xffi
