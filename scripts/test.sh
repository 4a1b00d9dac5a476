#!/usr/bin/env bash
# The full test run, as the README gives it and as CI runs it:
#   1. install the Debian packages the project needs (fast when present),
#   2. configure, build and run every test (ctest),
#   3. build the MLIR-free frontend with ASan+UBSan and run its bad-input suites.
# Set QWEN3C_QUICK=1 to run only tests labelled "quick".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
ctest_args=(--output-on-failure -j "$jobs")
if [ "${QWEN3C_QUICK:-0}" = 1 ]; then ctest_args+=(-L quick); fi

echo "== build (release) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
echo "== tests (release) =="
ctest --test-dir build "${ctest_args[@]}"

echo "== frontend under AddressSanitizer + UndefinedBehaviorSanitizer =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DQWEN3C_FRONTEND_ONLY=ON -DQWEN3C_SANITIZE=ON
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan "${ctest_args[@]}"

echo "== fuzz targets, briefly (scripts/fuzz.sh; the long runs: docs/fuzzing.md) =="
QWEN3C_FUZZ_WORK="${QWEN3C_FUZZ_WORK:-$(mktemp -d)}" bash scripts/fuzz.sh "${QWEN3C_FUZZ_SECONDS:-30}"
