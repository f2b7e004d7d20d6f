#!/usr/bin/env bash
# Browser tests: the chat page, the chat shared by two processes through
# Redis and NATS, and a WebSocket over HTTP/2 to sockeye-hyper's axum-echo.
# Installs what is missing (Debian's chromium, redis-server and nats-server,
# playwright-core from the lockfile), builds the sockeye binary and the
# axum-echo example and runs
# `node --test chat.test.mjs chat_scale.test.mjs http2.test.mjs`.
# Writes docs/chat.png at the workspace root (or SOCKEYE_SCREENSHOT, for a
# run that should leave the tree untouched).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
    echo "run.sh: installing chromium (Debian package)" >&2
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "run.sh: installing nodejs and npm (Debian packages)" >&2
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
fi

for broker in redis-server nats-server; do
    if ! command -v "$broker" >/dev/null && [ ! -x "/usr/sbin/$broker" ]; then
        echo "run.sh: installing $broker (Debian package)" >&2
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$broker"
    fi
done
export PATH="$PATH:/usr/sbin"

cd "$here"
if [ ! -d node_modules/playwright-core ]; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
fi

if [ -z "${SOCKEYE_BIN:-}" ]; then
    (cd "$root" && cargo build -p sockeye-cli)
fi
if [ -z "${AXUM_ECHO_BIN:-}" ]; then
    (cd "$root" && cargo build -p sockeye-hyper --features axum --example axum-echo)
fi

exec node --test chat.test.mjs chat_scale.test.mjs http2.test.mjs
