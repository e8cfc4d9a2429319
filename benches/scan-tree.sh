#!/usr/bin/env bash
# End-to-end benchmark of `azleak scan` on a directory tree, next to ripgrep (the floor: walking
# and reading the same files while searching one literal) and, when installed, gitleaks and
# betterleaks.
#
# Usage:   benches/scan-tree.sh [TREE] [THREADS]
#          TREE     a large directory to scan (default: ~/.cargo/registry/src, many real
#                   source files, warm in the page cache after the first run)
#          THREADS  worker threads for every tool (default: number of cores)
# Env:     RUNS=N   timed runs per command for the large tree (default 3)
#
# What it does:
#   1. builds the release binary (`cargo build --release`);
#   2. counts the files and bytes azleak scans in TREE (its JSON summary), the reference for
#      the MB/s and files/s figures of every tool;
#   3. times each tool on TREE with hyperfine (`--warmup 1`, so the cache is warm) or, without
#      hyperfine, with a plain loop; prints mean wall time, MB/s and files/s;
#   4. measures each tool's peak RSS once with `/usr/bin/time -v`;
#   5. times each tool on a tree of 50 small files: start-up cost (rule compilation etc.).
#
# The commands, all with THREADS threads and output discarded:
#   azleak scan TREE -j THREADS --quiet --format json
#   rg -c -F --hidden -j THREADS NEVER TREE     (hidden files, like azleak; .gitignore honoured)
#   gitleaks dir TREE --no-banner --exit-code 0 --log-level error --report-format json --report-path TMP/gitleaks.json
#   (never --report-path /dev/null: gitleaks may replace the file it reports to)
#   betterleaks fs TREE --no-banner --exit-code 0 --log-level error --silent
# gitleaks and betterleaks get GOMAXPROCS=THREADS. The tools do not skip the same files
# (gitleaks ignores .gitignore; the leaks tools decode base64 and run ~200 rules, azleak runs
# its Entra rules), so this compares what each does by default on the same input.
# Peers are looked up on PATH and in ~/peers/bin.

set -euo pipefail

TREE=${1:-$HOME/.cargo/registry/src}
THREADS=${2:-$(nproc)}
RUNS=${RUNS:-3}
NEVER='azleak-bench-literal-that-never-occurs-5f0c1e'

cd "$(dirname "$0")/.."
[ -d "$HOME/peers/bin" ] && PATH="$HOME/peers/bin:$PATH"
[ -d "$TREE" ] || { echo "no such directory: $TREE" >&2; exit 2; }

echo "== building the release binary"
cargo build --release --quiet
AZLEAK=$PWD/target/release/azleak
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Reference size: what azleak scans.
"$AZLEAK" scan "$TREE" -j "$THREADS" --quiet --format json -o "$WORK/summary.json" || true
read -r FILES BYTES < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(s["files"], s["bytes"])' "$WORK/summary.json")

# 50 small files (about 1 KiB each) for the start-up cost.
SMALL=$WORK/small
mkdir -p "$SMALL"
for i in $(seq -w 1 50); do
    for j in $(seq 1 20); do echo "let value_$j = compute(input_$i, $j); // file $i"; done \
        > "$SMALL/file$i.rs"
done

# name|command, one per tool present.
commands() {
    local tree=$1
    echo "azleak|$AZLEAK scan $tree -j $THREADS --quiet --format json"
    command -v rg >/dev/null && echo "rg|rg -c -F --hidden -j $THREADS $NEVER $tree"
    command -v gitleaks >/dev/null && echo "gitleaks|env GOMAXPROCS=$THREADS gitleaks dir $tree --no-banner --exit-code 0 --log-level error --report-format json --report-path $WORK/gitleaks.json"
    command -v betterleaks >/dev/null && echo "betterleaks|env GOMAXPROCS=$THREADS betterleaks fs $tree --no-banner --exit-code 0 --log-level error --silent"
    return 0
}

# Mean wall time in seconds of a command.
mean_seconds() {
    local cmd=$1 runs=$2 warmup=$3
    if command -v hyperfine >/dev/null; then
        if ! hyperfine -N -i --warmup "$warmup" --runs "$runs" --export-json "$WORK/h.json" \
            --style none "$cmd" >/dev/null 2>"$WORK/h.err"; then
            cat "$WORK/h.err" >&2
            echo nan
            return
        fi
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' \
            "$WORK/h.json"
    else
        for _ in $(seq "$warmup"); do $cmd >/dev/null 2>&1 || true; done
        local start end
        start=$(date +%s.%N)
        for _ in $(seq "$runs"); do $cmd >/dev/null 2>&1 || true; done
        end=$(date +%s.%N)
        python3 -c "print(($end - $start) / $runs)"
    fi
}

# Peak RSS in MiB of one run (exit codes are ignored: 1 means findings, or no match for rg).
peak_rss_mib() {
    { /usr/bin/time -v $1 2>&1 >/dev/null || true; } |
        awk '/Maximum resident set size/ {printf "%.0f", $6 / 1024}'
}

echo "== $TREE: $FILES files, $((BYTES / 1000000)) MB (as scanned by azleak), $THREADS threads, $RUNS runs"
printf '%-12s %10s %10s %12s %10s\n' tool "mean s" "MB/s" "files/s" "peak MiB"
while IFS='|' read -r name cmd; do
    secs=$(mean_seconds "$cmd" "$RUNS" 1)
    rss=$(peak_rss_mib "$cmd")
    python3 -c "
import sys
secs, files, size = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f'{sys.argv[1]:<12} {secs:10.3f} {size / secs / 1e6:10.1f} {files / secs:12.0f} {sys.argv[5]:>10}')" \
        "$name" "$secs" "$FILES" "$BYTES" "$rss"
done < <(commands "$TREE")

echo "== 50 small files (start-up cost), $THREADS threads, 20 runs"
printf '%-12s %10s\n' tool "mean ms"
while IFS='|' read -r name cmd; do
    secs=$(mean_seconds "$cmd" 20 3)
    python3 -c "import sys; print(f'{sys.argv[1]:<12} {float(sys.argv[2]) * 1000:10.1f}')" "$name" "$secs"
done < <(commands "$SMALL")
