#!/usr/bin/env bash
# Regenerate the type stubs of the extension modules (python/forgenet/_C.pyi, _cuda.pyi) from the
# built modules with pybind11-stubgen (pip install pybind11-stubgen); run after changing csrc/bindings
# and scripts/dev-build.sh. tests/adapters/test_packaging.py fails while a stub lists other names than
# its module.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mods=(forgenet._C)
ls python/forgenet/_cuda*.so > /dev/null 2>&1 && mods+=(forgenet._cuda)
(cd python && PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" pybind11-stubgen "${mods[@]}" -o "$out" > /dev/null)
for m in "${mods[@]}"; do
  name=${m#forgenet.}
  cp "$out/forgenet/$name.pyi" "python/forgenet/$name.pyi"
  echo "gen-stubs: python/forgenet/$name.pyi"
done
