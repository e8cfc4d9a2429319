#!/usr/bin/env bash
# Runs every azleak fuzz target (fuzz/fuzz_targets/) for a while, one after another, and
# prints the executions and the result of each. Not part of `cargo test`.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 600
#   TARGET              default: all of detect detect_time rules_parse config_parse
#                       baseline_parse report_escape
# Environment:
#   AZLEAK_FUZZ_SKIP    properties not to assert, comma-separated (leak, escape, uri, echo,
#                       time); see README.md "Fuzzing"
#   FUZZ_ARGS           extra libFuzzer arguments, e.g. FUZZ_ARGS="-jobs=2 -workers=2"
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz when it
# is missing. Each target runs with -timeout=1 (an input taking over a second is a hang; 5 for
# rules_parse, 15 for detect_time, whose inputs expand to 2 MiB) and
# -rss_limit_mb=2048. New inputs go to fuzz/corpus-run/<target> (not committed); the committed
# seeds in fuzz/corpus/<target> are read only (regenerate them with `python3 fuzz/seeds.py`).
# Crashes, hangs and out-of-memory inputs are saved under fuzz/artifacts/<target>/; reproduce
# one with `cargo +nightly fuzz run <target> <file>` in fuzz/. Exits 1 if any target failed.

set -uo pipefail

seconds=${1:-600}
shift || true
all=(detect detect_time rules_parse config_parse baseline_parse report_escape)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

max_len() {
    case $1 in
        detect) echo 65536 ;;          # whole files; bigger is detect_time's job
        detect_time) echo 4096 ;;      # a short description that expands to up to 2 MiB
        rules_parse) echo 16384 ;;
        config_parse) echo 8192 ;;
        baseline_parse) echo 16384 ;;
        report_escape) echo 4096 ;;
        *) echo 4096 ;;
    esac
}

# Seconds one input may take. rules_parse compiles whole rule files (the built-in legacy
# pattern alone takes ~0.7 s under AddressSanitizer on a busy machine), so it gets more.
timeout_for() {
    case $1 in
        rules_parse) echo 5 ;;
        # Inputs expand to up to 2 MiB: ~2.8 s under AddressSanitizer on a busy machine (0.05 s
        # in a release build). The target's own bound (5 µs/byte + 50 ms) checks linearity.
        detect_time) echo 15 ;;
        *) echo 1 ;;
    esac
}

cd "$(dirname "$0")/../fuzz" || exit 2
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi
cargo +nightly fuzz build || exit 2

failed=0
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus-run/$target" "corpus/$target" "artifacts/$target"
    log="artifacts/$target/last-run.log"
    stamp="artifacts/$target/.started"
    touch "$stamp"
    echo "=== $target: ${seconds}s, max_len $(max_len "$target")" >&2
    # shellcheck disable=SC2086
    cargo +nightly fuzz run "$target" "corpus-run/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout="$(timeout_for "$target")" -rss_limit_mb=2048 \
        -max_len="$(max_len "$target")" -print_final_stats=1 ${FUZZ_ARGS:-} 2>&1 | tee "$log" >&2
    status=${PIPESTATUS[0]}
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    found=$(find "artifacts/$target" -type f ! -name '*.log' ! -name '.started' -newer "$stamp" | tr '\n' ' ')
    if [ "$status" -eq 0 ] && [ -z "$found" ]; then
        result="ok"
    else
        failed=1
        kind=$(grep -oE 'ERROR: libFuzzer: [a-z-]+|panicked at [^:]*:[0-9]+' "$log" | head -1)
        result="FAILED (${kind:-exit $status}); inputs: ${found:-none saved}"
    fi
    summary+=("$(printf '%-15s %12s execs %8s/s  %s' "$target" "${execs:-?}" "${rate:-?}" "$result")")
done

echo
echo "azleak fuzz results (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
