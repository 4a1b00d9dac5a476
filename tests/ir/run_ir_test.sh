#!/usr/bin/env bash
# A minimal lit: runs every "// RUN:" line of a textual IR test with %s replaced by the test
# file and the tool names replaced by their paths. Usage: run_ir_test.sh TEST BIN_DIR
set -euo pipefail
test_file=$1
bin_dir=$2
llvm_bin=${LLVM_TOOLS_DIR:-/usr/lib/llvm-19/bin}
ran=0
while IFS= read -r line; do
  cmd=${line#*RUN: }
  cmd=${cmd//%s/$test_file}
  cmd=$(sed -E "s#(^|[| ])qwen3c-opt #\1$bin_dir/tools/qwen3c-opt #g; s#(^|[| ])FileCheck #\1$llvm_bin/FileCheck #g; s#(^|[| ])not #\1$llvm_bin/not #g" <<<"$cmd")
  echo "RUN: $cmd"
  bash -o pipefail -c "$cmd"
  ran=$((ran + 1))
done < <(grep -E '^// RUN: ' "$test_file")
if [ "$ran" -eq 0 ]; then
  echo "$test_file has no RUN lines" >&2
  exit 1
fi
