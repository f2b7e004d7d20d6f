#!/usr/bin/env bash
# Long fuzzing campaigns: run targets one after another, each for a fixed
# time, keeping the corpus in fuzz/corpus/<target>/, and print one Markdown
# table row per target for the record in docs/security.md.
#
#   fuzz/campaign.sh SECONDS [TARGET ...]     (default: every target)
#
# Same limits and dictionaries as the smoke run (fuzz/smoke.sh). Logs go to
# fuzz/campaign-logs/<target>.log. Stops at the first failing target, whose
# input lands in fuzz/artifacts/<target>/.
set -euo pipefail

seconds="${1:?usage: fuzz/campaign.sh SECONDS [TARGET ...]}"
shift
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
cd "$(dirname "$0")"

max_len() {
    case "$1" in
        frame_header) echo 64 ;;
        handshake_request | handshake_response) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

cargo "+$toolchain" fuzz build
targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo "+$toolchain" fuzz list)
fi

mkdir -p campaign-logs
echo "| Target | Duration | Executions | Execs/s | Coverage (edges / features) | Corpus added | Peak RSS | Result |"
echo "|---|---|---|---|---|---|---|---|"
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    before=$(find "corpus/$target" -type f | wc -l)
    extra=()
    case "$target" in
        handshake_*) extra+=("-dict=dict/http.dict") ;;
    esac
    log="campaign-logs/$target.log"
    result="no failure"
    if ! cargo "+$toolchain" fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(max_len "$target")" -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1; then
        result="FAILED (see $log)"
    fi
    after=$(find "corpus/$target" -type f | wc -l)
    stat() { grep -aE "^stat::$1:" "$log" | tail -n 1 | awk '{print $2}'; }
    seconds_run=$(grep -aE '^Done [0-9]+ runs in' "$log" | tail -n 1 | awk '{print $5}')
    last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    echo "| \`$target\` | ${seconds_run:-?} s | $(stat number_of_executed_units) | $(stat average_exec_per_sec) | $cov / $ft | $((after - before)) | $(stat peak_rss_mb) MB | $result |"
    if [[ $result != "no failure" ]]; then
        exit 1
    fi
done
