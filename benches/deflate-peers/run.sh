#!/usr/bin/env bash
# permessage-deflate side by side: sockeye, Node `ws` and Python
# `websockets` compress and inflate the same JSON-like corpus, one message at
# a time, with context takeover and without it, at level 6, memory level 8,
# window 15. Prints one Markdown table (MB/s of uncompressed payload, best of
# ROUNDS rounds; compressed bytes over payload bytes).
#
#   benches/deflate-peers/run.sh [ROUNDS] [ROUND_SECONDS]     (default 5 0.4)
#
# Installs `ws` (npm) and `websockets` (pip) under target/deflate-peers/ on
# first use, never globally. Needs node, npm and python3. A benchmark: not
# part of CI, and nothing here asserts a time.
set -euo pipefail

rounds="${1:-5}"
seconds="${2:-0.4}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$target/deflate-peers"
mkdir -p "$work/node"

if [ ! -d "$work/node/node_modules/ws" ]; then
    echo "installing ws into $work/node" >&2
    (cd "$work/node" && echo '{"private":true}' > package.json &&
        npm install --no-audit --no-fund --silent ws@8 >&2)
fi
if [ ! -x "$work/venv/bin/python" ]; then
    echo "installing websockets into $work/venv" >&2
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet websockets >&2
fi

(cd "$root" && cargo build --release --quiet -p sockeye-benches --bin deflate-peers)

corpus="$work/corpus.txt"
results="$work/results.tsv"
"$target/release/deflate-peers" --corpus-out "$corpus" --rounds "$rounds" --round-seconds "$seconds" > "$results"
NODE_PATH="$work/node/node_modules" node "$here/ws.js" "$corpus" "$rounds" "$seconds" >> "$results"
"$work/venv/bin/python" "$here/websockets_peer.py" "$corpus" "$rounds" "$seconds" >> "$results"

ws_version="$(NODE_PATH="$work/node/node_modules" node -p "require('ws/package.json').version")"
node_zlib="$(node -p 'process.versions.zlib')"
py_versions="$("$work/venv/bin/python" -c 'import sys, websockets, zlib; print(f"websockets {websockets.__version__}, Python {sys.version.split()[0]}, zlib {zlib.ZLIB_RUNTIME_VERSION}")')"
payload="$(tr -d '\n' < "$corpus" | wc -c)"
echo "corpus: $(wc -l < "$corpus") messages, $payload bytes (sha256 $(sha256sum "$corpus" | cut -c1-16))"
echo "peers: ws $ws_version (Node $(node --version), zlib $node_zlib); $py_versions"
echo
awk -F '\t' '
    { rate[$2 SUBSEP $1] = $3; ratio[$2 SUBSEP $1] = $4 }
    END {
        n = split("sockeye ws websockets", impl, " ")
        printf "| mode |"
        for (i = 1; i <= n; i++) printf " %s MB/s | %s ratio |", impl[i], impl[i]
        printf " sockeye / ws | sockeye / websockets |\n|---|"
        for (i = 1; i <= n; i++) printf "---|---|"
        printf "---|---|\n"
        split("takeover no_takeover", modes, " ")
        for (m = 1; m <= 2; m++) {
            mode = modes[m]
            printf "| %s |", mode
            for (i = 1; i <= n; i++) printf " %s | %s |", rate[mode SUBSEP impl[i]], ratio[mode SUBSEP impl[i]]
            s = rate[mode SUBSEP "sockeye"]
            printf " %.2f | %.2f |\n", s / rate[mode SUBSEP "ws"], s / rate[mode SUBSEP "websockets"]
        }
    }' "$results"
