// Window arguments (strides, pool_size, padding): the CPU bindings' parsers, so both devices accept
// the same values and say the same thing about bad ones.
#pragma once

#include "bindings/window_args.h"

namespace forgenet::bind::cuda {

using forgenet::bind::index_arg;
using forgenet::bind::padding_arg;
using forgenet::bind::pair_arg;
using forgenet::bind::Pair;

}  // namespace forgenet::bind::cuda
