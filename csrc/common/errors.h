// The errors every layer of C++ raises, free of Python: kernels, contracts and bindings throw these,
// and each extension module registers one translator (bindings/translate.h) that turns them into
// ValueError, TypeError and MemoryError. Messages name the op and the argument, say what was expected
// and what came; allocation failures say what was being allocated and how many bytes.
#pragma once

#include <cstdint>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

namespace forgenet {

template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}

struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct TypeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A failed allocation with its size and purpose. Derives from std::bad_alloc so that code catching
// that still does; `what()` is the message Python sees (after the op's name).
struct OutOfMemory : std::bad_alloc {
  std::string msg;
  explicit OutOfMemory(std::string m) : msg(std::move(m)) {}
  const char* what() const noexcept override { return msg.c_str(); }
};

template <typename... Parts>
[[noreturn]] void value_error(const Parts&... parts) {
  throw ValueError(cat(parts...));
}

template <typename... Parts>
[[noreturn]] void type_error(const Parts&... parts) {
  throw TypeError(cat(parts...));
}

// "1.5 GiB" for a byte count (a negative count means "more than int64 can hold").
inline std::string bytes_str(int64_t bytes) {
  if (bytes < 0) return "more than 8 EiB";
  const char* unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 6) v /= 1024.0, ++u;
  std::ostringstream s;
  s.precision(u ? 3 : 20);
  s << v << " " << unit[u];
  return s.str();
}

// "cannot allocate 4 GiB (4294967296 bytes) for <what>"; bytes < 0: the size overflowed.
[[noreturn]] inline void out_of_memory(const std::string& what, int64_t bytes) {
  if (bytes < 0) throw OutOfMemory(cat("cannot allocate ", what, ": its size overflows int64"));
  throw OutOfMemory(cat("cannot allocate ", bytes_str(bytes), " (", bytes, " bytes) for ", what));
}

}  // namespace forgenet
