#!/usr/bin/env bash
# Installs every Debian package dpserve needs to build, test and benchmark. Idempotent: a second run
# with everything present does no network work.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  clang-14 clang-format-14 clang-tidy-14 libclang-rt-14-dev
  libboost1.81-dev libboost-url1.81-dev
  libsimdjson-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpcre2-dev libopenblas-dev libdnnl-dev
  python3 python3-numpy
  nginx-light wrk procps psmisc

)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js (for the `openai` npm client in tests) is used as found; Debian's nodejs is the fallback.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
