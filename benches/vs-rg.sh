#!/usr/bin/env bash
# Directory-scan speed of azleak next to ripgrep searching a literal that never occurs, measured
# the way issue #8 states its target: same threads, warm cache, runs alternating between the
# tools so that load from other processes hits all of them alike.
#
# Usage:   benches/vs-rg.sh TREE [AZLEAK...]
#          TREE      the directory to scan (e.g. an export of Azure/azure-sdk-for-ruby's HEAD:
#                    `git -C azure-sdk-for-ruby archive HEAD | tar -x -C /tmp/ruby-sdk`), or
#                    several separated by spaces in one argument (a binary-heavy mix:
#                    "$HOME/.cargo/registry/src /usr/lib/python3/dist-packages")
#          AZLEAK    azleak binaries to compare (default: target/release/azleak, built here)
# Env:     ROUNDS=N  alternating rounds (default 7), after one warm-up round
#          THREADS=N worker threads for every tool (default 2)
#
# Commands (output discarded; exit codes ignored: 1 means findings for azleak, no match for rg):
#   azleak scan -jTHREADS TREE... -q -f json -o TMP/out.json
#   rg -c -jTHREADS --no-ignore --hidden NEVEROCCURS TREE...
# Prints, per tool, the median and minimum wall time and the median user and system CPU time
# (from /usr/bin/time), then each azleak's median wall time as a multiple of rg's.

set -euo pipefail

TREE=${1:?usage: benches/vs-rg.sh TREE [AZLEAK...]}
shift
read -ra TREES <<<"$TREE"
ROUNDS=${ROUNDS:-7}
THREADS=${THREADS:-2}
NEVER='azleak-bench-literal-that-never-occurs-5f0c1e'

cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
    cargo build --release --quiet
    set -- "$PWD/target/release/azleak"
fi
command -v rg >/dev/null || { echo "rg not found (apt-get install ripgrep)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

run() { # name command...
    local name=$1
    shift
    /usr/bin/time -f "$name %e %U %S" -a -o "$WORK/times" "$@" >/dev/null 2>&1 || true
}

round() {
    local i=0
    for bin in "$@"; do
        run "azleak#$i" "$bin" scan "-j$THREADS" "${TREES[@]}" -q -f json -o "$WORK/out$i.json"
        run rg rg -c "-j$THREADS" --no-ignore --hidden "$NEVER" "${TREES[@]}"
        i=$((i + 1))
    done
}

round "$@"
: >"$WORK/times"
for _ in $(seq "$ROUNDS"); do round "$@"; done

echo "== $TREE, $THREADS threads, $ROUNDS alternating rounds (after one warm-up)"
i=0
for bin in "$@"; do
    echo "azleak#$i = $bin"
    i=$((i + 1))
done
python3 - "$WORK/times" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.startswith("Command"):  # time's note of a non-zero exit
        continue
    name, wall, user, sys_ = line.split()
    runs.setdefault(name, []).append((float(wall), float(user), float(sys_)))
print(f"{'tool':<10} {'wall med':>9} {'wall min':>9} {'user med':>9} {'sys med':>9}  runs")
for name, r in runs.items():
    med = lambda k: statistics.median(x[k] for x in r)
    print(f"{name:<10} {med(0):9.3f} {min(x[0] for x in r):9.3f} {med(1):9.3f} {med(2):9.3f}  {len(r)}")
rg = statistics.median(x[0] for x in runs["rg"])
for name, r in runs.items():
    if name != "rg":
        print(f"{name}: wall {statistics.median(x[0] for x in r) / rg:.2f}x rg")
EOF
