#!/usr/bin/env bash
# Installs every Debian package qwen3c needs to build and test. Idempotent: when all
# packages are already present it only runs dpkg-query and exits.
set -euo pipefail

PACKAGES=(
  cmake ninja-build ccache g++ pkg-config
  llvm-19-dev libmlir-19-dev mlir-19-tools clang-19 libclang-rt-19-dev
  libvulkan-dev mesa-vulkan-drivers libshaderc-dev glslang-dev spirv-tools glslc
  libgtest-dev libgmock-dev libbenchmark-dev
  libxxhash-dev libabsl-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev libcli11-dev libcpp-httplib-dev
  python3 python3-numpy
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
