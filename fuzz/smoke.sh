#!/usr/bin/env bash
# Build every fuzz target once, then run each for a short while from its
# seed corpus. Fails if any target finds a crash, a leak, a timeout or an
# out-of-memory input.
#
#   fuzz/smoke.sh [SECONDS_PER_TARGET]     (default 30)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# New corpus entries go to a temporary directory, so the committed seed
# corpus is read, never written; crashing inputs land in
# fuzz/artifacts/<target>/. Runs one fuzzer at a time.
set -euo pipefail

seconds="${1:-30}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
cd "$(dirname "$0")"

max_len() {
    case "$1" in
        frame_header) echo 64 ;;
        handshake_request | handshake_response | endpoint_server) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

start=$(date +%s)
cargo "+$toolchain" fuzz build
built=$(date +%s)
echo "smoke: built all targets in $((built - start)) s"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in $(cargo "+$toolchain" fuzz list); do
    mkdir -p "$work/$target" "corpus/$target"
    extra=()
    case "$target" in
        handshake_*) extra+=("-dict=dict/http.dict") ;;
    esac
    echo "smoke: $target for ${seconds} s"
    if ! cargo "+$toolchain" fuzz run "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(max_len "$target")" -print_final_stats=1 "${extra[@]}" \
        >"$work/$target.log" 2>&1; then
        failed+=("$target")
        grep -A3 -E 'panicked at|^==[0-9]+==ERROR' "$work/$target.log" || true
        grep -E "Test unit written|^Base64:" "$work/$target.log" || tail -n 40 "$work/$target.log"
    fi
    grep -E '^stat::number_of_executed_units|^Done' "$work/$target.log" || true
done

echo "smoke: total $(($(date +%s) - start)) s"
if ((${#failed[@]})); then
    echo "smoke: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "smoke: all targets passed"
