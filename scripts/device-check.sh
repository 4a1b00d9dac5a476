#!/usr/bin/env bash
# Every open GPU check in one run on a lent device (../shared/device/README.md). Prepare here
# with scripts/prepare-device.sh, then from the session's device tool:
#   run(command="bash scripts/device-check.sh", carry=[".device"], timeout_s=560)
# Each step has its own time limit, so one that hangs or fails leaves the others' results.
# Writes under $OUT (what the device tool brings back), else .device/out; afterwards, here:
#   scripts/compare-eval.py OUT/hd128-eval.safetensors tests/data/models/qwen3-hd128/goldens.safetensors
#   scripts/profile-by-matrix.py OUT/profile-q4_0.err
# QUICK=1 runs only the small fixture's steps (to check the script itself on lavapipe).
set -uo pipefail
cd "$(dirname "$0")/.."
dev=.device
out=${OUT:-$dev/out}
mkdir -p "$out"
# The NVIDIA headless ICD and our libvulkan; without the driver the loader finds what it finds.
if [ -f "$dev/vulkan-nvidia-env.sh" ]; then source "$dev/vulkan-nvidia-env.sh" "$dev" 2> "$out/env.err"; fi
export LD_LIBRARY_PATH="$PWD/$dev:${LD_LIBRARY_PATH:-}"
q=$dev/qwen3c-run

step() {  # NAME SECONDS COMMAND...: stdout to NAME.out, stderr to NAME.err, a line to summary.txt
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.out" 2> "$out/$name.err"
  local rc=$?
  echo "$name rc=$rc $((SECONDS - start)) s" | tee -a "$out/summary.txt"
}

step devices 30 "$q" devices
# Correctness against Hugging Face: the hd128 fixture's first golden sequence (300 prompt
# tokens, 16 greedy steps).
ids=$(tr -d ' \n' < "$dev/hd128-ids.txt")
step hd128-eval 60 "$q" eval "$dev/hd128.q3c" --ids "$ids" --steps 16 --out "$out/hd128-eval.safetensors"
if [ "${QUICK:-0}" = 1 ]; then exit 0; fi

# Speed, Qwen3-4B shapes (weights generated on the device from the seed).
for quant in bf16 q8_0 q4_0; do
  step "bench-$quant" 70 "$q" bench "$dev/4b-$quant.q3c" -p 512 -n 128 -r 3 --json
done
# Where a q4_0 step spends its time, dispatch by dispatch (stderr).
step profile-q4_0 45 "$q" bench "$dev/4b-q4_0.q3c" -p 512 -n 32 -r 1 --profile-calls
# Eight sequences decoded together (issue #12) and decode after 8,192 positions (issue #16).
step batched-q4_0 45 "$q" bench "$dev/4b-q4_0.q3c" -p 0 -n 64 -b 8 -r 2 --json
for kv in f16 q8_0; do
  step "depth8192-$kv" 60 "$q" bench "$dev/4b-q4_0.q3c" -p 0 -n 32 -d 8192 --kv-type "$kv" -r 2 --json
done
