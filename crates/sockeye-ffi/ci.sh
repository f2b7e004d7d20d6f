#!/usr/bin/env bash
# Checks of the C ABI, for `cargo xtask ci` (run from anywhere):
#
#   1. build the staticlib and the cdylib in release;
#   2. check include/sockeye.h is what cbindgen generates now;
#   3. compile examples/echo_server.c and examples/autobahn_client.c with
#      -Werror against the staticlib;
#   4. run tests/ffi.py (Python ctypes) against the cdylib;
#
# `cargo xtask ffi` runs this script, then the Autobahn TestSuite against the
# C echo server (target/echo_server) and the C client (target/autobahn_client)
# it built.
#
#   crates/sockeye-ffi/ci.sh --regenerate-header   rewrites the header instead.
#
# Needs cargo, cbindgen (`cargo install cbindgen --locked`), a C compiler
# (`$CC`, default cc) and python3.
set -euo pipefail

crate="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$crate/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$workspace/target}"
header="$crate/include/sockeye.h"

generate_header() {
    (cd "$crate" && cbindgen --quiet --config cbindgen.toml --crate sockeye-ffi --output "$1" .)
}

if [[ "${1:-}" == "--regenerate-header" ]]; then
    generate_header "$header"
    echo "ffi: wrote $header"
    exit 0
fi

echo "ffi: building the staticlib and cdylib (release)"
cargo build --release -p sockeye-ffi --manifest-path "$workspace/Cargo.toml"

echo "ffi: checking that include/sockeye.h is fresh"
if ! command -v cbindgen >/dev/null; then
    echo "ffi: cbindgen not found; install it with: cargo install cbindgen --locked" >&2
    exit 1
fi
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
generate_header "$fresh"
if ! diff -u "$header" "$fresh"; then
    echo "ffi: include/sockeye.h is stale; run crates/sockeye-ffi/ci.sh --regenerate-header" >&2
    exit 1
fi

for example in echo_server autobahn_client; do
    echo "ffi: compiling examples/$example.c with -Werror"
    "${CC:-cc}" -std=c11 -O2 -Wall -Wextra -Werror -o "$target/$example" \
        "$crate/examples/$example.c" -I"$crate/include" \
        "$target/release/libsockeye_ffi.a" -lpthread -ldl -lm
done

echo "ffi: running tests/ffi.py"
CARGO_TARGET_DIR="$target" python3 "$crate/tests/ffi.py"

echo "ffi: ok (the Autobahn runs against target/echo_server and target/autobahn_client are the xtask's ffi step)"
