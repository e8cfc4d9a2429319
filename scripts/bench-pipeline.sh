#!/usr/bin/env bash
# Issue #8 measurements of the scan pipeline (release build; not part of cargo test).
#
# Usage:   scripts/bench-pipeline.sh AZLEAK [BASE_AZLEAK]
#          AZLEAK       the binary to measure (e.g. target/release/azleak)
#          BASE_AZLEAK  a reference build to compare with (optional)
# Env:     TREE (default /tmp/ruby-sdk), ART (a tree with ~10% of its bytes in zip/gz
#          artifacts, default /tmp/pipe-art), BOMB (a 1 GB gzip bomb, default /tmp/bomb1g.gz),
#          NEST (a 42.zip-style nest, default /tmp/nest42.zip), REPO (default /tmp/h20k),
#          RUNS (default 5), THREADS (default 2).
#
# Prints, for each binary: the directory scan of TREE next to `rg -c --no-ignore` (best and
# mean wall time of RUNS warm runs), the artifact tree in MB/s of uncompressed bytes scanned,
# peak RSS and wall time on the bomb and the nest, the history scan and `--staged` latency.
set -euo pipefail
AZ=$1
BASE=${2:-}
TREE=${TREE:-/tmp/ruby-sdk}
ART=${ART:-/tmp/pipe-art}
BOMB=${BOMB:-/tmp/bomb1g.gz}
NEST=${NEST:-/tmp/nest42.zip}
REPO=${REPO:-/tmp/h20k}
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}

times() { # label, command...
    local label=$1
    shift
    "$@" >/dev/null 2>&1 || true
    local all=()
    for _ in $(seq "$RUNS"); do
        local s e
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || true
        e=$(date +%s.%N)
        all+=("$(echo "$e - $s" | bc)")
    done
    printf '%-40s best %.3f s  mean %.3f s\n' "$label" \
        "$(printf '%s\n' "${all[@]}" | sort -n | head -1)" \
        "$(printf '%s\n' "${all[@]}" | awk '{t+=$1} END {print t/NR}')"
}

rss() { # label, command...
    local label=$1
    shift
    /usr/bin/time -v "$@" >/tmp/bench-pipeline.out 2>/tmp/bench-pipeline.time || true
    printf '%-40s peak RSS %s KB, wall %s\n' "$label" \
        "$(awk '/Maximum resident/ {print $6}' /tmp/bench-pipeline.time)" \
        "$(awk '/Elapsed/ {print $8}' /tmp/bench-pipeline.time)"
}

for bin in "$AZ" $BASE; do
    echo "== $bin"
    times "rg -c --no-ignore $TREE" rg -c --no-ignore -j"$THREADS" NEVEROCCURS "$TREE"
    times "azleak scan $TREE" "$bin" scan "$TREE" -j"$THREADS" --no-ignore --quiet --format json
    times "azleak scan $ART" "$bin" scan "$ART" -j"$THREADS" --no-ignore --quiet --format json
    "$bin" scan "$ART" -j"$THREADS" --no-ignore --format json 2>/dev/null |
        python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print("   art tree:", s["files"], "files,", s["bytes"], "bytes scanned,", s.get("archive_members", 0), "archive members")' || true
    rss "1 GB gzip bomb" "$bin" scan "$BOMB" --format json
    rss "42.zip-style nest (depth 3)" "$bin" scan "$NEST" --format json
    rss "42.zip-style nest (depth 8)" "$bin" scan "$NEST" --format json --max-archive-depth 8
    times "git history $REPO" "$bin" git "$REPO" -j"$THREADS" --quiet --format json
    times "git --staged $REPO" "$bin" git "$REPO" --staged --quiet --format json
done
