#!/usr/bin/env bash
# Checks of the C ABI, for `cargo xtask ci` (run from anywhere):
#
#   1. build the staticlib and the cdylib in release;
#   2. check include/sockeye.h is what cbindgen generates now;
#   3. compile examples/echo_server.c with -Werror against the staticlib;
#   4. run tests/ffi.py (Python ctypes) against the cdylib;
#   5. if $KOSOKU names a kosoku executable, run the Autobahn fuzzingclient
#      cases 1.* to 10.* against the C echo server and require every case to
#      be OK, NON-STRICT or INFORMATIONAL.
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

echo "ffi: compiling examples/echo_server.c with -Werror"
"${CC:-cc}" -std=c11 -O2 -Wall -Wextra -Werror -o "$target/echo_server" \
    "$crate/examples/echo_server.c" -I"$crate/include" \
    "$target/release/libsockeye_ffi.a" -lpthread -ldl -lm

echo "ffi: running tests/ffi.py"
CARGO_TARGET_DIR="$target" python3 "$crate/tests/ffi.py"

if [[ -z "${KOSOKU:-}" ]]; then
    echo "ffi: KOSOKU not set; skipping the Autobahn run" \
        "(python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install kosoku; KOSOKU=/tmp/kvenv/bin/kosoku)"
    exit 0
fi

port="${AUTOBAHN_PORT:-9371}"
reports="$target/autobahn-ffi"
rm -rf "$reports"
"$target/echo_server" "127.0.0.1:$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$fresh"' EXIT
sleep 0.5
echo "ffi: Autobahn fuzzingclient 1.* to 10.* against the C echo server"
"$KOSOKU" -p 2 -o "$reports" -x '12.*' -x '13.*' "127.0.0.1:$port"
python3 - "$reports/index.json" <<'EOF'
import collections, json, sys

index = json.load(open(sys.argv[1]))
counts, failures = collections.Counter(), []
for cases in index.values():
    for case, result in sorted(cases.items()):
        for key in ("behavior", "behaviorClose"):
            if result[key] not in ("OK", "NON-STRICT", "INFORMATIONAL"):
                failures.append(f"{case}: {key} {result[key]}")
        counts[result["behavior"]] += 1
print("ffi: Autobahn", dict(counts))
if failures:
    print("ffi: failing cases:\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(1)
EOF
