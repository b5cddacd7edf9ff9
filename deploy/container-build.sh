#!/bin/sh
# The one build step of dualsync's container image: deploy/Dockerfile's builder stage runs it,
# and so does .ci/run, so CI builds the binary exactly as the image does.
#
#   deploy/container-build.sh OUT_DIR
#
# Builds the release binary from the committed Cargo.lock (--locked: a lock file that does not
# match Cargo.toml fails the build instead of being rewritten), copies it to OUT_DIR/dualsync
# (out of the target folder, which the Dockerfile keeps in a build cache), and checks that it
# needs no shared library beyond the C library's, which is all the runtime image
# (debian:bookworm-slim) has: TLS is rustls, SQLite is compiled in, the allocator is jemalloc.
set -eu

out="${1:?usage: deploy/container-build.sh OUT_DIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$(dirname "$0")/.."

cargo build --release --locked --bin dualsync
cp "${CARGO_TARGET_DIR:-target}/release/dualsync" "$out/dualsync"

for lib in $(readelf --dynamic "$out/dualsync" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
  case "$lib" in
    libc.so.6 | libm.so.6 | libgcc_s.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-*) ;;
    *)
      echo "container-build: dualsync needs $lib, which the runtime image does not have;" \
        "install it in deploy/Dockerfile's runtime stage or drop the dependency" >&2
      exit 1
      ;;
  esac
done
echo "container-build: $out/dualsync ($("$out/dualsync" --version))"
