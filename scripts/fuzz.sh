#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-19, ASan and UBSan, and runs each
# for SECONDS (default 60), JOBS at a time (default 2). New corpus entries are kept in
# $QWEN3C_FUZZ_WORK (default /tmp/qwen3c-fuzz), outside the repository; the repository's
# seeds (tests/fuzz/corpus) are read, never written. Exits non-zero if any target found a
# crash, a leak or a timeout; its input is left in the work folder (crash-*, leak-*,
# timeout-*) to be fixed and added to the ordinary tests.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   QWEN3C_FUZZ_JOBS=2 scripts/fuzz.sh 300        # the long run before resolving
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
jobs=${QWEN3C_FUZZ_JOBS:-2}
work=${QWEN3C_FUZZ_WORK:-/tmp/qwen3c-fuzz}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(config_json safetensors_header sharded_index tokenizer_json tokenizer_encode tokenizer_decode artifact
           chat_request tool_call)
fi

echo "== fuzz targets: build (clang-19, -fsanitize=fuzzer,address,undefined) =="
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQWEN3C_FUZZ=ON \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 > /dev/null
cmake --build build-fuzz -j "$(nproc)" --target $(printf '%s_fuzz ' "${targets[@]}")

# The artifact target's seed: a small random-weight artifact, made by the release build
# when there is one (artifacts are not kept in the repository).
mkdir -p "$work/seeds/artifact"
if [ -x build/tools/qwen3c ] && [ ! -s "$work/seeds/artifact/tiny-random.q3c" ]; then
  build/tools/qwen3c compile tests/data/models/qwen3-tiny/config.json --random-weights --seed 1 \
    -o "$work/seeds/artifact/tiny-random.q3c" 2> /dev/null || true
fi

run_target() {
  local t=$1 corpus=$work/corpus/$1 log=$work/$1.log
  mkdir -p "$corpus" "$work/findings/$t"
  local seeds=(tests/fuzz/corpus/$t)
  [ -d tests/fuzz/corpus/$t ] || seeds=()
  [ -d "$work/seeds/$t" ] && seeds+=("$work/seeds/$t")
  local dict=()
  case $t in config_json|sharded_index|tokenizer_json|artifact|safetensors_header|chat_request|tool_call)
    dict=(-dict=tests/fuzz/json.dict) ;;
  esac
  # -rss_limit_mb: the tokenizer targets hold the real vocabulary (about 0.5 GB with ASan).
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build-fuzz/tests/fuzz/${t}_fuzz" "$corpus" "${seeds[@]}" "${dict[@]}" -max_total_time="$seconds" \
      -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/findings/$t/" > "$log" 2>&1; then
    echo "$t: ok, $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions," \
         "coverage $(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)," \
         "corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "$t: FAILED (see $log and $work/findings/$t/)"
    grep -E "ERROR|SUMMARY|unexpected exception" "$log" | head -5
    return 1
  fi
}

echo "== fuzzing ${#targets[@]} targets for ${seconds}s each, $jobs at a time (work: $work) =="
failed=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_target "$t" & pids+=($!); names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
