#!/usr/bin/env bash
# Bundles a build's dpserve with the shared libraries it needs (and nginx + wrk for the router
# benchmark) into one folder that runs on another x86-64 Linux host with a newer glibc, e.g. a
# quiet many-core machine for benchmarks. glibc itself is not bundled.
#
# usage: bench/portable.sh [BUILD_DIR] [OUT_DIR]      (default: build, build-portable)
# then, on the other host:  OUT_DIR/env.sh bench/router/router_overhead.sh --dpserve OUT_DIR/bin/dpserve
set -euo pipefail

build=${1:-build}
out=${2:-build-portable}
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
cp "$build/dpserve" "$out/bin/"
for tool in /usr/sbin/nginx /usr/bin/wrk; do
  [[ -x $tool ]] && cp "$tool" "$out/bin/"
done
for bin in "$out"/bin/*; do
  ldd "$bin" | awk '$3 ~ /^\// {print $3}'
done | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;;  # the host's glibc
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done
# The big BLAS/oneDNN libraries compress about 4x; the wrapper unpacks them on first use.
tar -C "$out" -cJf "$out/lib.tar.xz" lib
rm -rf "$out/lib"
cat >"$out/env.sh" <<'WRAP'
#!/usr/bin/env bash
# Runs a command with the bundled binaries first on PATH and the bundled libraries loadable.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -d $here/lib ]] || tar -C "$here" -xJf "$here/lib.tar.xz"
export PATH="$here/bin:$PATH" LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$@"
WRAP
chmod +x "$out/env.sh"
du -sh "$out"
