#!/usr/bin/env bash
# Incremental in-tree build for development in a checkout or git worktree (no pip install):
#   scripts/dev-build.sh [--no-cuda]
# builds forgenet._C (and _cuda where nvcc is found, unless --no-cuda) in build/dev with cmake, and
# copies the modules into python/forgenet/, so that `PYTHONPATH=python python -m pytest` runs this
# tree's code. Several worktrees can each use their own copy side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
cuda=AUTO
[ "${1:-}" = "--no-cuda" ] && cuda=OFF
pyb=$(python -c "import pybind11; print(pybind11.get_cmake_dir())")
cmake -S . -B build/dev -DCMAKE_BUILD_TYPE=Release -DFORGENET_CUDA=$cuda -Dpybind11_DIR="$pyb" \
      -DPython_EXECUTABLE="$(command -v python)" > build/dev.configure.log 2>&1 \
  || { cat build/dev.configure.log; exit 1; }
cmake --build build/dev -j "${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
cp build/dev/_C*.so python/forgenet/
ls build/dev/_cuda*.so > /dev/null 2>&1 && cp build/dev/_cuda*.so python/forgenet/ || rm -f python/forgenet/_cuda*.so
cp build/dev/_build_info.py python/forgenet/_build_info.py
echo "dev-build: modules copied into python/forgenet (run tests with PYTHONPATH=python)"
