#!/usr/bin/env bash
# The end-to-end server tests (server_test.mjs) with the official `openai` npm package,
# installed from the lockfile into the build folder (never into the source tree).
# Usage: run_server_tests.sh BUILD_DIR DATA_DIR
set -euo pipefail
build=$1
data=$2
src=$(cd "$(dirname "$0")" && pwd)
work=$build/server-tests
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/server_test.mjs" "$work/"
if [ ! -d "$work/node_modules/openai" ] || ! cmp -s "$src/package-lock.json" "$work/node_modules/.package-lock.json.copy"; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$src/package-lock.json" "$work/node_modules/.package-lock.json.copy"
fi
"$build/tools/qwen3c" compile "$data/models/qwen3-tiny" -o "$work/tiny.q3c" 2> /dev/null
QWEN3C="$build/tools/qwen3c" ARTIFACT="$work/tiny.q3c" node --test "$work/server_test.mjs"
