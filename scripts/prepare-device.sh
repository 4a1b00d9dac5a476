#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for a run on a lent GPU machine that has a driver but no
# Vulkan loader, compiler or libraries of ours: the runtime-only binary qwen3c-run, the
# shared libraries it needs that are not glibc's, this machine's libvulkan.so.1, the
# artifacts, and the NVIDIA headless environment script. Then, on the device, every open check
# in one run: bash scripts/device-check.sh (or by hand:
#   source .device/vulkan-nvidia-env.sh .device && .device/qwen3c-run bench .device/4b-bf16.q3c)
# Usage: scripts/prepare-device.sh [BUILD_DIR] [ENV_SCRIPT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
env_script=${2:-../shared/device/vulkan-nvidia-env.sh}
out=.device
rm -rf "$out" && mkdir -p "$out"

cmake --build "$build" --target qwen3c qwen3c-run
cp "$build/tools/qwen3c-run" "$out/"
# Everything qwen3c-run loads except the C library itself (the device may have other versions).
ldd "$build/tools/qwen3c-run" | awk '/=> \// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
    *) cp -L "$lib" "$out/" ;;
  esac
done
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$out/"
if [ -f "$env_script" ]; then cp "$env_script" "$out/"; fi

# Qwen3-4B shapes with random weights: generated at load from the seed, so the artifact
# is a few hundred KiB however large the model.
for quant in bf16 q8_0 q4_0; do
  "$build/tools/qwen3c" compile tests/data/configs/Qwen3-4B.json --random-weights --target vulkan \
    --quant "$quant" -o "$out/4b-$quant.q3c"
done
"$build/tools/qwen3c" compile tests/data/models/qwen3-hd128 --target vulkan -o "$out/hd128.q3c"
# The prompt of its first golden sequence, for scripts/device-check.sh (read by
# compare-eval.py's safetensors reader).
python3 - tests/data/models/qwen3-hd128/goldens.safetensors > "$out/hd128-ids.txt" <<'PY'
import runpy, sys
read = runpy.run_path("scripts/compare-eval.py")["read"]
print(",".join(str(i) for i in read(sys.argv[1])["seq0.input_ids"][1]))
PY
du -sh "$out"
